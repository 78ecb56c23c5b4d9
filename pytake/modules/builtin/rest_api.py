"""``rest_api``: call any REST API from a flow and put fields of its JSON answer in variables.

Configuration (per tenant): ``base_url`` that relative URLs are joined to, default
``headers``, credentials (``bearer_token`` sent as ``Authorization: Bearer``, or ``api_key``
sent in the header named by ``api_key_header``), and ``timeout`` in seconds.

Action ``call`` (node type ``rest_api.call``); its inputs arrive rendered by the flow engine
(``{{vars.order_id}}`` already replaced), and are never rendered again here, so a value a
customer typed can never pull a configured secret into a request:

- ``method`` (default GET) and ``url``: absolute, or relative to ``base_url``. When
  ``base_url`` is configured an absolute ``url`` must lie under it, so a value inserted into
  the URL can never send the request (and its credentials) to another host. Prefer ``query``
  for values: they are encoded for you;
- ``headers`` and ``query`` (objects), ``body`` (any JSON, sent as JSON);
- ``extract``: variable name → dotted path into the JSON answer (``data.items.0.id``).

Outcomes: ``ok`` (2xx; outputs ``status`` and every extracted variable), ``not_found``
(404), ``error`` (timeouts, unreachable, other statuses, malformed JSON, an ``extract`` path
missing from the answer). GET, HEAD, OPTIONS, PUT and DELETE are retried on transient
failures; POST and PATCH never are. Every request carries ``X-Request-Id`` (the call id,
the same on retries) and a POST or PATCH also ``Idempotency-Key`` with the same value.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final
from urllib.parse import unquote

import httpx

from pytake.modules._contract import (
    NOT_FOUND,
    OK,
    Action,
    ConfigField,
    Manifest,
    ModuleContext,
    ModuleResponse,
    Param,
)
from pytake.modules._template import MISSING, lookup
from pytake.modules.builtin._http import HttpAnswer, HttpModule, describe_url

__all__ = ["RestApiModule"]

METHODS: Final = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class RestApiModule(HttpModule):
    name: ClassVar[str] = "rest_api"
    version: ClassVar[str] = "1.0.0"
    manifest: ClassVar[Manifest] = Manifest(
        description="Calls a REST API and stores fields of its JSON answer in variables.",
        config=(
            ConfigField(
                name="base_url",
                type="url",
                description="joined with relative URLs (https://api.example.com/v1)",
            ),
            ConfigField(name="headers", type="object", description="headers sent with every call"),
            ConfigField(name="bearer_token", secret=True, description="sent as Bearer token"),
            ConfigField(name="api_key", secret=True, description="sent in api_key_header"),
            ConfigField(name="api_key_header", default="X-API-Key"),
            ConfigField(name="timeout", type="number", default=10.0, description="seconds"),
        ),
        actions=(
            Action(
                name="call",
                description="Send an HTTP request; extract fields of the JSON answer.",
                inputs=(
                    Param(name="method", default="GET", description=", ".join(METHODS)),
                    Param(name="url", required=True, description="absolute, or under base_url"),
                    Param(name="headers", type="object"),
                    Param(name="query", type="object"),
                    Param(name="body", type="any", description="sent as JSON"),
                    Param(
                        name="extract",
                        type="object",
                        description="variable name -> dotted path in the answer",
                    ),
                ),
                outputs=(
                    Param(name="status", type="integer", description="the HTTP status"),
                ),
                outcomes=(OK, NOT_FOUND),
                idempotent=True,
                timeout=60.0,
            ),
        ),
        permissions=("network:outbound",),
    )

    def retry_safe(self, context: ModuleContext) -> bool:
        return str(context.inputs.get("method", "GET")).upper() in IDEMPOTENT_METHODS

    async def execute(self, context: ModuleContext) -> ModuleResponse:
        config, inputs = context.config, context.inputs
        method = str(inputs.get("method", "GET")).upper()
        if method not in METHODS:
            return ModuleResponse.failure(
                f"rest_api: method {method!r} is not one of {', '.join(METHODS)}",
                transient=False,
            )
        url = str(inputs["url"])
        base = config.get("base_url")
        if not url.startswith(("http://", "https://")):
            if not base:
                return ModuleResponse.failure(
                    f"rest_api: URL {url[:80]!r} is relative and no base_url is configured",
                    transient=False,
                )
            url = base.rstrip("/") + "/" + url.lstrip("/")
        problem = _url_problem(url, base)
        if problem is not None:
            return ModuleResponse.failure(f"rest_api: {problem}", transient=False)
        headers = {
            str(k): str(v)
            for k, v in {**config.get("headers", {}), **inputs.get("headers", {})}.items()
        }
        query = {str(k): _text(v) for k, v in inputs.get("query", {}).items()}
        body = inputs.get("body")
        if config.get("bearer_token"):
            headers.setdefault("Authorization", f"Bearer {config['bearer_token']}")
        if config.get("api_key"):
            headers.setdefault(config["api_key_header"], config["api_key"])
        headers.setdefault("X-Request-Id", context.call_id)
        if method not in IDEMPOTENT_METHODS:
            headers.setdefault("Idempotency-Key", context.call_id)
        what = f"{method} {describe_url(url)}"
        answer = await self.send(method, url, what=what, timeout=float(config["timeout"]),
                                 headers=headers, params=query or None, json_body=body)
        if isinstance(answer, ModuleResponse):
            return answer
        return self._read(answer, what, inputs.get("extract", {}))

    def _read(self, answer: HttpAnswer, what: str, extract: dict[str, Any]) -> ModuleResponse:
        unsuccessful = answer.unless_success(what, not_found={"status": 404})
        if unsuccessful is not None:
            return unsuccessful
        outputs: dict[str, Any] = {"status": answer.status}
        if not extract and not (answer.is_json and answer.body):
            return ModuleResponse.success(outputs)
        data, failure = answer.json(what)
        if failure is not None:
            return failure
        for variable, path in extract.items():
            value = lookup(data, str(path))
            if value is MISSING:
                return ModuleResponse.failure(
                    f"{what} answered without {path!r} (for variable {variable!r})",
                    transient=False,
                )
            outputs[variable] = value
        return ModuleResponse.success(outputs)


def _url_problem(url: str, base: str | None) -> str | None:
    """Why the request may not go to ``url``, or ``None``: it must be a valid http(s) URL
    without ``..`` segments (also percent-encoded ones), and under ``base`` when one is set."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"invalid URL ({exc})"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return f"URL {describe_url(url)!r} is not an http(s) URL"
    if any(part in (".", "..") for part in unquote(parsed.path).split("/")):
        return f"URL {describe_url(url)!r} has '.' or '..' segments"
    if base is None:
        return None
    root = httpx.URL(base)
    prefix = root.path.rstrip("/") + "/"
    if (parsed.scheme, parsed.host, parsed.port) != (root.scheme, root.host, root.port) or not (
        parsed.path + "/"
    ).startswith(prefix):
        return (
            f"URL {describe_url(url)!r} is not under the configured base_url "
            f"{describe_url(base)!r}"
        )
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
