// The API reference page: fetches the OpenAPI document the server generates and lists every
// operation with its parameters, bodies, answers and who may call it. Served by PyTake
// itself (no CDN), and built with DOM calls only (text nodes, never parsed HTML): the page's
// Content-Security-Policy allows this script and nothing inline.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

// Replace "$ref"s by what they point to (one level of the document's components), so that a
// reader sees the whole shape where it is used.
function resolve(doc, schema, depth = 0) {
  if (schema === null || typeof schema !== "object" || depth > 20) return schema;
  if (Array.isArray(schema)) return schema.map((s) => resolve(doc, s, depth + 1));
  if (typeof schema.$ref === "string" && schema.$ref.startsWith("#/")) {
    let target = doc;
    for (const part of schema.$ref.slice(2).split("/")) target = target && target[part];
    return resolve(doc, target, depth + 1);
  }
  const out = {};
  for (const [key, value] of Object.entries(schema)) out[key] = resolve(doc, value, depth + 1);
  return out;
}

function schemaBlock(doc, schema) {
  return el("pre", {}, JSON.stringify(resolve(doc, schema), null, 2));
}

function parametersTable(parameters) {
  const rows = parameters.map((p) => el("tr", {},
    el("td", {}, el("code", {}, p.name)),
    el("td", {}, p.in),
    el("td", {}, p.required ? "required" : "optional"),
    el("td", {}, el("code", {}, JSON.stringify(p.schema || {}))),
    el("td", {}, p.description || "")));
  return el("table", {},
    el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, ""),
       el("th", {}, "schema"), el("th", {}, "description")),
    ...rows);
}

function who(op) {
  if (!op.security || op.security.length === 0) return "anyone";
  const roles = op["x-roles"] || [];
  const permission = op["x-permission"] || "";
  return roles.length ? `${permission}: ${roles.join(", ")}` : permission;
}

function operationView(doc, path, method, op) {
  const body = [];
  if (op.description) body.push(el("p", {}, op.description));
  body.push(el("p", {}, el("strong", {}, "Who: "), who(op),
    op.security && op.security.length ? " (Authorization: Bearer <token>)" : ""));
  if (op.parameters && op.parameters.length) {
    body.push(el("h4", {}, "Parameters"), parametersTable(op.parameters));
  }
  if (op.requestBody) {
    body.push(el("h4", {}, `Request body${op.requestBody.required ? "" : " (optional)"}`));
    for (const [type, media] of Object.entries(op.requestBody.content || {})) {
      body.push(el("p", {}, el("code", {}, type)), schemaBlock(doc, media.schema || {}));
    }
  }
  body.push(el("h4", {}, "Responses"));
  for (const [status, response] of Object.entries(op.responses || {})) {
    const content = Object.entries(response.content || {});
    const line = el("p", {}, el("strong", {}, status), " ", response.description || "",
      content.length ? " — " : "", ...content.map(([type]) => el("code", {}, type)));
    body.push(line);
    // Problem documents are all alike: their schema is shown once, at the top.
    for (const [type, media] of content) {
      if (type !== "application/problem+json") body.push(schemaBlock(doc, media.schema || {}));
    }
  }
  const details = el("details", { class: "op" },
    el("summary", {},
      el("span", { class: `method ${method}` }, method.toUpperCase()),
      el("span", { class: "path" }, path), " ", op.summary || "",
      el("span", { class: "who" }, who(op))),
    ...body);
  details.dataset.search = [method, path, op.summary, who(op), op.operationId]
    .join(" ").toLowerCase();
  return details;
}

function render(doc) {
  const main = document.getElementById("operations");
  const toc = document.getElementById("toc");
  main.replaceChildren();
  const byTag = new Map();
  let count = 0;
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operationView(doc, path, method, op));
      count += 1;
    }
  }
  main.append(el("h2", {}, "Errors"),
    el("p", {}, "Every error is an RFC 9457 problem document (application/problem+json):"),
    schemaBlock(doc, { $ref: "#/components/schemas/Problem" }));
  for (const [tag, views] of [...byTag.entries()].sort()) {
    toc.append(el("a", { href: `#tag-${tag}` }, tag));
    main.append(el("h2", { id: `tag-${tag}` }, tag), ...views);
  }
  document.getElementById("summary").textContent =
    `${doc.info.title} ${doc.info.version}: ${count} operations.`;
}

function filter(text) {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  for (const op of document.querySelectorAll("details.op")) {
    const shown = words.every((w) => op.dataset.search.includes(w));
    op.classList.toggle("hidden", !shown);
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("filter").addEventListener("input", (e) => filter(e.target.value));
  try {
    const response = await fetch(new URL("openapi.json", document.baseURI));
    if (!response.ok) throw new Error(`GET openapi.json: ${response.status}`);
    render(await response.json());
  } catch (error) {
    document.getElementById("operations").replaceChildren(
      el("p", { class: "error" }, `Could not load the document: ${error.message}`));
  }
});
