"""The users API: ``/api/v1/users`` for admins, ``/api/v1/users/me`` for everyone, and
``/api/v1/auth/set-password`` for whoever holds a one-time token (docs/rest-api.md,
"Users").

- ``GET    /api/v1/users``                    ``?cursor=&limit=&role=&active=`` → a page by id
- ``POST   /api/v1/users``                    invite ``{email, name, role, delivery}`` → 201
  with the one-time ``set_password_token`` or the ``temporary_password`` (shown only here)
- ``GET    /api/v1/users/<id>``               one user
- ``PATCH  /api/v1/users/<id>``               ``{name?, role?, active?}``
- ``POST   /api/v1/users/<id>/deactivate``    and ``/reactivate``
- ``POST   /api/v1/users/<id>/reset-password`` ``{delivery?}`` → a new token or password
- ``PATCH  /api/v1/users/me``                 ``{name}``: one's own name
- ``POST   /api/v1/users/me/password``        ``{current_password, new_password}`` → a new
  token pair (every other session is signed out)
- ``POST   /api/v1/auth/set-password``        ``{token, password}`` → a token pair

A deactivation or a role change closes the user's agent sockets on this node at once (4401);
other nodes' sockets notice within a second and a half (`ACCOUNT_CHECK_INTERVAL`).  A body
that fails validation answers 422 naming the ``field``; an unknown id 404; a taken email and
the last active admin 409.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from quart import Blueprint, Response, jsonify, request
from quart.typing import ResponseReturnValue

from pytake.identity import (
    Credential,
    IdentityService,
    UserAdmin,
    UserInfo,
)
from pytake.web import _schemas as schemas
from pytake.web._agent_ws import CLOSE_UNAUTHORIZED
from pytake.web._auth_routes import NO_STORE, current_principal, token_response
from pytake.web._bodies import typed_body
from pytake.web._errors import json_error
from pytake.web._openapi import documented
from pytake.web._page_cursor import decode_cursor, encode_cursor
from pytake.web._permissions import Open, Permission, public, requires
from pytake.web._ratelimit import client_address
from pytake.web._rest_support import int_arg, iso, str_arg

if TYPE_CHECKING:
    from pytake.agents import AgentSockets

__all__ = ["create_users_blueprint"]



def user_json(user: UserInfo) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "role": str(user.role),
            "active": user.active, "created_at": iso(user.created_at)}


def _credential_json(credential: Credential) -> dict[str, Any]:
    out: dict[str, Any] = {"user": user_json(credential.user),
                           "delivery": str(credential.delivery)}
    if credential.token is not None:
        out["set_password_token"] = credential.token
        out["expires_at"] = iso(credential.expires_at)
    if credential.temporary_password is not None:
        out["temporary_password"] = credential.temporary_password
    return out


def _after(cursor: str | None) -> int:
    if not cursor:
        return 0
    (last_id,) = decode_cursor(cursor, (int,))
    return cast(int, last_id)


def _active_arg() -> bool | None:
    value = str_arg("active", frozenset({"true", "false"}))
    return None if value is None else value == "true"


def create_users_blueprint(identity: IdentityService,
                           sockets: AgentSockets | None = None) -> Blueprint:
    """The users routes over ``identity``; ``sockets`` (this node's agent connections) are
    cut when a user is deactivated or changes role."""
    bp = Blueprint("users", __name__)
    admin = UserAdmin(identity)

    def _cut(before: UserInfo, after: UserInfo) -> None:
        if sockets is None:
            return
        if before.active and not after.active:
            why = "account_inactive: this account is deactivated"
        elif before.role != after.role:
            why = "role_changed: your role changed; sign in again"
        else:
            return
        sockets.disconnect(str(after.id), CLOSE_UNAUTHORIZED, why)

    async def _update(user_id: int, **changes: Any) -> Response:
        before = await admin.get(user_id)
        after = await admin.update(user_id, actor=current_principal().user_id,
                                   ip=client_address(), **changes)
        _cut(before, after)
        return jsonify(user_json(after))

    @bp.get("/api/v1/users")
    @documented(query=schemas.USERS_QUERY, response=schemas.USERS)
    @requires(Permission.USERS_MANAGE)
    async def list_users() -> ResponseReturnValue:
        """Users by id, a page at a time; ``next_cursor`` is null on the last page."""
        limit = int_arg("limit", 50, 200, minimum=1)
        page = await admin.page(_after(request.args.get("cursor")), limit,
                                role=str_arg("role", frozenset({"admin", "supervisor",
                                                                "agent"})),
                                active=_active_arg())
        return jsonify({
            "users": [user_json(u) for u in page.users],
            "next_cursor": encode_cursor(page.next_after) if page.next_after else None,
        })

    @bp.post("/api/v1/users")
    @documented(request=schemas.INVITE, response=schemas.CREDENTIAL, status=201)
    @requires(Permission.USERS_MANAGE)
    async def invite() -> ResponseReturnValue:
        """Invite a user: a one-time set-password token or a temporary password."""
        body = await typed_body({"email": str, "name": str, "role": str, "delivery": str},
                           required=("email", "name", "role"))
        credential = await admin.invite(
            body["email"], body["name"], body["role"], body.get("delivery", "link"),
            actor=current_principal().user_id, ip=client_address(),
        )
        response = jsonify(_credential_json(credential))
        response.status_code = 201
        response.headers.update(NO_STORE)
        response.headers["Location"] = f"/api/v1/users/{credential.user.id}"
        return response

    @bp.get("/api/v1/users/<int:user_id>")
    @documented(response=schemas.USER)
    @requires(Permission.USERS_MANAGE)
    async def get_user(user_id: int) -> ResponseReturnValue:
        """One user."""
        return jsonify(user_json(await admin.get(user_id)))

    @bp.patch("/api/v1/users/<int:user_id>")
    @documented(request=schemas.USER_UPDATE, response=schemas.USER)
    @requires(Permission.USERS_MANAGE)
    async def update_user(user_id: int) -> ResponseReturnValue:
        """Change a user's name, role or active flag."""
        body = await typed_body({"name": str, "role": str, "active": bool})
        return await _update(user_id, **body)

    @bp.post("/api/v1/users/<int:user_id>/deactivate")
    @documented(response=schemas.USER)
    @requires(Permission.USERS_MANAGE)
    async def deactivate(user_id: int) -> ResponseReturnValue:
        """Deactivate: sessions revoked, tokens refused, sockets closed."""
        return await _update(user_id, active=False)

    @bp.post("/api/v1/users/<int:user_id>/reactivate")
    @documented(response=schemas.USER)
    @requires(Permission.USERS_MANAGE)
    async def reactivate(user_id: int) -> ResponseReturnValue:
        """Let a deactivated user sign in again."""
        return await _update(user_id, active=True)

    @bp.post("/api/v1/users/<int:user_id>/reset-password")
    @documented(request=schemas.RESET_PASSWORD, request_required=False,
                response=schemas.CREDENTIAL)
    @requires(Permission.USERS_MANAGE)
    async def reset_password(user_id: int) -> ResponseReturnValue:
        """Replace the password by a one-time token's or a temporary one."""
        body = await typed_body({"delivery": str}, optional_body=True)
        credential = await admin.reset_password(
            user_id, body.get("delivery", "link"), actor=current_principal().user_id,
            ip=client_address(),
        )
        response = jsonify(_credential_json(credential))
        response.headers.update(NO_STORE)
        return response

    @bp.patch("/api/v1/users/me")
    @documented(request=schemas.ME_UPDATE, response=schemas.USER)
    @requires(Permission.SELF_MANAGE)
    async def update_me() -> ResponseReturnValue:
        """Change one's own name."""
        body = await typed_body({"name": str}, required=("name",))
        principal = current_principal()
        user = await admin.update(principal.user_id, name=body["name"],
                                  actor=principal.user_id, ip=client_address())
        return jsonify(user_json(user))

    @bp.post("/api/v1/users/me/password")
    @documented(request=schemas.PASSWORD_CHANGE, response=schemas.TOKENS)
    @requires(Permission.SELF_MANAGE)
    async def change_password() -> ResponseReturnValue:
        """Change one's own password; answers a new token pair (other sessions end)."""
        body = await typed_body({"current_password": str, "new_password": str},
                           required=("current_password", "new_password"))
        principal = current_principal()
        # Guessing the current password with a stolen access token is a sign-in attempt.
        wait = identity.login_limiter.attempt(client_address(), principal.email)
        if wait:
            return json_error(429, "too many password attempts, retry later",
                              {"Retry-After": str(wait)})
        await admin.change_password(principal.user_id, body["current_password"],
                                    body["new_password"], ip=client_address())
        pair = await identity.authenticate(principal.email, body["new_password"],
                                           ip=client_address(), signed_in=True)
        return token_response(pair)

    @bp.post("/api/v1/auth/set-password")
    @documented(request=schemas.SET_PASSWORD, response=schemas.TOKENS)
    @public(Open.SIGN_IN)
    async def set_password() -> ResponseReturnValue:
        """Redeem a one-time set-password token; answers a token pair (signed in)."""
        body = await typed_body({"token": str, "password": str, "totp_code": str,
                                 "recovery_code": str}, required=("token", "password"))
        user = await admin.redeem(body["token"], body["password"], ip=client_address())
        # A reset does not remove a second factor: signing in still asks for it.
        pair = await identity.authenticate(user.email, body["password"], ip=client_address(),
                                           totp_code=body.get("totp_code"),
                                           recovery_code=body.get("recovery_code"))
        return token_response(pair)

    return bp
