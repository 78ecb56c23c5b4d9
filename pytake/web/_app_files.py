"""The web app's files, served at ``/`` by the same server as the API.

- ``/assets/...``: Vite's hashed files; their names change with their content, so browsers
  keep them for a year (``immutable``).
- Any other path that is not the API's (``/api/``, ``/ws/``, ``/webhooks/``, the operator
  routes) answers ``index.html``: the app routes in the browser (history fallback).
  ``index.html`` is never cached, so a new release reaches every browser at its next load.
- HTML carries a Content-Security-Policy that allows only the app's own scripts, styles and
  connections (no inline script, no other site).

The files come from the first of: the ``ui_dir`` setting (``PYTAKE_UI_DIR``), the copy a
wheel carries (``pytake/web/app``), the checkout's build (``ui/dist``).  Without any, ``/``
answers a short page saying how to build the app.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Final

from quart import Blueprint, Response
from quart.typing import ResponseReturnValue

from pytake.web._errors import json_error
from pytake.web._permissions import Open, public

__all__ = ["APP_POLICY", "create_app_files_blueprint", "find_app_dir"]

#: The app's own origin only; WebSocket connections to it too (``ws:``/``wss:`` are not
#: covered by ``'self'`` in every browser).
APP_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; font-src 'self'; connect-src 'self' ws: wss:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_API_PREFIXES: Final = ("api/", "ws/", "webhooks/", "metrics", "healthz", "readyz")
_YEAR: Final = "public, max-age=31536000, immutable"
_MISSING: Final = (
    "<!doctype html><meta charset=utf-8><title>PyTake</title>"
    "<p>The web app is not built. Run <code>make run</code> (it builds it with Node.js 20 "
    "or newer), or <code>cd ui &amp;&amp; npm ci &amp;&amp; npm run build</code>.</p>"
)


def find_app_dir(configured: str = "") -> Path | None:
    """The folder holding the built app's ``index.html``, or ``None``."""
    package = Path(__file__).resolve().parent
    candidates = [Path(configured)] if configured else []
    candidates += [package / "app", package.parent.parent / "ui" / "dist"]
    for folder in candidates:
        if (folder / "index.html").is_file():
            return folder.resolve()
    return None


def _html(body: bytes | str, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = APP_POLICY
    return response


def create_app_files_blueprint(folder: Path | None) -> Blueprint:
    """Routes serving the app in ``folder`` (``None``: the "not built" page)."""
    bp = Blueprint("app_files", __name__)

    @bp.get("/")
    @bp.get("/<path:path>")
    @public(Open.APP)
    async def app_file(path: str = "") -> ResponseReturnValue:
        """The web app (history fallback to index.html)."""
        if path.startswith(_API_PREFIXES):
            return json_error(404, "not found")
        if folder is None:
            return _html(_MISSING)
        target = (folder / path).resolve() if path else folder / "index.html"
        inside = target == folder or folder in target.parents
        if path and inside and target.is_file():
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            response = Response(target.read_bytes(), mimetype=kind)
            if path.startswith("assets/"):
                response.headers["Cache-Control"] = _YEAR
            if kind == "text/html":
                response.headers["Content-Security-Policy"] = APP_POLICY
            return response
        if path.startswith("assets/"):
            return json_error(404, "not found")  # a stale hashed name: no HTML in its place
        return _html((folder / "index.html").read_bytes())

    return bp
