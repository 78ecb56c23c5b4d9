"""Headers every answer of the app carries: security headers, and CORS for the origins an
operator allows (none by default, so a browser on another site cannot call the API)."""

from __future__ import annotations

from collections.abc import Iterable

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
