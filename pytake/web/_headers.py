"""Headers every answer of the app carries: security headers, and CORS for the origins an
operator allows (none by default, so a browser on another site cannot call the API); over
TLS, ``Strict-Transport-Security`` too (`with_hsts`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from quart import Response, request
from quart_trio import QuartTrio

#: The API answers JSON and never frames or scripts anything; the web app's HTML pages set
#: their own policy.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
_SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
_CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key"


def install_headers(app: QuartTrio, cors_origins: Iterable[str] = ()) -> None:
    """Add the security headers to every answer, and CORS headers for ``cors_origins``
    (exact origins such as ``https://desk.example.com``)."""
    allowed = frozenset(o.strip().rstrip("/") for o in cors_origins if o.strip())

    @app.after_request
    async def _headers(response: Response) -> Response:
        for name, value in _SECURITY.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", API_POLICY)
        origin = request.headers.get("Origin", "")
        if origin and origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = _CORS_METHODS
            response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
            response.vary.add("Origin")
        return response


_Message = MutableMapping[str, Any]
_Send = Callable[[_Message], Awaitable[None]]
_ASGIApp = Callable[[_Message, Callable[[], Awaitable[_Message]], _Send], Awaitable[None]]


def with_hsts(asgi_app: _ASGIApp, max_age: int) -> _ASGIApp:
    """``asgi_app`` with ``Strict-Transport-Security: max-age=<max_age>`` on every HTTP answer
    sent over TLS (the connection's own: ASGI's ``scope["scheme"]`` is ``https``), and on
    none sent over plain HTTP, where browsers would ignore it anyway; ``max_age`` 0 adds none.

    ASGI middleware rather than an ``after_request`` hook, so that answers the framework
    never sees (the lean webhook route, errors raised before routing) carry it too.  Behind a
    proxy that ends TLS the connection is plain HTTP: the proxy sets the header
    (docs/configuration.md, "TLS").
    """
    if max_age <= 0:
        return asgi_app
    header = (b"strict-transport-security", f"max-age={max_age}".encode())

    async def app(scope: _Message, receive: Callable[[], Awaitable[_Message]],
                  send: _Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await asgi_app(scope, receive, send)
            return

        async def send_with_hsts(message: _Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ())
                           if bytes(h[0]).lower() != header[0]]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        await asgi_app(scope, receive, send_with_hsts)

    return app
