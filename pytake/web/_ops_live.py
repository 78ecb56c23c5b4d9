"""The operations dashboard's data: ``GET /api/v1/ops/stats`` and the live socket
``/api/v1/ops/live`` (docs/operations.md).

The socket authenticates as the agent socket does (``?token=<access token>`` or an
``Authorization: Bearer`` header, checked after the accept so that a refusal is a close code
the browser can read: 4401 without a valid token, 4403 for a role without ``ops:read``; 4401
too when the token expires or the account is deactivated or changes role while connected).
It then sends ``welcome`` and, every sampling tick, a ``tick`` frame: the current numbers, the
supervision summary and the newest closed point of the hour's series.  The client may send
``{"type": "ping"}``; nothing else is expected from it.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

import trio
from quart import Blueprint, Response, jsonify, websocket

from pytake.errors import StorageUnavailable
from pytake.identity import AuthError
from pytake.web import _schemas as schemas
from pytake.web._openapi import documented
from pytake.web._permissions import Permission, checked_inside, may, requires

if TYPE_CHECKING:
    from pytake.identity import IdentityService, Principal

log = logging.getLogger("pytake.web.ops_live")

LIVE_PATH = "/api/v1/ops/live"
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
#: Largest frame read from a client (it only pings).
MAX_FRAME = 1024


class OpsSampler(Protocol):
    """What the routes need from `pytake.ops.Sampler`."""

    ticks: int
    interval: float

    async def wait_tick(self, seen: int) -> int: ...

    def current(self) -> dict[str, Any]: ...

    def stats(self) -> dict[str, Any]: ...

    def newest_point(self) -> dict[str, Any] | None: ...


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def _authenticate(identity: IdentityService) -> Principal:
    token = websocket.args.get("token", "")
    if not token:
        scheme, _, value = websocket.headers.get("Authorization", "").partition(" ")
        token = value if scheme.lower() == "bearer" else ""
    if not token.strip():
        raise _Refused(CLOSE_UNAUTHORIZED, "missing token: connect with ?token=<access token>")
    try:
        principal = identity.verify_access(token.strip())
        if not may(principal, Permission.OPS_READ):
            raise _Refused(CLOSE_FORBIDDEN, f"role {principal.role} cannot see operations")
        await identity.ensure_active(principal)
    except AuthError as exc:
        raise _Refused(CLOSE_UNAUTHORIZED, f"{exc.code}: {exc}") from None
    return principal


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), default=str)


def create_ops_live_blueprint(sampler: OpsSampler, identity: IdentityService) -> Blueprint:
    bp = Blueprint("ops_live", __name__)

    @bp.get("/api/v1/ops/stats")
    @documented(response=schemas.OPS_STATS)
    @requires(Permission.OPS_READ)
    async def ops_stats() -> Response:
        """The dashboard's numbers now (rates and latencies over the last window), the last
        hour as one point per window, and the supervision summary."""
        return jsonify(sampler.stats())

    @bp.websocket(LIVE_PATH)
    @checked_inside(Permission.OPS_READ)
    async def ops_live() -> None:
        await websocket.accept()
        try:
            principal = await _authenticate(identity)
        except _Refused as refused:
            log.info("ops socket refused: %s", refused.reason)
            await websocket.close(refused.code, refused.reason[:120])
            return
        await websocket.send(_dumps({
            "type": "welcome", "role": str(principal.role), "interval": sampler.interval}))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pings)
            await _push(principal)
            nursery.cancel_scope.cancel()

    async def _push(principal: Principal) -> None:
        seen = sampler.ticks - 1 if sampler.ticks else 0  # the newest tick goes out at once
        while True:
            left = principal.expires_at - time.time() if principal.expires_at else None
            with trio.move_on_after(left if left is not None else float("inf")):
                seen = await sampler.wait_tick(seen)
                # Deactivated or given another role: the feed stops within about a second
                # (`ensure_active` answers from a cache kept fresh for all users at once).
                try:
                    await identity.ensure_active(principal)
                except AuthError as exc:
                    await websocket.close(CLOSE_UNAUTHORIZED, f"{exc.code}: {exc}"[:120])
                    return
                except StorageUnavailable:
                    pass  # keep serving; the next tick decides
                await websocket.send(_dumps({
                    "type": "tick", "tick": seen, **sampler.current(),
                    "point": sampler.newest_point()}))
                continue
            await websocket.close(CLOSE_UNAUTHORIZED, "token_expired: reconnect with a new "
                                  "access token")
            return

    async def _pings() -> None:
        while True:
            raw = await websocket.receive()
            if len(raw) > MAX_FRAME:
                continue
            try:
                frame = json.loads(raw)
            except ValueError:
                continue
            if isinstance(frame, dict) and frame.get("type") == "ping":
                await websocket.send(_dumps({"type": "pong", "id": frame.get("id")}))

    return bp
