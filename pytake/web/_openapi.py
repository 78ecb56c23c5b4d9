"""The OpenAPI 3.1 document of the REST API, generated from the app itself, and its reference
page.

The document cannot drift from the code because nothing in it is written twice: it walks the
app's URL map, so every route registered (by any blueprint, now or later) is an operation;
its security and the roles that may call it come from the permission each view declares
(`pytake.web._permissions.DECLARED`, the table the route matrix test checks); its summary
and description from the view's docstring; its path parameters from the rule's converters.
Only what the code cannot tell, the shapes of bodies and answers, is declared beside the
route with `documented`; a route without it still appears, with a generic JSON object answer.

Every operation lists its error answers as RFC 9457 problem documents (``Problem``), the
statuses derived from what the route has (a token: 401/403; path parameters: 404; a body:
413/422; ...) plus those it declares.

- ``GET /api/v1/openapi.json``  the document
- ``GET /api/v1/docs``          a reference page rendered in the browser from the document,
  with no CDN: its script and style are package data served here (``reference/``), which the
  page's Content-Security-Policy (no inline script) allows and nothing else.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from http import HTTPStatus
from importlib import resources
from typing import Any, Final, TypeVar

import attrs
from quart import Blueprint, Response, current_app, jsonify

import pytake
from pytake.web._errors import PROBLEM_JSON
from pytake.web._permissions import DECLARED, Open, Permission, public, roles_with

__all__ = [
    "DOCUMENTED",
    "Doc",
    "build_document",
    "create_openapi_blueprint",
    "documented",
    "page_of",
]

V = TypeVar("V", bound=Callable[..., Awaitable[Any]])

#: The attribute a view function carries its `Doc` in.
DOCUMENTED: Final = "__pytake_openapi__"
DOCUMENT_PATH: Final = "/api/v1/openapi.json"
DOCS_PATH: Final = "/api/v1/docs"

JSON: Final = "application/json"
#: The answer of a route nobody described: still JSON, still in the document.
ANY_OBJECT: Final = {"type": "object", "description": "a JSON object (shape not documented)"}

#: Query parameters of every cursor-paginated listing.
PAGE_QUERY: Final[Mapping[str, dict[str, Any]]] = {
    "cursor": {"type": "string", "maxLength": 200,
               "description": "next_cursor of the previous page; absent for the first page"},
    "limit": {"type": "integer", "minimum": 1, "maximum": 500,
              "description": "how many items a page holds at most (default 100)"},
}


def page_of(key: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """The schema of a cursor-paginated answer: ``{key: [item, ...], "next_cursor"}``."""
    return {
        "type": "object",
        "required": [key, "next_cursor"],
        "properties": {
            key: {"type": "array", "items": dict(item)},
            "next_cursor": {"type": ["string", "null"],
                            "description": "pass as cursor for the next page; null on the last"},
        },
    }


@attrs.frozen
class Doc:
    """What the code cannot tell about a route: its bodies and answers (JSON Schemas)."""

    #: the request body's schema (``None``: the route reads no body)
    request: Mapping[str, Any] | None = None
    #: whether the body may be left out (``POST .../publish`` takes an optional one)
    request_required: bool = True
    #: the success answer's schema (``None`` with ``status`` 204: no body)
    response: Mapping[str, Any] | None = None
    #: the success status
    status: int = 200
    #: further success statuses with the same body (``PUT`` member: 200 changed, 201 added)
    also: tuple[int, ...] = ()
    #: the success answer's media type
    media_type: str = JSON
    #: the request body's media type (an upload is ``multipart/form-data``)
    request_media_type: str = JSON
    #: other media types the success answer may have, with their schemas (an export)
    alternatives: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    #: query parameters: name -> schema (with an optional ``description``)
    query: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    #: path parameters' schemas when the converter says too little (a name's pattern)
    path: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    #: error statuses beyond those derived from the route
    errors: frozenset[int] = frozenset()


def documented(
    *,
    request: Mapping[str, Any] | None = None,
    response: Mapping[str, Any] | None = None,
    status: int = 200,
    query: Mapping[str, Mapping[str, Any]] | None = None,
    path: Mapping[str, Mapping[str, Any]] | None = None,
    errors: Iterable[int] = (),
    request_required: bool = True,
    also: Iterable[int] = (),
    media_type: str = JSON,
    request_media_type: str = JSON,
    alternatives: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[V], V]:
    """Declare a view's bodies and answers for the OpenAPI document (anywhere among its
    decorators: `pytake.web._permissions.requires` keeps the attribute it sets)."""
    doc = Doc(request=request, request_required=request_required, response=response,
              status=status, also=tuple(also), media_type=media_type,
              request_media_type=request_media_type, alternatives=dict(alternatives or {}),
              query=dict(query or {}),
              path=dict(path or {}), errors=frozenset(errors))

    def decorate(view: V) -> V:
        setattr(view, DOCUMENTED, doc)
        return view

    return decorate


# --- the document --------------------------------------------------------------------------

PROBLEM_SCHEMA: Final = {
    "type": "object",
    "description": "An RFC 9457 problem document; ``error`` repeats ``detail`` for clients "
                   "written against earlier versions.",
    "required": ["type", "title", "status", "detail", "code", "error"],
    "properties": {
        "type": {"type": "string", "description": "about:blank: the status says it all"},
        "title": {"type": "string", "description": "the status's name"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what went wrong, for a person"},
        "code": {"type": "string", "description": "what went wrong, for a program"},
        "error": {"type": "string"},
        "field": {"type": ["string", "null"], "description": "the field at fault, if one"},
        "problems": {"type": "array", "items": {"type": "object"},
                     "description": "every problem of a flow document (422 invalid_flow)"},
    },
}

SECURITY_SCHEMES: Final = {
    "bearer": {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "An access token from POST /api/v1/auth/login (or /refresh).",
    },
    "scrapeToken": {
        "type": "http", "scheme": "bearer",
        "description": "PYTAKE_METRICS_TOKEN; without one /metrics is open on loopback only.",
    },
}

_RULE_ARGUMENT: Final = re.compile(r"<(?:(\w+)(?:\((.*?)\))?:)?(\w+)>")
_CONVERTER_SCHEMAS: Final[Mapping[str, Mapping[str, Any]]] = {
    # Ids are bigint columns; werkzeug's int converter takes no sign.
    "int": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    "float": {"type": "number", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string", "minLength": 1},
    "default": {"type": "string", "minLength": 1, "maxLength": 100,
                "pattern": r"^[A-Za-z0-9_-]+$"},
}


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": HTTPStatus(status).phrase,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _summary(view: Callable[..., Any], endpoint: str) -> tuple[str, str]:
    doc = inspect.getdoc(view) or ""
    first, _, rest = doc.partition("\n\n")
    summary = " ".join(first.split()) or endpoint.rsplit(".", 1)[-1].replace("_", " ")
    return summary, rest.strip()


def _who(declared: Permission | Open | None) -> tuple[list[dict[str, list[str]]], str,
                                                      dict[str, Any]]:
    """The operation's security requirements, a sentence for people, and extensions."""
    if isinstance(declared, Permission):
        roles = [str(r) for r in roles_with(declared)]
        return ([{"bearer": []}], f"Needs `{declared}`: {', '.join(roles)}.",
                {"x-permission": str(declared), "x-roles": roles})
    if declared is Open.SCRAPE:
        return ([{"scrapeToken": []}, {}], "Open: the scrape token, or loopback without one.",
                {"x-permission": str(declared), "x-roles": []})
    if isinstance(declared, Open):
        return [], "Open to anyone.", {"x-permission": str(declared), "x-roles": []}
    # The route matrix test fails on such a route; the document still shows it.
    return [], "Declares no permission.", {"x-permission": None, "x-roles": []}


def _errors(declared: Any, doc: Doc, method: str, has_path: bool, has_query: bool,
            has_body: bool, path: str) -> set[int]:
    errors = set(doc.errors)
    if isinstance(declared, Permission):
        errors |= {401, 403}
    if has_path:
        errors.add(404)
    # A body may be sent to any writing method, documented or not: a broken one is refused.
    has_body = has_body or method in ("POST", "PUT", "PATCH")
    if has_query or has_path or has_body:
        errors.add(400)
    if has_body:
        errors |= {413, 422}
    if method in ("POST", "PUT", "PATCH", "DELETE") and isinstance(declared, Permission):
        errors.add(409)
    if path.startswith("/api/"):
        errors.add(429)  # the API's rate limits
    errors.add(503)  # storage unavailable or overloaded: retry later
    return errors


def _operation(rule: Any, method: str, view: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    doc: Doc = getattr(view, DOCUMENTED, None) or Doc()
    declared = getattr(view, DECLARED, None)
    parameters: list[dict[str, Any]] = []
    path = _RULE_ARGUMENT.sub(lambda m: "{" + m.group(3) + "}", rule.rule)
    for converter, _args, name in _RULE_ARGUMENT.findall(rule.rule):
        schema = doc.path.get(name) or _CONVERTER_SCHEMAS.get(
            converter or "default", _CONVERTER_SCHEMAS["default"])
        parameters.append({"name": name, "in": "path", "required": True,
                           "schema": dict(schema)})
    for name, schema in doc.query.items():
        schema = dict(schema)
        description = schema.pop("description", None)
        parameter = {"name": name, "in": "query", "required": False, "schema": schema}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    summary, description = _summary(view, rule.endpoint)
    security, who, extensions = _who(declared)
    operation: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_")
                       + (f"_{method.lower()}" if len(rule.methods - {"HEAD", "OPTIONS"}) > 1
                          else ""),
        "tags": [rule.endpoint.split(".", 1)[0]],
        "summary": summary,
        "description": "\n\n".join(p for p in (description, who) if p),
        "security": security,
        **extensions,
    }
    if parameters:
        operation["parameters"] = parameters
    has_body = doc.request is not None or (
        method in ("POST", "PUT", "PATCH") and not doc.request_required)
    if doc.request is not None:
        operation["requestBody"] = {
            "required": doc.request_required,
            "content": {doc.request_media_type: {"schema": dict(doc.request)}},
        }
    success: dict[str, Any] = {"description": HTTPStatus(doc.status).phrase}
    if doc.status != 204:
        schema = dict(doc.response) if doc.response is not None else ANY_OBJECT
        success["content"] = {doc.media_type: {"schema": schema}, **{
            media: {"schema": dict(other)} for media, other in doc.alternatives.items()}}
    responses: dict[str, Any] = {str(s): success for s in (doc.status, *doc.also)}
    path_params = any(p["in"] == "path" for p in parameters)
    for status in sorted(_errors(declared, doc, method, path_params, bool(doc.query),
                                 has_body, rule.rule)):
        responses[str(status)] = _problem_response(status)
    operation["responses"] = responses
    return path, operation


def build_document(app: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every HTTP route ``app`` registers (WebSockets are not
    OpenAPI's: docs/agent-protocol.md describes the agent socket; the web app's files are
    not the API)."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.websocket or rule.endpoint in ("static", "app_files.app_file"):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path, operation = _operation(rule, method, view)
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PyTake",
            "version": pytake.__version__,
            "description": "WhatsApp customer-service engine. Errors are RFC 9457 problem "
                           "documents; listings are cursor paginated (``cursor``, ``limit``, "
                           "``next_cursor``). Generated from the running code.",
        },
        "paths": paths,
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


# --- serving it ----------------------------------------------------------------------------

#: The reference page's policy: its own script and style, fetching the document, nothing else.
PAGE_POLICY: Final = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                      "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                      "form-action 'none'; frame-ancestors 'none'")


def _asset(name: str) -> bytes:
    return resources.files("pytake.web").joinpath("reference", name).read_bytes()


def create_openapi_blueprint() -> Blueprint:
    bp = Blueprint("openapi", __name__)

    @bp.get(DOCUMENT_PATH)
    @documented(response={"type": "object", "required": ["openapi", "info", "paths"]})
    @public(Open.DOCS)
    async def openapi_document() -> Response:
        """This document: OpenAPI 3.1, generated from the routes the app registers."""
        return jsonify(build_document(current_app))

    @bp.get(DOCS_PATH)
    @documented(response={"type": "string"}, media_type="text/html")
    @public(Open.DOCS)
    async def reference_page() -> Response:
        """The API reference, rendered in the browser from the OpenAPI document (works
        offline: no CDN)."""
        response = Response(_asset("index.html"), content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = PAGE_POLICY
        return response

    @bp.get(f"{DOCS_PATH}/reference.js")
    @documented(response={"type": "string"}, media_type="text/javascript")
    @public(Open.DOCS)
    async def reference_script() -> Response:
        """The reference page's script."""
        return Response(_asset("reference.js"), content_type="text/javascript; charset=utf-8")

    @bp.get(f"{DOCS_PATH}/reference.css")
    @documented(response={"type": "string"}, media_type="text/css")
    @public(Open.DOCS)
    async def reference_style() -> Response:
        """The reference page's style."""
        return Response(_asset("reference.css"), content_type="text/css; charset=utf-8")

    return bp
