"""The HTTP edge: a quart-trio app served by Hypercorn's trio worker.

The edge holds no conversation state; it validates, authenticates and tells actors.

- ``_app``    `create_app` (the app factory) and `serve` (Hypercorn on trio)
- ``_ops``    health, readiness, Prometheus metrics and the supervision tree
- ``_errors`` every error leaves as JSON; retryable overload answers 503 with Retry-After
- ``_tls``    the TLS context `serve` uses with a certificate (TLS 1.2 at least)
"""

from pytake.web._app import SETUP_EXTENSION, create_app, serve
from pytake.web._ops import OpsEngine
from pytake.web._tls import tls_context

from ._auth_routes import create_auth_blueprint, current_principal, require_role
from ._errors import register_error_handlers
from ._flows_api import create_flows_blueprint
from ._permissions import Permission

__all__ = [
    "SETUP_EXTENSION",
    "OpsEngine",
    "Permission",
    "create_app",
    "create_auth_blueprint",
    "create_flows_blueprint",
    "current_principal",
    "register_error_handlers",
    "require_role",
    "serve",
    "tls_context",
]
