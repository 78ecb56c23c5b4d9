"""The first run: creating the first admin from the browser (docs/auth.md, "The first admin").

- ``GET  /api/v1/setup``  ``{"needed": true}`` while no user exists
- ``POST /api/v1/setup``  ``{code, name, email, password}`` → 201 and a token pair (signed in
  as the new admin); 403 ``invalid_setup_code``, 409 ``setup_done``, 422 naming the field

The set-up code is printed by ``pytake serve`` at start while no user exists (or set with
``PYTAKE_SETUP_CODE``), so an installation exposed before anyone set it up cannot be claimed
by whoever finds it first.  Wrong codes count as sign-in attempts (the sign-in rate limit).
Of two set-ups at once, one creates the admin and the other gets 409.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Final

from quart import Blueprint, Response, jsonify
from quart.typing import ResponseReturnValue

from pytake.identity import IdentityService, UserConflict
from pytake.web import _schemas as schemas
from pytake.web._auth_routes import token_response
from pytake.web._bodies import typed_body
from pytake.web._errors import json_error, problem
from pytake.web._openapi import documented
from pytake.web._permissions import Open, public
from pytake.web._ratelimit import client_address

__all__ = ["SetupGate", "create_setup_blueprint", "new_setup_code"]

#: Letters and digits a person reads off a terminal without confusing them (no 0/O, 1/I/L).
_ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_setup_code() -> str:
    """A random set-up code, ``XXXX-XXXX`` (40 bits)."""
    letters = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def _canonical(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


class SetupGate:
    """The set-up code of this process."""

    def __init__(self, code: str | None = None) -> None:
        self.code = code.strip() if code and code.strip() else new_setup_code()

    def accepts(self, code: str) -> bool:
        return hmac.compare_digest(_canonical(code).encode(), _canonical(self.code).encode())


def create_setup_blueprint(identity: IdentityService, gate: SetupGate) -> Blueprint:
    """The set-up routes over ``identity``, guarded by ``gate``'s code."""
    bp = Blueprint("setup", __name__)

    @bp.get("/api/v1/setup")
    @documented(response=schemas.SETUP_STATE)
    @public(Open.SETUP)
    async def state() -> ResponseReturnValue:
        """Whether the first admin is still to be created."""
        return jsonify({"needed": await identity.needs_setup()})

    @bp.post("/api/v1/setup")
    @documented(request=schemas.SETUP, response=schemas.TOKENS, status=201,
                errors=(403, 409, 429))
    @public(Open.SETUP)
    async def set_up() -> ResponseReturnValue:
        """Create the first admin with the set-up code; answers a token pair."""
        body = await typed_body({"code": str, "name": str, "email": str, "password": str},
                                required=("code", "name", "email", "password"))
        ip = client_address()
        wait = identity.login_limiter.attempt(ip, "setup")
        if wait:
            return json_error(429, "too many set-up attempts, retry later",
                              {"Retry-After": str(wait)})
        if not await identity.needs_setup():
            return _done()
        if not gate.accepts(body["code"]):
            return problem(403, "the set-up code is wrong: it is printed by `pytake serve` "
                           "at start", code="invalid_setup_code", field="code")
        try:
            admin = await identity.create_first_admin(body["email"], body["name"],
                                                      body["password"], ip=ip)
        except UserConflict:
            return _done()
        response = token_response(await identity.authenticate(admin.email, body["password"],
                                                              ip=ip))
        response.status_code = 201
        return response

    return bp


def _done() -> Response:
    return problem(409, "PyTake is set up already: sign in instead", code="setup_done")
