"""Team and agent administration over REST.

Routes (bodies and answers are JSON; ``docs/rest-api.md`` has the shapes):

- ``GET    /api/v1/teams``                          any signed-in user
- ``POST   /api/v1/teams``                          admin
- ``GET    /api/v1/teams/<id>``                     any signed-in user
- ``PATCH  /api/v1/teams/<id>``                     admin
- ``DELETE /api/v1/teams/<id>``                     admin
- ``GET    /api/v1/teams/<id>/members``             any signed-in user
- ``PUT    /api/v1/teams/<id>/members/<user_id>``   admin or supervisor
- ``DELETE /api/v1/teams/<id>/members/<user_id>``   admin or supervisor
- ``GET    /api/v1/agents``                         admin or supervisor

What is stored, so that the engine can build a team's queue from the row as it is:

- ``teams.business_hours`` is ``{}`` (no business hours set) or
  ``{"weekly": {...}, "holidays": [...], "exceptions": {...}}``, normalized by
  `pytake.routing.BusinessHours`: ``BusinessHours(timezone=team.timezone, **business_hours)``
  rebuilds it.
- ``teams.settings`` holds the queue policy under `QueuePolicy`'s names
  (``reservation_timeout``, ``sticky_hours``, ``aging_per_minute``, ``offline_policy``) and
  ``after_hours`` (``{"message", "action", "redirect_to"}``, ``redirect_to`` a team id).
  Keys the API does not set are kept as they are.

Every change writes an ``audit_logs`` row in its transaction, then calls ``on_team_changed``
with the team's id (the engine reloads that team's queue). The rules and the storage are
`pytake.queues`' (`team_fields`, `member_fields`, `TeamRepository`); this module reads the
request, answers their refusals (`TeamError`) as 422, 404 or 409, and renders the records as JSON.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from quart import Blueprint, Response, jsonify
from quart.typing import ResponseReturnValue

from pytake.queues import (
    AgentRecord,
    InvalidTeam,
    MemberRecord,
    TeamConflict,
    TeamNotFound,
    TeamRecord,
    TeamRepository,
    effective_settings,
    member_fields,
    team_fields,
)
from pytake.store import Database, TeamMember, User
from pytake.web import _schemas as schemas
from pytake.web._auth_routes import current_principal
from pytake.web._errors import json_error, problem
from pytake.web._openapi import PAGE_QUERY, documented
from pytake.web._permissions import Permission, requires
from pytake.web._ratelimit import client_address
from pytake.web._rest_support import iso, keyed_page, read_json_object, str_arg

__all__ = ["create_teams_blueprint"]

log = logging.getLogger("pytake.web.teams")

#: Largest team or member body accepted (business hours with a year of exceptions fit).
MAX_BODY_BYTES: Final = 64 * 1024


def _team_json(record: TeamRecord) -> dict[str, Any]:
    team = record.team
    return {
        "id": team.id,
        "name": team.name,
        "timezone": team.timezone,
        "routing_strategy": str(team.routing_strategy),
        "business_hours": team.business_hours or {},
        "settings": effective_settings(team.settings),
        "member_count": record.member_count,
        "created_at": iso(team.created_at),
        "updated_at": iso(team.updated_at),
    }


def _person_json(user: User) -> dict[str, Any]:
    return {"name": user.name, "email": user.email, "role": str(user.role), "active": user.active}


def _capacity_json(member: TeamMember) -> dict[str, Any]:
    return {"skills": list(member.skills or []), "max_concurrent": member.max_concurrent}


def _member_json(record: MemberRecord) -> dict[str, Any]:
    member, user = record.member, record.user
    return {
        "user_id": user.id,
        **_person_json(user),
        **_capacity_json(member),
        "joined_at": iso(member.created_at),
    }


def _agent_json(record: AgentRecord, presence: str) -> dict[str, Any]:
    user = record.user
    return {
        "id": user.id,
        **_person_json(user),
        "teams": [
            {"team_id": member.team_id, "team_name": team_name, **_capacity_json(member)}
            for member, team_name in record.memberships
        ],
        "presence": presence,
    }


def create_teams_blueprint(
    db: Database,
    on_team_changed: Callable[[int], Awaitable[None]] | None = None,
    presence: Callable[[int], str] | None = None,
) -> Blueprint:
    """The team and agent administration routes over ``db``. Needs the auth blueprint.

    ``on_team_changed(team_id)`` is awaited after every committed change of a team or of its
    members (a failure is logged; the change stays). ``presence(user_id)`` fills the agents'
    ``presence`` (``"offline"`` without it); it runs on the event loop.
    """
    bp = Blueprint("teams_api", __name__)
    teams = TeamRepository(db)

    @bp.errorhandler(InvalidTeam)
    async def invalid(exc: InvalidTeam) -> Response:
        # A body the route could read but whose fields are refused (RFC 9110's 422); the
        # reason starts with the field ("max_concurrent must be ...", "settings.x: ...").
        reason = str(exc)
        field = re.match(r"[\w.]*", reason)
        return problem(422, reason, code="invalid", field=field.group(0) if field else "")

    @bp.errorhandler(TeamNotFound)
    async def not_found(exc: TeamNotFound) -> Response:
        return json_error(404, str(exc))

    @bp.errorhandler(TeamConflict)
    async def conflict(exc: TeamConflict) -> Response:
        return json_error(409, str(exc))

    async def changed(team_id: int) -> None:
        if on_team_changed is None:
            return
        try:
            await on_team_changed(team_id)
        except Exception:
            # The change is committed; the client must not retry it. Operators see this.
            log.exception("on_team_changed(%s) failed after a committed change", team_id)

    def actor() -> int:
        return current_principal().user_id

    @bp.get("/api/v1/teams")
    @documented(query=PAGE_QUERY, response=schemas.TEAMS)
    @requires(Permission.TEAMS_READ)
    async def list_teams() -> Response:
        """Teams by name, a page at a time."""
        page, next_cursor = keyed_page(await teams.list_teams(),
                                       lambda t: (t.team.name, t.team.id))
        return jsonify({"teams": [_team_json(t) for t in page], "next_cursor": next_cursor})

    @bp.post("/api/v1/teams")
    @documented(request=schemas.TEAM_CREATE, response=schemas.TEAM, status=201)
    @requires(Permission.TEAMS_MANAGE)
    async def create_team() -> ResponseReturnValue:
        fields = team_fields(await read_json_object(MAX_BODY_BYTES), creating=True)
        team = _team_json(await teams.create_team(fields, actor(), client_address()))
        await changed(team["id"])
        return jsonify(team), 201, {"Location": f"/api/v1/teams/{team['id']}"}

    @bp.get("/api/v1/teams/<int:team_id>")
    @documented(response=schemas.TEAM)
    @requires(Permission.TEAMS_READ)
    async def get_team(team_id: int) -> Response:
        return jsonify(_team_json(await teams.get_team(team_id)))

    @bp.patch("/api/v1/teams/<int:team_id>")
    @documented(request=schemas.TEAM_UPDATE, response=schemas.TEAM)
    @requires(Permission.TEAMS_MANAGE)
    async def update_team(team_id: int) -> Response:
        fields = team_fields(await read_json_object(MAX_BODY_BYTES), creating=False)
        team, was_changed = await teams.update_team(team_id, fields, actor(), client_address())
        if was_changed:
            await changed(team_id)
        return jsonify(_team_json(team))

    @bp.delete("/api/v1/teams/<int:team_id>")
    @documented(status=204)
    @requires(Permission.TEAMS_MANAGE)
    async def delete_team(team_id: int) -> ResponseReturnValue:
        await teams.delete_team(team_id, actor(), client_address())
        await changed(team_id)
        return "", 204

    @bp.get("/api/v1/teams/<int:team_id>/members")
    @documented(query=PAGE_QUERY, response=schemas.MEMBERS)
    @requires(Permission.TEAMS_READ)
    async def list_members(team_id: int) -> Response:
        """A team's members by name, a page at a time."""
        members, next_cursor = keyed_page(await teams.list_members(team_id),
                                          lambda m: (m.user.name, m.user.id))
        return jsonify({"members": [_member_json(m) for m in members],
                        "next_cursor": next_cursor})

    @bp.put("/api/v1/teams/<int:team_id>/members/<int:user_id>")
    @documented(request=schemas.MEMBER_FIELDS, response=schemas.MEMBER, also=(201,))
    @requires(Permission.MEMBERS_MANAGE)
    async def put_member(team_id: int, user_id: int) -> ResponseReturnValue:
        fields = member_fields(await read_json_object(MAX_BODY_BYTES))
        member, created, was_changed = await teams.put_member(
            team_id, user_id, fields, actor(), client_address()
        )
        if was_changed:
            await changed(team_id)
        return jsonify(_member_json(member)), 201 if created else 200

    @bp.delete("/api/v1/teams/<int:team_id>/members/<int:user_id>")
    @documented(status=204)
    @requires(Permission.MEMBERS_MANAGE)
    async def delete_member(team_id: int, user_id: int) -> ResponseReturnValue:
        await teams.remove_member(team_id, user_id, actor(), client_address())
        await changed(team_id)
        return "", 204

    @bp.get("/api/v1/agents")
    @documented(query=schemas.AGENTS_QUERY, response=schemas.AGENTS)
    @requires(Permission.AGENTS_READ)
    async def list_agents() -> Response:
        """Agents and supervisors by name with their teams and presence, a page at a time."""
        include_inactive = str_arg("include_inactive", frozenset({"true", "false"})) == "true"
        agents, next_cursor = keyed_page(await teams.list_agents(include_inactive),
                                         lambda a: (a.user.name, a.user.id))
        return jsonify({"agents": [
            _agent_json(a, presence(a.user.id) if presence is not None else "offline")
            for a in agents
        ], "next_cursor": next_cursor})

    return bp
