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
with the team's id (the engine reloads that team's queue).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from quart import Blueprint, Response, jsonify, request
from quart.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, Conflict, NotFound

from pytake.routing import AfterHours, BusinessHours, InvalidBusinessHours
from pytake.store import (
    AuditLog,
    Conversation,
    ConversationStatus,
    Database,
    RoutingStrategy,
    Team,
    TeamMember,
    User,
    UserRole,
    utcnow,
)
from pytake.web._auth_routes import current_principal, require_role
from pytake.web._rest_support import iso, read_json_object, str_arg

__all__ = ["DEFAULT_SETTINGS", "create_teams_blueprint"]

log = logging.getLogger("pytake.web.teams")

#: Largest team or member body accepted (business hours with a year of exceptions fit).
MAX_BODY_BYTES: Final = 64 * 1024
MAX_NAME: Final = 120
MAX_SKILLS: Final = 50
MAX_SKILL_LENGTH: Final = 64
MAX_CONCURRENT: Final = 100
DEFAULT_MAX_CONCURRENT: Final = 5
#: WhatsApp's limit on a text message body.
MAX_AFTER_HOURS_MESSAGE: Final = 4096
#: An offer may be reserved for an agent at most a day.
MAX_RESERVATION_TIMEOUT: Final = 86400.0

#: The queue policy a team has for every setting it does not set (QueuePolicy's defaults).
DEFAULT_SETTINGS: Final[Mapping[str, Any]] = {
    "reservation_timeout": 30.0,
    "sticky_hours": None,
    "aging_per_minute": 0.0,
    "offline_policy": "requeue",
    "after_hours": {"message": "", "action": "wait", "redirect_to": None},
}
_TEAM_FIELDS: Final = frozenset(
    {"name", "timezone", "routing_strategy", "business_hours", "settings"}
)
_HOURS_KEYS: Final = ("weekly", "holidays", "exceptions")
_STRATEGIES: Final = tuple(s.value for s in RoutingStrategy)
_OFFLINE_POLICIES: Final = ("requeue", "keep")
_MEMBER_ROLES: Final = (UserRole.AGENT, UserRole.SUPERVISOR)


# --- validation (pure) -----------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _unknown(where: str, given: Mapping[str, Any], known: Any) -> None:
    extra = sorted(set(given) - set(known))
    if extra:
        raise BadRequest(f"{where}unknown field {extra[0]!r} (known: {', '.join(sorted(known))})")


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("name must be a non-empty string")
    name = value.strip()
    if len(name) > MAX_NAME:
        raise BadRequest(f"name must have at most {MAX_NAME} characters")
    if any(ord(c) < 32 for c in name):
        raise BadRequest("name must not contain control characters")
    return name


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise BadRequest("timezone must be an IANA time zone name such as 'America/Sao_Paulo'")
    try:
        BusinessHours(timezone=value)
    except InvalidBusinessHours as exc:
        raise BadRequest(str(exc)) from None
    return value


def _strategy(value: Any) -> str:
    if value not in _STRATEGIES:
        raise BadRequest(f"routing_strategy must be one of {', '.join(_STRATEGIES)}; got {value!r}")
    return str(value)


def _ranges_shape(where: str, value: Any) -> None:
    if not isinstance(value, list):
        raise BadRequest(f"{where}: expected a list of [\"HH:MM\", \"HH:MM\"] ranges")
    for pair in value:
        pair_ok = isinstance(pair, list) and len(pair) == 2
        if not pair_ok or not all(isinstance(t, str) for t in pair):
            raise BadRequest(f"{where}: {pair!r} is not a [\"HH:MM\", \"HH:MM\"] range")


def _business_hours(value: Any, timezone: str) -> dict[str, Any]:
    """``value`` checked by `BusinessHours` and normalized; ``{}`` or ``None``: none set.

    The shape does not depend on the zone, so any valid ``timezone`` will do for checking."""
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("business_hours must be an object with weekly, holidays, exceptions")
    _unknown("business_hours: ", value, _HOURS_KEYS)
    weekly = value.get("weekly", {})
    holidays = value.get("holidays", [])
    exceptions = value.get("exceptions", {})
    if not isinstance(weekly, dict):
        raise BadRequest("business_hours.weekly must map weekdays (mon..sun) to ranges")
    for day, ranges in weekly.items():
        _ranges_shape(f"business_hours.weekly[{day}]", ranges)
    if not isinstance(holidays, list) or not all(isinstance(d, str) for d in holidays):
        raise BadRequest("business_hours.holidays must be a list of dates (YYYY-MM-DD)")
    if not isinstance(exceptions, dict):
        raise BadRequest("business_hours.exceptions must map dates (YYYY-MM-DD) to ranges")
    for day, ranges in exceptions.items():
        _ranges_shape(f"business_hours.exceptions[{day}]", ranges)
    try:
        hours = BusinessHours(
            timezone=timezone, weekly=weekly, holidays=holidays, exceptions=exceptions
        )
    except InvalidBusinessHours as exc:
        raise BadRequest(f"business_hours: {exc}") from None
    return {
        "weekly": {day: [list(r) for r in ranges] for day, ranges in hours.weekly.items()},
        "holidays": list(hours.holidays),
        "exceptions": {day: [list(r) for r in rs] for day, rs in hours.exceptions.items()},
    }


def _after_hours(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest("settings.after_hours must be an object with message, action, redirect_to")
    _unknown("settings.after_hours: ", value, ("message", "action", "redirect_to"))
    message = value.get("message", "")
    action = value.get("action", "wait")
    redirect_to = value.get("redirect_to")
    if not isinstance(message, str) or len(message) > MAX_AFTER_HOURS_MESSAGE:
        raise BadRequest(
            f"settings.after_hours.message must be a string of at most "
            f"{MAX_AFTER_HOURS_MESSAGE} characters"
        )
    if action not in ("wait", "redirect"):
        raise BadRequest(f"settings.after_hours.action must be wait or redirect; got {action!r}")
    if redirect_to is not None and (type(redirect_to) is not int or redirect_to < 1):
        raise BadRequest(
            f"settings.after_hours.redirect_to must be a team id or null; got {redirect_to!r}"
        )
    try:
        AfterHours(
            message=message,
            action=action,
            redirect_to=None if redirect_to is None else str(redirect_to),
        )
    except InvalidBusinessHours as exc:
        raise BadRequest(f"settings.{exc}") from None
    return {"message": message, "action": action, "redirect_to": redirect_to}


def _settings(value: Any) -> dict[str, Any]:
    """The settings ``value`` gives, checked; only the keys it gives."""
    if not isinstance(value, dict):
        raise BadRequest("settings must be an object")
    _unknown("settings: ", value, DEFAULT_SETTINGS)
    out: dict[str, Any] = {}
    if "reservation_timeout" in value:
        v = value["reservation_timeout"]
        if not _is_number(v) or not 0 < v <= MAX_RESERVATION_TIMEOUT:
            raise BadRequest(
                "settings.reservation_timeout must be a number of seconds greater than 0 and "
                f"at most {MAX_RESERVATION_TIMEOUT:g}; got {v!r}"
            )
        out["reservation_timeout"] = float(v)
    if "sticky_hours" in value:
        v = value["sticky_hours"]
        if v is not None and (not _is_number(v) or v < 0):
            raise BadRequest(f"settings.sticky_hours must be null or a number >= 0; got {v!r}")
        out["sticky_hours"] = None if v is None else float(v)
    if "aging_per_minute" in value:
        v = value["aging_per_minute"]
        if not _is_number(v) or v < 0:
            raise BadRequest(f"settings.aging_per_minute must be a number >= 0; got {v!r}")
        out["aging_per_minute"] = float(v)
    if "offline_policy" in value:
        v = value["offline_policy"]
        if v not in _OFFLINE_POLICIES:
            raise BadRequest(f"settings.offline_policy must be requeue or keep; got {v!r}")
        out["offline_policy"] = v
    if "after_hours" in value:
        out["after_hours"] = _after_hours(value["after_hours"])
    return out


def _team_fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The team fields ``body`` gives, checked and normalized."""
    _unknown("", body, _TEAM_FIELDS)
    if creating and "name" not in body:
        raise BadRequest("name must be a non-empty string")
    fields: dict[str, Any] = {}
    if "name" in body:
        fields["name"] = _name(body["name"])
    if "timezone" in body:
        fields["timezone"] = _timezone(body["timezone"])
    if "routing_strategy" in body:
        fields["routing_strategy"] = _strategy(body["routing_strategy"])
    if "business_hours" in body:
        zone = fields.get("timezone", "UTC")
        fields["business_hours"] = _business_hours(body["business_hours"], zone)
    if "settings" in body:
        fields["settings"] = _settings(body["settings"])
    return fields


def _member_fields(body: dict[str, Any]) -> dict[str, Any]:
    _unknown("", body, ("skills", "max_concurrent"))
    fields: dict[str, Any] = {}
    if "skills" in body:
        skills = body["skills"]
        if not isinstance(skills, list) or not all(
            isinstance(s, str) and s.strip() and len(s.strip()) <= MAX_SKILL_LENGTH
            for s in skills
        ):
            raise BadRequest(
                f"skills must be a list of non-empty strings of at most {MAX_SKILL_LENGTH} "
                "characters"
            )
        unique = sorted({s.strip() for s in skills})
        if len(unique) > MAX_SKILLS:
            raise BadRequest(f"skills must hold at most {MAX_SKILLS} skills")
        fields["skills"] = unique
    if "max_concurrent" in body:
        value = body["max_concurrent"]
        if type(value) is not int or not 1 <= value <= MAX_CONCURRENT:
            raise BadRequest(
                f"max_concurrent must be an integer from 1 to {MAX_CONCURRENT}; got {value!r}"
            )
        fields["max_concurrent"] = value
    return fields


# --- database work (worker threads) ----------------------------------------------------------


def _audit(
    session: Session,
    actor: int,
    action: str,
    team_id: int,
    details: dict[str, Any],
    ip: str | None,
) -> None:
    session.add(
        AuditLog(
            actor_user_id=actor,
            action=action,
            target_type="team",
            target_id=str(team_id),
            details=details,
            ip=ip[:45] if ip else None,
            at=utcnow(),
        )
    )


def _effective_settings(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    settings = {**DEFAULT_SETTINGS, **(stored or {})}
    after = settings.get("after_hours")
    if isinstance(after, dict):
        settings["after_hours"] = {**DEFAULT_SETTINGS["after_hours"], **after}
    return settings


def _team_json(team: Team, member_count: int) -> dict[str, Any]:
    return {
        "id": team.id,
        "name": team.name,
        "timezone": team.timezone,
        "routing_strategy": str(team.routing_strategy),
        "business_hours": team.business_hours or {},
        "settings": _effective_settings(team.settings),
        "member_count": member_count,
        "created_at": iso(team.created_at),
        "updated_at": iso(team.updated_at),
    }


def _member_count(session: Session, team_id: int) -> int:
    count = session.scalar(
        sa.select(sa.func.count()).select_from(TeamMember).where(TeamMember.team_id == team_id)
    )
    return int(count or 0)


def _team_or_404(session: Session, team_id: int, *, lock: bool = False) -> Team:
    query = sa.select(Team).where(Team.id == team_id)
    if lock:
        query = query.with_for_update()
    team = session.scalars(query).one_or_none()
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team


def _check_name_free(session: Session, name: str, team_id: int | None) -> None:
    query = sa.select(Team.id).where(sa.func.lower(Team.name) == name.lower())
    if team_id is not None:
        query = query.where(Team.id != team_id)
    if session.scalar(query) is not None:
        raise Conflict(f"a team named {name!r} already exists")


def _check_redirect(session: Session, settings: Mapping[str, Any], team_id: int | None) -> None:
    after = settings.get("after_hours")
    target = after.get("redirect_to") if isinstance(after, dict) else None
    if target is None:
        return
    if target == team_id:
        raise BadRequest("settings.after_hours.redirect_to must be another team, not this one")
    if session.get(Team, target) is None:
        raise BadRequest(f"settings.after_hours.redirect_to: team {target} not found")


def _list_teams(session: Session) -> list[dict[str, Any]]:
    counts = dict(
        session.execute(
            sa.select(TeamMember.team_id, sa.func.count()).group_by(TeamMember.team_id)
        ).all()
    )
    teams = session.scalars(sa.select(Team).order_by(Team.name, Team.id))
    return [_team_json(t, counts.get(t.id, 0)) for t in teams]


def _get_team(session: Session, team_id: int) -> dict[str, Any]:
    team = _team_or_404(session, team_id)
    return _team_json(team, _member_count(session, team_id))


def _create_team(
    session: Session, fields: dict[str, Any], actor: int, ip: str | None
) -> dict[str, Any]:
    _check_name_free(session, fields["name"], None)
    _check_redirect(session, fields.get("settings", {}), None)
    team = Team(
        name=fields["name"],
        timezone=fields.get("timezone", "UTC"),
        routing_strategy=fields.get("routing_strategy", RoutingStrategy.ROUND_ROBIN.value),
        business_hours=fields.get("business_hours", {}),
        settings=fields.get("settings", {}),
    )
    session.add(team)
    session.flush()
    _audit(session, actor, "team.create", team.id, dict(fields), ip)
    session.flush()
    session.refresh(team)
    return _team_json(team, 0)


def _update_team(
    session: Session, team_id: int, fields: dict[str, Any], actor: int, ip: str | None
) -> tuple[dict[str, Any], bool]:
    team = _team_or_404(session, team_id, lock=True)
    if "name" in fields:
        _check_name_free(session, fields["name"], team_id)
    if "settings" in fields:
        # Given keys replace stored ones; the rest (set by others, or earlier) stay.
        fields = {**fields, "settings": {**(team.settings or {}), **fields["settings"]}}
        _check_redirect(session, fields["settings"], team_id)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field, value in fields.items():
        old = getattr(team, field)
        old = str(old) if field == "routing_strategy" else old
        if old != value:
            before[field], after[field] = old, value
            setattr(team, field, value)
    if after:
        _audit(session, actor, "team.update", team_id, {"before": before, "after": after}, ip)
        session.flush()
        session.refresh(team)
    return _team_json(team, _member_count(session, team_id)), bool(after)


def _delete_team(session: Session, team_id: int, actor: int, ip: str | None) -> None:
    team = _team_or_404(session, team_id, lock=True)
    open_count = session.scalar(
        sa.select(sa.func.count())
        .select_from(Conversation)
        .where(Conversation.team_id == team_id, Conversation.status == ConversationStatus.OPEN)
    )
    if open_count:
        raise Conflict(
            f"team {team_id} has {open_count} open conversation(s); "
            "transfer or resolve them before deleting the team"
        )
    for other in session.scalars(sa.select(Team).where(Team.id != team_id)):
        after = (other.settings or {}).get("after_hours")
        if isinstance(after, dict) and after.get("redirect_to") == team_id:
            raise Conflict(
                f"team {other.id} ({other.name}) redirects to team {team_id} after hours; "
                "change that first"
            )
    details = {"name": team.name, "members": _member_count(session, team_id)}
    session.execute(sa.delete(Team).where(Team.id == team_id))
    _audit(session, actor, "team.delete", team_id, details, ip)


def _member_json(member: TeamMember, user: User) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "name": user.name,
        "email": user.email,
        "role": str(user.role),
        "active": user.active,
        "skills": list(member.skills or []),
        "max_concurrent": member.max_concurrent,
        "joined_at": iso(member.created_at),
    }


def _list_members(session: Session, team_id: int) -> list[dict[str, Any]]:
    _team_or_404(session, team_id)
    rows = session.execute(
        sa.select(TeamMember, User)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id == team_id)
        .order_by(User.name, User.id)
    ).all()
    return [_member_json(m, u) for m, u in rows]


def _put_member(
    session: Session,
    team_id: int,
    user_id: int,
    fields: dict[str, Any],
    actor: int,
    ip: str | None,
) -> tuple[dict[str, Any], bool, bool]:
    """Add or update; returns (member, created, changed)."""
    _team_or_404(session, team_id, lock=True)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    member = session.get(TeamMember, (team_id, user_id))
    created = member is None
    if member is None:
        if not user.active:
            raise BadRequest(f"user {user_id} is deactivated and cannot join a team")
        member = TeamMember(
            team_id=team_id,
            user_id=user_id,
            skills=fields.get("skills", []),
            max_concurrent=fields.get("max_concurrent", DEFAULT_MAX_CONCURRENT),
        )
        session.add(member)
        changes = {"skills": member.skills, "max_concurrent": member.max_concurrent}
        action = "team.member_add"
    else:
        changes = {k: v for k, v in fields.items() if getattr(member, k) != v}
        for key, value in changes.items():
            setattr(member, key, value)
        action = "team.member_update"
    if changes:
        _audit(session, actor, action, team_id, {"user_id": user_id, **changes}, ip)
    session.flush()
    session.refresh(member)
    return _member_json(member, user), created, bool(changes)


def _delete_member(
    session: Session, team_id: int, user_id: int, actor: int, ip: str | None
) -> None:
    _team_or_404(session, team_id, lock=True)
    member = session.get(TeamMember, (team_id, user_id))
    if member is None:
        raise NotFound(f"user {user_id} is not a member of team {team_id}")
    session.delete(member)
    _audit(session, actor, "team.member_remove", team_id, {"user_id": user_id}, ip)


def _list_agents(session: Session, include_inactive: bool) -> list[dict[str, Any]]:
    query = sa.select(User).where(User.role.in_(_MEMBER_ROLES)).order_by(User.name, User.id)
    if not include_inactive:
        query = query.where(User.active.is_(True))
    users = list(session.scalars(query))
    teams: dict[int, list[dict[str, Any]]] = {u.id: [] for u in users}
    if users:
        rows = session.execute(
            sa.select(TeamMember, Team.name)
            .join(Team, Team.id == TeamMember.team_id)
            .where(TeamMember.user_id.in_(list(teams)))
            .order_by(Team.name, Team.id)
        ).all()
        for member, team_name in rows:
            teams[member.user_id].append(
                {
                    "team_id": member.team_id,
                    "team_name": team_name,
                    "skills": list(member.skills or []),
                    "max_concurrent": member.max_concurrent,
                }
            )
    return [
        {
            "id": u.id,
            "name": u.name,
            "email": u.email,
            "role": str(u.role),
            "active": u.active,
            "teams": teams[u.id],
        }
        for u in users
    ]


# --- the blueprint -------------------------------------------------------------------------


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
    @require_role()
    async def list_teams() -> Response:
        return jsonify({"teams": await db.run(_list_teams, readonly=True)})

    @bp.post("/api/v1/teams")
    @require_role(UserRole.ADMIN)
    async def create_team() -> ResponseReturnValue:
        fields = _team_fields(await read_json_object(MAX_BODY_BYTES), creating=True)
        try:
            team = await db.run(_create_team, fields, actor(), request.remote_addr)
        except sa_exc.IntegrityError:  # a concurrent create took the name
            raise Conflict(f"a team named {fields['name']!r} already exists") from None
        await changed(team["id"])
        return jsonify(team), 201, {"Location": f"/api/v1/teams/{team['id']}"}

    @bp.get("/api/v1/teams/<int:team_id>")
    @require_role()
    async def get_team(team_id: int) -> Response:
        return jsonify(await db.run(_get_team, team_id, readonly=True))

    @bp.patch("/api/v1/teams/<int:team_id>")
    @require_role(UserRole.ADMIN)
    async def update_team(team_id: int) -> Response:
        fields = _team_fields(await read_json_object(MAX_BODY_BYTES), creating=False)
        try:
            team, was_changed = await db.run(
                _update_team, team_id, fields, actor(), request.remote_addr
            )
        except sa_exc.IntegrityError:
            raise Conflict(f"a team named {fields.get('name')!r} already exists") from None
        if was_changed:
            await changed(team_id)
        return jsonify(team)

    @bp.delete("/api/v1/teams/<int:team_id>")
    @require_role(UserRole.ADMIN)
    async def delete_team(team_id: int) -> ResponseReturnValue:
        await db.run(_delete_team, team_id, actor(), request.remote_addr)
        await changed(team_id)
        return "", 204

    @bp.get("/api/v1/teams/<int:team_id>/members")
    @require_role()
    async def list_members(team_id: int) -> Response:
        return jsonify({"members": await db.run(_list_members, team_id, readonly=True)})

    @bp.put("/api/v1/teams/<int:team_id>/members/<int:user_id>")
    @require_role(UserRole.ADMIN, UserRole.SUPERVISOR)
    async def put_member(team_id: int, user_id: int) -> ResponseReturnValue:
        fields = _member_fields(await read_json_object(MAX_BODY_BYTES))
        try:
            member, created, was_changed = await db.run(
                _put_member, team_id, user_id, fields, actor(), request.remote_addr
            )
        except sa_exc.IntegrityError:  # the team or user was deleted meanwhile
            raise Conflict(f"team {team_id} or user {user_id} changed meanwhile; retry") from None
        if was_changed:
            await changed(team_id)
        return jsonify(member), 201 if created else 200

    @bp.delete("/api/v1/teams/<int:team_id>/members/<int:user_id>")
    @require_role(UserRole.ADMIN, UserRole.SUPERVISOR)
    async def delete_member(team_id: int, user_id: int) -> ResponseReturnValue:
        await db.run(_delete_member, team_id, user_id, actor(), request.remote_addr)
        await changed(team_id)
        return "", 204

    @bp.get("/api/v1/agents")
    @require_role(UserRole.ADMIN, UserRole.SUPERVISOR)
    async def list_agents() -> Response:
        include_inactive = str_arg("include_inactive", frozenset({"true", "false"})) == "true"
        agents = await db.run(_list_agents, include_inactive, readonly=True)
        for agent in agents:
            agent["presence"] = presence(agent["id"]) if presence is not None else "offline"
        return jsonify({"agents": agents})

    return bp
