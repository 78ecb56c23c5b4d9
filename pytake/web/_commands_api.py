"""REST commands on conversations and queues: the same commands as the agent WebSocket
(``pytake.web._desk.AgentDesk``), for the UI and for integrations.

- ``POST /api/v1/conversations/<id>/messages``  ``{content}`` → 201 ``{message_id, outbox_id}``
- ``POST /api/v1/conversations/<id>/accept`` / ``decline``  (the caller's offer)
- ``POST /api/v1/conversations/<id>/assign``    ``{agent, team?}`` (supervisor, admin)
- ``POST /api/v1/conversations/<id>/transfer``  ``{team? | agent?, note?}``
- ``POST /api/v1/conversations/<id>/resolve``
- ``POST /api/v1/conversations/<id>/notes``     ``{text}``
- ``POST /api/v1/conversations/<id>/labels``    ``{add?: [..], remove?: [..]}``
- ``POST /api/v1/conversations/<id>/priority``  ``{priority}``
- ``POST /api/v1/conversations/<id>/read``
- ``POST /api/v1/conversations/<id>/handoff``   ``{team, priority?, skills?, note?}``
  (supervisor, admin: take a conversation from the bot)
- ``GET  /api/v1/teams/<id>/queue``              live queue statistics

A refused command answers a problem document with ``code`` and 422 (``invalid``), 403
(``forbidden``), 404 (``not_found``), 409 (``conflict``: not yours, or not allowed in its
current state) or 503 with ``Retry-After`` (``unavailable``).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify, request

from pytake.actors import Router
from pytake.contracts import CommandResult, HandOffConversation
from pytake.contracts import CommandResult as _CommandResult
from pytake.web import _schemas as schemas
from pytake.web._auth_routes import current_principal
from pytake.web._desk import AgentDesk
from pytake.web._errors import problem
from pytake.web._openapi import documented
from pytake.web._permissions import COMMAND_PERMISSIONS, Permission, requires
from pytake.web._rest_support import read_json_object

_STATUS = {
    "invalid": 422, "forbidden": 403, "not_found": 404, "conflict": 409, "unavailable": 503,
}
_MAX_BODY = 256 * 1024


def _answer(result: CommandResult, created: bool = False) -> Response:
    if result.ok:
        response = jsonify(result.data)
        response.status_code = 201 if created else 200
        return response
    status = _STATUS.get(result.code, 409)
    return problem(status, result.reason, code=result.code,
                   headers={"Retry-After": "1"} if status == 503 else None)


def create_commands_blueprint(desk: AgentDesk, router: Router) -> Blueprint:
    bp = Blueprint("conversation_commands", __name__)

    async def run(type: str, conversation_id: int, body: dict[str, Any] | None = None,
                  created: bool = False) -> Response:
        principal = current_principal()
        frame = {**(body or {}), "type": type, "conversation_id": conversation_id}
        result = await desk.execute(str(principal.user_id), str(principal.role), frame)
        return _answer(result, created)

    @bp.post("/api/v1/conversations/<int:conversation_id>/messages")
    @documented(request=schemas.SEND, response=schemas.COMMAND_RESULT, status=201)
    @requires(Permission.CONVERSATIONS_REPLY)
    async def send(conversation_id: int) -> Response:
        body = await read_json_object(_MAX_BODY)
        fields = {"content": body.get("content")}
        key = body.get("idempotency_key", request.headers.get("Idempotency-Key"))
        if key is not None:
            fields["idempotency_key"] = key
        return await run("send", conversation_id, fields, True)

    def simple(name: str, command: str, *, body: dict[str, Any] | None = None) -> None:
        # The same permission as the socket command it carries out.
        async def view(conversation_id: int) -> Response:
            payload = await read_json_object(_MAX_BODY) if body is not None else {}
            return await run(command, conversation_id, payload)

        view.__name__ = f"command_{name}"
        view.__doc__ = f"The {command.replace('_', ' ')} command, as on the agent socket."
        documented(request=body, response=schemas.COMMAND_RESULT)(view)
        guarded = requires(COMMAND_PERMISSIONS[command])(view)
        bp.post(f"/api/v1/conversations/<int:conversation_id>/{name}")(guarded)

    simple("accept", "accept")
    simple("decline", "decline")
    simple("assign", "assign", body=schemas.ASSIGN)
    simple("transfer", "transfer", body=schemas.TRANSFER)
    simple("resolve", "resolve")
    simple("notes", "note", body=schemas.NOTE)
    simple("labels", "label", body=schemas.LABELS)
    simple("priority", "priority", body=schemas.PRIORITY)
    simple("read", "mark_read")

    @bp.post("/api/v1/conversations/<int:conversation_id>/handoff")
    @documented(request=schemas.HANDOFF, response=schemas.COMMAND_RESULT)
    @requires(Permission.CONVERSATIONS_SUPERVISE)
    async def handoff(conversation_id: int) -> Response:
        body = await read_json_object(_MAX_BODY)
        team = body.get("team")
        if isinstance(team, bool) or not isinstance(team, (int, str)) or not str(team).isdigit():
            return _answer(_CommandResult(False, "team must be a team id", code="invalid"))
        skills = body.get("skills", [])
        priority = body.get("priority", 0)
        note = body.get("note", "")
        if (not isinstance(skills, list) or not all(isinstance(x, str) for x in skills)
                or isinstance(priority, bool) or not isinstance(priority, int)
                or not isinstance(note, str)):
            return _answer(_CommandResult(
                False, "skills must be a list of strings, priority an integer, note a string",
                code="invalid"))
        if not await desk.team_exists(str(team)):
            return _answer(_CommandResult(False, f"no team {team}", code="not_found"))
        key = await desk.conversation_key(conversation_id)
        if key is None:
            return _answer(_CommandResult(False, f"no conversation {conversation_id}",
                                          code="not_found"))
        principal = current_principal()
        result = await router.ask("conversation", key, HandOffConversation(
            str(team), priority, tuple(skills), note, by=str(principal.user_id)))
        return _answer(result)

    @bp.get("/api/v1/teams/<int:team_id>/queue")
    @documented(response=schemas.COMMAND_RESULT)
    @requires(Permission.QUEUES_READ)
    async def queue_stats(team_id: int) -> Response:
        principal = current_principal()
        result = await desk.execute(str(principal.user_id), str(principal.role),
                                    {"type": "queue_stats", "team": team_id})
        return _answer(result)

    return bp
