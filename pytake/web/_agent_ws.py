"""The agent WebSocket, ``/ws/agent`` (protocol: docs/agent-protocol.md).

Connect with ``?token=<access token>`` (or an ``Authorization: Bearer`` header) and
optionally ``&last_seq=<n>``.  The server accepts, checks the token (closing with 4401/4403
and the reason if it is missing, wrong or expired), sends ``welcome``, replays every stored
event after ``last_seq``, then streams live events; commands are answered ``ack`` or
``rejected`` with the client's command ``id``.

A connection is registered before the replay starts and buffers live events meanwhile, so
nothing falls between the replay and the live stream; a client whose send queue overflows is
closed with 4429 and resumes from its last seq.  No frame for ``agent_idle_timeout`` seconds
closes the connection with 4408.  A user deactivated or given another role is closed with
4401 (``account_inactive`` / ``role_changed``) within about a second, on every node.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any

import trio
from quart import Blueprint, current_app, websocket

from pytake.agents import GOING_AWAY, SLOW_CONSUMER
from pytake.contracts import ConnectionsChanged
from pytake.errors import StorageUnavailable
from pytake.identity import AuthError, Principal
from pytake.storable import storable
from pytake.web._audit_trail import audit_command
from pytake.web._permissions import Permission, checked_inside, may
from pytake.web._ratelimit import command_refusal
from pytake.web._team_watch import WATCH_TEAMS, TeamWatch

if TYPE_CHECKING:
    from pytake.agents import AgentEventLog, AgentSockets, Connection
    from pytake.identity import IdentityService
    from pytake.web._desk import AgentDesk

log = logging.getLogger("pytake.web.agent_ws")

PATH = "/ws/agent"

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_IDLE = 4408
CLOSE_BAD_REQUEST = 4400
CLOSE_SLOW = 4429
CLOSE_GOING_AWAY = 1001

#: Seconds between checks that a connected user is still active with the same role (the
#: check reads the database at most once a second per user, see `ensure_active`).
ACCOUNT_CHECK_INTERVAL = 0.5
#: Events replayed per database read while a client catches up.
REPLAY_PAGE = 500
#: Largest command frame accepted, in characters.
MAX_FRAME = 256 * 1024


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
    except AuthError as exc:
        raise _Refused(CLOSE_UNAUTHORIZED, f"{exc.code}: {exc}") from None
    if not may(principal, Permission.DESK_CONNECT):
        raise _Refused(CLOSE_FORBIDDEN, f"role {principal.role} cannot use the agent desk")
    try:
        await identity.ensure_active(principal)
    except AuthError as exc:
        raise _Refused(CLOSE_UNAUTHORIZED, f"{exc.code}: {exc}") from None
    return principal


def _last_seq() -> int:
    raw = websocket.args.get("last_seq", "0")
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise _Refused(CLOSE_BAD_REQUEST, f"last_seq must be a non-negative integer, got {raw!r}")
    return int(raw)


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), default=str)


class _AccountWatch:
    """Every connected user's account checked every `ACCOUNT_CHECK_INTERVAL` by one task for
    the node, which runs while a socket is open: a task per connection woke twice a second
    each (200 agents: 400 wake-ups a second, for checks that answer from a cache).
    `ensure_active` answers from its cache, kept fresh by one query for all users."""

    def __init__(self, identity: IdentityService) -> None:
        self._identity = identity
        self._watched: dict[Connection, Principal] = {}
        self._running = False

    def add(self, conn: Connection, principal: Principal) -> None:
        self._watched[conn] = principal
        if not self._running:
            self._running = True
            current_app.add_background_task(self._run)

    def remove(self, conn: Connection) -> None:
        self._watched.pop(conn, None)

    async def _run(self) -> None:
        try:
            while self._watched:
                await trio.sleep(ACCOUNT_CHECK_INTERVAL)
                await self._sweep()
        finally:
            self._running = False

    async def _sweep(self) -> None:
        for conn, principal in list(self._watched.items()):
            try:
                await self._identity.ensure_active(principal)
            except AuthError as exc:
                self._watched.pop(conn, None)
                conn.cut(f"{exc.code}: {exc.reason}", CLOSE_UNAUTHORIZED)
            except StorageUnavailable as exc:  # keep serving; the next sweep decides
                log.debug("account checks postponed: %s", exc)
                return


def create_agent_ws_blueprint(engine: Any, desk: AgentDesk) -> Blueprint:
    """``/ws/agent`` bound to the engine's identity, sockets, event log, desk and router."""
    bp = Blueprint("agent_ws", __name__)
    watch = TeamWatch(engine.team_feed, engine.db, desk)
    commands = sorted([*desk.commands, WATCH_TEAMS])
    identity: IdentityService = engine.identity
    sockets: AgentSockets = engine.sockets
    events: AgentEventLog = engine.agent_events
    router = engine.router
    idle_timeout: float = engine.settings.agent_idle_timeout
    accounts = _AccountWatch(identity)

    @bp.websocket(PATH)
    @checked_inside(Permission.DESK_CONNECT)
    async def agent_socket() -> None:
        await websocket.accept()
        try:
            principal = await _authenticate(identity)
            last_seq = _last_seq()
        except _Refused as refused:
            log.info("agent socket refused: %s", refused.reason)
            await websocket.close(refused.code, refused.reason[:120])
            return
        agent = str(principal.user_id)
        conn = sockets.open(agent)
        try:
            await router.tell("agent", agent, ConnectionsChanged())
            accounts.add(conn, principal)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_send_live, conn, nursery.cancel_scope)
                await _replay(conn, principal, last_seq)
                await _receive(conn, principal)
                nursery.cancel_scope.cancel()
        finally:
            accounts.remove(conn)
            watch.stop(conn)
            sockets.close(conn)
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                try:
                    await router.tell("agent", agent, ConnectionsChanged())
                except Exception as exc:  # shutting down: presence no longer matters
                    log.debug("presence update for agent %s dropped: %s", agent, exc)

    async def _replay(conn: Connection, principal: Principal, last_seq: int) -> None:
        current = await events.last_seq(principal.user_id)
        if last_seq > current:
            # The client saw more than was ever stored: it talks to another deployment or a
            # restored database.  It gets everything from the start.
            last_seq = 0
        await websocket.send(_dumps({
            "type": "welcome",
            "agent_id": principal.user_id,
            "role": str(principal.role),
            "resume_from": last_seq,
            "last_seq": current,
            "commands": commands,
        }))
        while True:
            page = await events.after(principal.user_id, last_seq, REPLAY_PAGE)
            for event in page:
                await websocket.send(_dumps(event.frame()))
                last_seq = event.seq
            if len(page) < REPLAY_PAGE:
                break
        # Everything stored so far has been sent: tell the client it is now live.
        await websocket.send(_dumps({"type": "live", "last_seq": last_seq}))
        conn.go_live(last_seq)

    async def _send_live(conn: Connection, scope: trio.CancelScope) -> None:
        async for frame in conn.outgoing:
            await websocket.send(_dumps(frame))
        if conn.cut_reason == SLOW_CONSUMER:
            log.warning("agent %s: slow connection closed", conn.agent)
            await websocket.close(CLOSE_SLOW, SLOW_CONSUMER[:120])
        elif conn.cut_reason == GOING_AWAY:
            await websocket.close(CLOSE_GOING_AWAY, GOING_AWAY[:120])
        elif conn.cut_code is not None and conn.cut_reason is not None:
            await websocket.close(conn.cut_code, conn.cut_reason[:120])
        scope.cancel()

    async def _receive(conn: Connection, principal: Principal) -> None:
        agent, role = str(principal.user_id), str(principal.role)
        client = (websocket.remote_addr, websocket.headers.get("User-Agent"))
        while True:
            raw: str | bytes | None = None
            # Wake for the idle timeout or the token's expiry, whichever comes first: an
            # expired token stops the event stream even if the client stays silent.
            left = principal.expires_at - time.time() if principal.expires_at else idle_timeout
            with trio.move_on_after(max(0.0, min(idle_timeout, left))):
                raw = await websocket.receive()
            if principal.expires_at and time.time() >= principal.expires_at:
                await websocket.close(CLOSE_UNAUTHORIZED, "token_expired: reconnect with a new "
                                      "access token")
                return
            if raw is None:
                await websocket.close(CLOSE_IDLE, f"no frame for {idle_timeout:g} s")
                return
            frame = _parse(raw)
            if isinstance(frame, tuple):
                command_id, problem = frame
                conn.reply({"type": "rejected", "id": command_id, "reason": problem,
                            "code": "invalid"})
                continue
            command_id = frame.get("id")
            if frame.get("type") == "ping":
                conn.reply({"type": "pong", "id": command_id})
                continue
            refusal = await command_refusal(principal.user_id)
            if refusal is not None:  # over budget: this command only, the socket stays open
                conn.reply({"type": "rejected", "id": command_id, **refusal})
                continue
            if frame.get("type") == WATCH_TEAMS:
                if await watch.command(conn, principal, frame):
                    await audit_command(engine.db, principal, frame, {}, *client)
                continue
            result = await desk.execute(agent, role, frame)
            if result.ok:
                conn.reply({"type": "ack", "id": command_id, "data": result.data})
                await audit_command(engine.db, principal, frame, result.data, *client)
            else:
                conn.reply({"type": "rejected", "id": command_id, "reason": result.reason,
                            "code": result.code})

    return bp


def _parse(raw: str | bytes) -> dict[str, Any] | tuple[Any, str]:
    """The command frame, or ``(its id if any, why it is not one)``."""
    if len(raw) > MAX_FRAME:
        return None, f"frame larger than {MAX_FRAME} characters"
    try:
        frame = storable(json.loads(raw))
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"not JSON: {exc}"
    if not isinstance(frame, dict):
        return None, 'a command is a JSON object with a "type"'
    if not isinstance(frame.get("type"), str):
        return frame.get("id"), 'a command is a JSON object with a "type"'
    return frame
