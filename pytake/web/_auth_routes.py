"""Sign-in routes, and `require_role` for every other route.

Routes (bodies and answers are JSON; see ``docs/auth.md``):

- ``POST /api/v1/auth/login``    ``{email, password}`` → ``{access_token, token_type,
  expires_in, refresh_token, refresh_expires_in}``; 401 for bad credentials, 429 with
  ``Retry-After`` past the per-address or per-email attempt limit
- ``POST /api/v1/auth/refresh``  ``{refresh_token}`` → a new pair; the presented token is spent
- ``POST /api/v1/auth/logout``   ``{refresh_token}`` → 204; revokes that sign-in session
- ``GET  /api/v1/auth/me``       the signed-in user

Protecting a route::

    @bp.get("/api/v1/teams")
    @require_role("admin", "supervisor")
    async def teams() -> Response:
        principal = current_principal()
        ...

A missing, malformed or expired token answers 401 with ``WWW-Authenticate: Bearer`` and
``{"error": reason, "code": code}`` (``code`` ``token_expired`` tells a client to refresh);
a valid token with another role answers 403. Registering the blueprint installs both error
handlers app-wide, so `require_role` works in every blueprint of the app.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Final, ParamSpec, TypeVar

from quart import (
    Blueprint,
    Response,
    current_app,
    g,
    has_websocket_context,
    jsonify,
    request,
    websocket,
)
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

from pytake.identity import (
    AuthError,
    Forbidden,
    IdentityService,
    Principal,
    TokenPair,
)
from pytake.store import Actor, UserRole
from pytake.web import _schemas as schemas
from pytake.web._audit_trail import begin_audit_scope, request_id
from pytake.web._errors import json_error, problem
from pytake.web._openapi import documented
from pytake.web._permissions import Open, Permission, public, requires
from pytake.web._ratelimit import client_address
from pytake.web._rest_support import read_json_object

__all__ = [
    "IDENTITY_EXTENSION",
    "NO_STORE",
    "acting",
    "authenticate",
    "authorize",
    "create_auth_blueprint",
    "current_principal",
    "require_role",
    "token_response",
]

#: ``app.extensions`` key of the `IdentityService` (set when the blueprint is registered).
IDENTITY_EXTENSION: Final = "pytake.identity"
#: Largest body the auth routes read: credentials are small, and the limit is checked before
#: anything is parsed or hashed.
MAX_BODY_BYTES: Final = 16 * 1024
_REALM: Final = 'Bearer realm="pytake"'
# Token problems get RFC 6750's error="invalid_token"; failed sign-ins only the challenge.
_TOKEN_CODES: Final = frozenset({"invalid_token", "token_expired"})
# Token responses must not be cached (RFC 6749 section 5.1).
#: Headers of an answer that carries a credential: no cache may keep it.
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}

P = ParamSpec("P")
R = TypeVar("R")


# --- authorization for any route -------------------------------------------------------------


def _identity() -> IdentityService:
    identity = current_app.extensions.get(IDENTITY_EXTENSION)
    if identity is None:
        # Fail closed, loudly: a protected route in an app that cannot check tokens.
        raise RuntimeError("require_role needs the auth blueprint (create_auth_blueprint)")
    assert isinstance(identity, IdentityService)
    return identity


def authorize(*roles: UserRole | str) -> Principal:
    """Authenticate the current request (or WebSocket handshake) by its bearer token.

    Returns the `Principal` (also kept for `current_principal`). Raises `AuthError` for a
    missing or bad token and `Forbidden` if ``roles`` are given and the user has none of them;
    the handlers installed by the auth blueprint turn them into 401 and 403.
    """
    headers = websocket.headers if has_websocket_context() else request.headers
    header = headers.get("Authorization", "").strip()
    if not header:
        raise AuthError(
            "missing bearer token (Authorization: Bearer <token>)", code="missing_token"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization header must be 'Bearer <token>'")
    principal = _identity().verify_access(token.strip())
    if not principal.has_role(*roles):
        wanted = " or ".join(str(UserRole(r)) for r in roles)
        raise Forbidden(f"this action needs role {wanted}; you are {principal.role}")
    g.principal = principal
    if has_websocket_context():
        begin_audit_scope(principal, websocket.remote_addr, headers.get("User-Agent"), None)
    else:
        begin_audit_scope(principal, client_address(), headers.get("User-Agent"), request_id())
    return principal


async def authenticate(*roles: UserRole | str) -> Principal:
    """`authorize`, and the account must still be active (`IdentityService.ensure_active`)."""
    principal = authorize(*roles)
    await _identity().ensure_active(principal)
    return principal


def require_role(
    *roles: UserRole | str,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorate an async view so that only users with one of ``roles`` reach it.

    No roles: any signed-in user. Role names are checked when the decorator is applied, so a
    typo fails at import, not at request time. Put it below the route decorator.
    """
    allowed = tuple(UserRole(r) for r in roles)

    def decorate(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(view)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            await authenticate(*allowed)
            return await view(*args, **kwargs)

        return guarded

    return decorate


def current_principal() -> Principal:
    """The `Principal` that `require_role` / `authorize` established for this request."""
    principal = g.get("principal")
    if not isinstance(principal, Principal):
        raise RuntimeError("current_principal() outside a route guarded by require_role")
    return principal


def acting() -> Actor:
    """Who makes this request's change, for the audit log: the signed-in user and role, the
    client address the rate limits use, the browser and the request's id."""
    principal = current_principal()
    return Actor(principal.user_id, client_address(), str(principal.role),
                 request.headers.get("User-Agent"), request_id())


async def _unauthorized(exc: AuthError) -> Response:
    challenge = _REALM
    if exc.code in _TOKEN_CODES:
        description = exc.reason.replace('"', "'")
        challenge += f', error="invalid_token", error_description="{description}"'
    return problem(401, exc.reason, code=exc.code, headers={"WWW-Authenticate": challenge})


async def _forbidden(exc: Forbidden) -> Response:
    return problem(403, exc.reason, code="forbidden")


# --- request bodies ------------------------------------------------------------------------


async def _json_object() -> dict[str, Any]:
    return await read_json_object(MAX_BODY_BYTES)


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{name} must be a non-empty string")
    return value


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value or None


def token_response(pair: TokenPair) -> Response:
    """A token pair as the sign-in routes answer it (never cached)."""
    response = jsonify(
        {
            "access_token": pair.access_token,
            "token_type": pair.token_type,
            "expires_in": pair.expires_in,
            "refresh_token": pair.refresh_token,
            "refresh_expires_in": pair.refresh_expires_in,
        }
    )
    response.headers.update(NO_STORE)
    return response


# --- the blueprint -------------------------------------------------------------------------


def create_auth_blueprint(identity: IdentityService) -> Blueprint:
    """The ``/api/v1/auth`` routes, bound to ``identity``; registering it also installs the
    401/403 handlers and makes `require_role` usable in the whole app."""
    auth = Blueprint("auth", __name__)

    @auth.record_once
    def _install(state: Any) -> None:
        state.app.extensions[IDENTITY_EXTENSION] = identity

    auth.app_errorhandler(AuthError)(_unauthorized)
    auth.app_errorhandler(Forbidden)(_forbidden)

    @auth.post("/api/v1/auth/login")
    @documented(request=schemas.CREDENTIALS, response=schemas.TOKENS, errors=(401, 429))
    @public(Open.SIGN_IN)
    async def login() -> ResponseReturnValue:
        """Sign in with email and password."""
        body = await _json_object()
        email, password = _string(body, "email"), _string(body, "password")
        ip = client_address()
        wait = identity.login_limiter.attempt(ip, email)
        if wait:
            return json_error(
                429, "too many sign-in attempts, retry later", {"Retry-After": str(wait)}
            )
        pair = await identity.authenticate(email, password, ip=ip,
                                           totp_code=_optional_string(body, "totp_code"),
                                           recovery_code=_optional_string(body, "recovery_code"))
        return token_response(pair)

    @auth.post("/api/v1/auth/refresh")
    @documented(request=schemas.REFRESH, response=schemas.TOKENS, errors=(401,))
    @public(Open.SIGN_IN)
    async def refresh() -> ResponseReturnValue:
        """Trade a refresh token for a new access token and refresh token."""
        body = await _json_object()
        token = _string(body, "refresh_token")
        return token_response(await identity.refresh(token, ip=client_address()))

    @auth.post("/api/v1/auth/logout")
    @documented(request=schemas.REFRESH, status=204)
    @public(Open.SIGN_IN)
    async def logout() -> ResponseReturnValue:
        """Revoke the refresh token's session. 204 even for an unknown token."""
        body = await _json_object()
        await identity.logout(_string(body, "refresh_token"), ip=client_address())
        return "", 204

    @auth.get("/api/v1/auth/me")
    @documented(response=schemas.ME)
    @requires(Permission.SELF_READ)
    async def me() -> ResponseReturnValue:
        """The signed-in user."""
        principal = current_principal()
        user = await identity.get_user(principal.user_id)
        if user is None or not user.active:
            raise AuthError("this account is deactivated", code="account_inactive")
        return jsonify(
            {
                "id": user.id,
                "email": user.email,
                "name": user.name,
                "role": str(user.role),
                "active": user.active,
                "created_at": user.created_at.isoformat(),
            }
        )

    return auth
