"""Teams, their members and the agents who may join them, as stored: what the team
administration reads and writes.

`TeamRepository` runs each operation in one transaction (`Database.run`). A change writes its
``audit_logs`` row in the same transaction, so a change is never stored without its audit
row, nor the other way round. A refusal raises a `TeamError`; a unique or foreign key
violation at commit (a concurrent request won) comes out as `TeamConflict` too.

Records hold the ORM rows they were read from; `Database.run` does not expire them, so their
attributes stay readable after the transaction.
"""

from __future__ import annotations

from typing import Any, Final

import attrs
import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.orm import Session

from ...store import (
    Actor,
    Conversation,
    ConversationStatus,
    Database,
    RoutingStrategy,
    Team,
    TeamMember,
    User,
    UserRole,
    record_audit,
)
from .._rules import (
    DEFAULT_MAX_CONCURRENT,
    InvalidTeam,
    TeamConflict,
    TeamNotFound,
)

__all__ = ["AgentRecord", "MemberRecord", "TeamRecord", "TeamRepository"]

#: Roles that may be team members (and are listed as agents).
_MEMBER_ROLES: Final = (UserRole.AGENT, UserRole.SUPERVISOR)


@attrs.frozen
class TeamRecord:
    team: Team
    member_count: int


@attrs.frozen
class MemberRecord:
    member: TeamMember
    user: User


@attrs.frozen
class AgentRecord:
    user: User
    #: The user's memberships with each team's name, ordered by team name.
    memberships: list[tuple[TeamMember, str]]


def _audit(
    session: Session,
    actor: int,
    action: str,
    team_id: int,
    details: dict[str, Any],
    ip: str | None,
) -> None:
    record_audit(session, action, Actor(actor, ip), target_type="team", target_id=team_id,
                 details=details)


def _member_count(session: Session, team_id: int) -> int:
    count = session.scalar(
        sa.select(sa.func.count()).select_from(TeamMember).where(TeamMember.team_id == team_id)
    )
    return int(count or 0)


def _team(session: Session, team_id: int, *, lock: bool = False) -> Team:
    query = sa.select(Team).where(Team.id == team_id)
    if lock:
        query = query.with_for_update()
    team = session.scalars(query).one_or_none()
    if team is None:
        raise TeamNotFound(f"team {team_id} not found")
    return team


def _check_name_free(session: Session, name: str, team_id: int | None) -> None:
    query = sa.select(Team.id).where(sa.func.lower(Team.name) == name.lower())
    if team_id is not None:
        query = query.where(Team.id != team_id)
    if session.scalar(query) is not None:
        raise TeamConflict(f"a team named {name!r} already exists")


def _check_redirect(session: Session, settings: dict[str, Any], team_id: int | None) -> None:
    after = settings.get("after_hours")
    target = after.get("redirect_to") if isinstance(after, dict) else None
    if target is None:
        return
    if target == team_id:
        raise InvalidTeam("settings.after_hours.redirect_to must be another team, not this one")
    if session.get(Team, target) is None:
        raise InvalidTeam(f"settings.after_hours.redirect_to: team {target} not found")


def _list_teams(session: Session) -> list[TeamRecord]:
    counts = dict(
        session.execute(
            sa.select(TeamMember.team_id, sa.func.count()).group_by(TeamMember.team_id)
        ).all()
    )
    teams = session.scalars(sa.select(Team).order_by(Team.name, Team.id))
    return [TeamRecord(t, counts.get(t.id, 0)) for t in teams]


def _get_team(session: Session, team_id: int) -> TeamRecord:
    return TeamRecord(_team(session, team_id), _member_count(session, team_id))


def _create_team(
    session: Session, fields: dict[str, Any], actor: int, ip: str | None
) -> TeamRecord:
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
    return TeamRecord(team, 0)


def _update_team(
    session: Session, team_id: int, fields: dict[str, Any], actor: int, ip: str | None
) -> tuple[TeamRecord, bool]:
    team = _team(session, team_id, lock=True)
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
    return TeamRecord(team, _member_count(session, team_id)), bool(after)


def _delete_team(session: Session, team_id: int, actor: int, ip: str | None) -> None:
    team = _team(session, team_id, lock=True)
    open_count = session.scalar(
        sa.select(sa.func.count())
        .select_from(Conversation)
        .where(Conversation.team_id == team_id, Conversation.status == ConversationStatus.OPEN)
    )
    if open_count:
        raise TeamConflict(
            f"team {team_id} has {open_count} open conversation(s); "
            "transfer or resolve them before deleting the team"
        )
    for other in session.scalars(sa.select(Team).where(Team.id != team_id)):
        after = (other.settings or {}).get("after_hours")
        if isinstance(after, dict) and after.get("redirect_to") == team_id:
            raise TeamConflict(
                f"team {other.id} ({other.name}) redirects to team {team_id} after hours; "
                "change that first"
            )
    details = {"name": team.name, "members": _member_count(session, team_id)}
    session.execute(sa.delete(Team).where(Team.id == team_id))
    _audit(session, actor, "team.delete", team_id, details, ip)


def _list_members(session: Session, team_id: int) -> list[MemberRecord]:
    _team(session, team_id)
    rows = session.execute(
        sa.select(TeamMember, User)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id == team_id)
        .order_by(User.name, User.id)
    ).all()
    return [MemberRecord(m, u) for m, u in rows]


def _put_member(
    session: Session,
    team_id: int,
    user_id: int,
    fields: dict[str, Any],
    actor: int,
    ip: str | None,
) -> tuple[MemberRecord, bool, bool]:
    _team(session, team_id, lock=True)
    user = session.get(User, user_id)
    if user is None:
        raise TeamNotFound(f"user {user_id} not found")
    member = session.get(TeamMember, (team_id, user_id))
    created = member is None
    if member is None:
        if not user.active:
            raise InvalidTeam(f"user {user_id} is deactivated and cannot join a team")
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
    return MemberRecord(member, user), created, bool(changes)


def _remove_member(
    session: Session, team_id: int, user_id: int, actor: int, ip: str | None
) -> None:
    _team(session, team_id, lock=True)
    member = session.get(TeamMember, (team_id, user_id))
    if member is None:
        raise TeamNotFound(f"user {user_id} is not a member of team {team_id}")
    session.delete(member)
    _audit(session, actor, "team.member_remove", team_id, {"user_id": user_id}, ip)


def _list_agents(session: Session, include_inactive: bool) -> list[AgentRecord]:
    query = sa.select(User).where(User.role.in_(_MEMBER_ROLES)).order_by(User.name, User.id)
    if not include_inactive:
        query = query.where(User.active.is_(True))
    users = list(session.scalars(query))
    memberships: dict[int, list[tuple[TeamMember, str]]] = {u.id: [] for u in users}
    if users:
        rows = session.execute(
            sa.select(TeamMember, Team.name)
            .join(Team, Team.id == TeamMember.team_id)
            .where(TeamMember.user_id.in_(list(memberships)))
            .order_by(Team.name, Team.id)
        ).all()
        for member, team_name in rows:
            memberships[member.user_id].append((member, team_name))
    return [AgentRecord(u, memberships[u.id]) for u in users]


class TeamRepository:
    """Teams, members and agents in ``db``. ``fields`` are what `team_fields` and
    `member_fields` returned; ``actor`` (a user id) and ``ip`` go to the audit row."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def list_teams(self) -> list[TeamRecord]:
        """Every team, by name."""
        return await self._db.run(_list_teams, readonly=True)

    async def get_team(self, team_id: int) -> TeamRecord:
        return await self._db.run(_get_team, team_id, readonly=True)

    async def create_team(
        self, fields: dict[str, Any], actor: int, ip: str | None
    ) -> TeamRecord:
        try:
            return await self._db.run(_create_team, fields, actor, ip)
        except sa_exc.IntegrityError:  # a concurrent create took the name
            raise TeamConflict(f"a team named {fields['name']!r} already exists") from None

    async def update_team(
        self, team_id: int, fields: dict[str, Any], actor: int, ip: str | None
    ) -> tuple[TeamRecord, bool]:
        """The team after the change, and whether anything changed."""
        try:
            return await self._db.run(_update_team, team_id, fields, actor, ip)
        except sa_exc.IntegrityError:  # a concurrent update took the name
            raise TeamConflict(f"a team named {fields.get('name')!r} already exists") from None

    async def delete_team(self, team_id: int, actor: int, ip: str | None) -> None:
        """Refused while the team has open conversations or another team redirects to it."""
        await self._db.run(_delete_team, team_id, actor, ip)

    async def list_members(self, team_id: int) -> list[MemberRecord]:
        """The team's members, by name."""
        return await self._db.run(_list_members, team_id, readonly=True)

    async def put_member(
        self, team_id: int, user_id: int, fields: dict[str, Any], actor: int, ip: str | None
    ) -> tuple[MemberRecord, bool, bool]:
        """Add the user to the team or update the membership: (member, created, changed)."""
        try:
            return await self._db.run(_put_member, team_id, user_id, fields, actor, ip)
        except sa_exc.IntegrityError:  # the team or user was deleted meanwhile
            raise TeamConflict(
                f"team {team_id} or user {user_id} changed meanwhile; retry"
            ) from None

    async def remove_member(self, team_id: int, user_id: int, actor: int, ip: str | None) -> None:
        await self._db.run(_remove_member, team_id, user_id, actor, ip)

    async def list_agents(self, include_inactive: bool) -> list[AgentRecord]:
        """Agents and supervisors (active ones only unless ``include_inactive``), by name."""
        return await self._db.run(_list_agents, include_inactive, readonly=True)
