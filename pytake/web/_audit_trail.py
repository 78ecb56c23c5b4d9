"""The audit trail of the HTTP edge: one ``audit_logs`` row per change a signed-in user makes
and per read of a customer's personal data, with who (user and role), from where (client
address, browser), and the request's id.

- A change that records its own row (the services call `pytake.store.record_audit`: user,
  team, flow, number, settings changes … with their details) gets that row, completed with
  the role, browser and request id from the request's `AuditScope`; the routes of
  `SELF_AUDITED` blueprints get no other (a request that changed nothing records nothing).
  Any other successful POST, PUT, PATCH or DELETE by a signed-in user gets a row named after
  its route (``conversation_commands.send``, ``modules.store_config``), on the object its path
  names.
- A route marked `personal_data` writes a row for each successful read (messages, a
  customer's profile, media).
- The agent socket's commands are recorded by `audit_command`.

Every request gets an id: the client's ``X-Request-Id`` when it is a sane token, else a new
one; it is sent back in the answer's ``X-Request-Id``.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable
from typing import Any, Final, TypeVar

from quart import Response, g, request
from quart_trio import QuartTrio

from pytake.identity import Principal
from pytake.store import Actor, AuditScope, Database, audit_scope, record_audit

__all__ = [
    "audit_command",
    "begin_audit_scope",
    "install_audit_trail",
    "personal_data",
    "request_id",
]

V = TypeVar("V", bound=Callable[..., Any])

PERSONAL_DATA: Final = "_pytake_personal_data"
_CHANGES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SANE_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,100}")
#: Blueprints whose services record a row (with its details) for every change they make, and
#: deliberately none for a request that changed nothing (a PATCH repeating the values): the
#: edge adds no row of its own for them.
SELF_AUDITED: Final = frozenset({
    "auth", "users", "second_factor", "setup", "teams_api", "canned_api", "numbers_api",
    "settings_api", "webhooks_api", "flows_api", "customers_api",
})
#: Agent socket commands that change nothing for the audit's purpose (a typing indicator,
#: queue figures): not recorded.
_UNRECORDED_COMMANDS: Final = frozenset({"typing", "queue_stats"})


def personal_data(action: str) -> Callable[[V], V]:
    """Mark a GET route as a read of personal data: each successful answer writes a row
    ``action`` on the object its path names."""

    def mark(view: V) -> V:
        setattr(view, PERSONAL_DATA, action)
        return view

    return mark


def request_id() -> str:
    """This request's id (made on first use)."""
    rid = g.get("request_id")
    if rid is None:
        given = request.headers.get("X-Request-Id", "")
        rid = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_id = rid
    return str(rid)


def begin_audit_scope(principal: Principal, ip: str | None, user_agent: str | None,
                      rid: str | None) -> None:
    """The signed-in caller of this request (or socket), for the rows its work records."""
    audit_scope.set(AuditScope(Actor(principal.user_id, ip, str(principal.role),
                                     user_agent, rid)))


def _target(view_args: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """The object a path names: its last ``<thing>_id`` (or other) argument."""
    if not view_args:
        return None, None
    name, value = list(view_args.items())[-1]
    kind = name.removesuffix("_id") if name.endswith("_id") else name
    if name == "message_id" and "conversation_id" in view_args:
        kind, value = "conversation", f"{view_args['conversation_id']}/message/{value}"
    return kind, str(value)


def install_audit_trail(app: QuartTrio, db: Database) -> None:
    """Record the rows described in the module docstring for every request to ``app``."""

    @app.after_request
    async def _audit(response: Response) -> Response:
        rid = request_id()
        response.headers["X-Request-Id"] = rid
        scope = audit_scope.get()
        if scope is None or scope.actor.user_id is None or not 200 <= response.status_code < 400:
            return response
        view = app.view_functions.get(request.endpoint or "")
        read = getattr(view, PERSONAL_DATA, None) if request.method == "GET" else None
        if read is None and (request.method not in _CHANGES or scope.recorded
                             or request.blueprint in SELF_AUDITED):
            return response
        kind, target = _target(request.view_args)
        action = read or str(request.endpoint)
        await db.run(functools.partial(
            record_audit, action=action, actor=scope.actor, target_type=kind, target_id=target,
            details={"method": request.method, "status": response.status_code}))
        return response


async def audit_command(db: Database, principal: Principal, frame: dict[str, Any],
                        data: dict[str, Any], ip: str | None, user_agent: str | None) -> None:
    """The row of one successful agent socket command."""
    kind = str(frame.get("type"))
    if kind in _UNRECORDED_COMMANDS:
        return
    conversation = frame.get("conversation_id", data.get("conversation_id"))
    target_type, target = ("conversation", conversation) if conversation is not None else (
        ("team", ",".join(map(str, frame.get("teams") or [])) or None)
        if kind == "watch_teams" else (None, None))
    actor = Actor(principal.user_id, ip, str(principal.role), user_agent, None)
    await db.run(functools.partial(record_audit, action=f"agent_socket.{kind}", actor=actor,
                                   target_type=target_type, target_id=target))
