"""TOTP second factors over HTTP (docs/auth.md, "Second factor").

- ``GET  /api/v1/auth/second-factor``                 whether one is enabled or being set up,
  and how many recovery codes are left
- ``POST /api/v1/auth/second-factor``                 ``{password}`` → 201 ``{secret,
  otpauth_uri}``: start (or restart) setting one up; shown only here
- ``POST /api/v1/auth/second-factor/confirm``         ``{code}`` → ``{recovery_codes}``: the
  factor is on from now; the codes are shown only here
- ``POST /api/v1/auth/second-factor/recovery-codes``  ``{code | recovery_code}`` → new codes
- ``POST /api/v1/auth/second-factor/disable``         ``{password, code | recovery_code}``
- ``DELETE /api/v1/users/<id>/second-factor``         an admin removes a user's factor (a
  lost phone and lost codes)

Whatever checks a password or a code counts as a sign-in attempt for the account (the sign-in
rate limit), so a stolen access token cannot be used to guess either.
"""

from __future__ import annotations

from typing import Any, Final

from quart import Blueprint, Response, jsonify
from quart.typing import ResponseReturnValue

from pytake.identity import IdentityService, UserNotFound
from pytake.web import _schemas as schemas
from pytake.web._auth_routes import NO_STORE, current_principal
from pytake.web._bodies import InvalidField, typed_body
from pytake.web._errors import json_error
from pytake.web._openapi import documented
from pytake.web._permissions import Permission, requires
from pytake.web._ratelimit import client_address

__all__ = ["create_second_factor_blueprint"]

_CODES: Final = {"code": str, "recovery_code": str}


def _codes(body: dict[str, Any]) -> dict[str, str | None]:
    if not body.get("code") and not body.get("recovery_code"):
        raise InvalidField("code", "code (from the authenticator app) or recovery_code "
                                   "is required")
    return {"code": body.get("code") or None, "recovery_code": body.get("recovery_code") or None}


def _shown_once(payload: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = status
    response.headers.update(NO_STORE)
    return response


def create_second_factor_blueprint(identity: IdentityService) -> Blueprint:
    """The second-factor routes over ``identity``."""
    bp = Blueprint("second_factor", __name__)
    factors = identity.second_factors

    def _too_many() -> Response | None:
        wait = identity.login_limiter.attempt(client_address(), current_principal().email)
        if wait:
            return json_error(429, "too many attempts, retry later", {"Retry-After": str(wait)})
        return None

    @bp.get("/api/v1/auth/second-factor")
    @documented(response=schemas.SECOND_FACTOR)
    @requires(Permission.SELF_READ)
    async def state() -> ResponseReturnValue:
        """Whether one's second factor is on, being set up, and its recovery codes left."""
        found = await factors.state(current_principal().user_id)
        return jsonify({"enabled": found.enabled, "pending": found.pending,
                        "recovery_codes_left": found.recovery_codes_left})

    @bp.post("/api/v1/auth/second-factor")
    @documented(request=schemas.PASSWORD_ONLY, response=schemas.ENROLLMENT, status=201,
                errors=(409, 429))
    @requires(Permission.SELF_MANAGE)
    async def begin() -> ResponseReturnValue:
        """Start setting up a TOTP second factor: a new key, shown once."""
        body = await typed_body({"password": str}, required=("password",))
        if limited := _too_many():
            return limited
        principal = current_principal()
        await identity.check_password(principal.user_id, body["password"])
        enrollment = await factors.begin(principal.user_id, ip=client_address())
        return _shown_once({"secret": enrollment.secret, "otpauth_uri": enrollment.uri}, 201)

    @bp.post("/api/v1/auth/second-factor/confirm")
    @documented(request=schemas.CODE_ONLY, response=schemas.RECOVERY_CODES, errors=(429,))
    @requires(Permission.SELF_MANAGE)
    async def confirm() -> ResponseReturnValue:
        """Turn the second factor on with a code from the app; answers recovery codes."""
        body = await typed_body({"code": str}, required=("code",))
        if limited := _too_many():
            return limited
        codes = await factors.confirm(current_principal().user_id, body["code"],
                                      ip=client_address())
        return _shown_once({"recovery_codes": codes})

    @bp.post("/api/v1/auth/second-factor/recovery-codes")
    @documented(request=schemas.SECOND_FACTOR_PROOF, response=schemas.RECOVERY_CODES,
                errors=(429,))
    @requires(Permission.SELF_MANAGE)
    async def regenerate() -> ResponseReturnValue:
        """Replace every recovery code (the old ones stop working)."""
        body = await typed_body(_CODES)
        proof = _codes(body)
        if limited := _too_many():
            return limited
        codes = await factors.regenerate(current_principal().user_id, ip=client_address(),
                                         **proof)
        return _shown_once({"recovery_codes": codes})

    @bp.post("/api/v1/auth/second-factor/disable")
    @documented(request=schemas.SECOND_FACTOR_OFF, status=204, errors=(429,))
    @requires(Permission.SELF_MANAGE)
    async def disable() -> ResponseReturnValue:
        """Turn one's second factor off (password and a code)."""
        body = await typed_body({"password": str, **_CODES}, required=("password",))
        proof = _codes(body)
        if limited := _too_many():
            return limited
        principal = current_principal()
        await identity.check_password(principal.user_id, body["password"])
        await factors.disable(principal.user_id, ip=client_address(), **proof)
        return "", 204

    @bp.delete("/api/v1/users/<int:user_id>/second-factor")
    @documented(status=204, errors=(404,))
    @requires(Permission.USERS_MANAGE)
    async def reset(user_id: int) -> ResponseReturnValue:
        """Remove a user's second factor and recovery codes (they sign in with the
        password alone until they set up a new one)."""
        if await identity.get_user(user_id) is None:
            raise UserNotFound(user_id)
        await factors.reset(user_id, actor=current_principal().user_id, ip=client_address())
        return "", 204

    return bp
