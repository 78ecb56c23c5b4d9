"""What agents keep in the database: the per-agent event log (table ``agent_events``,
appended through the group committer, replayed by seq for a reconnecting client) and each
agent's profile (teams, skills per team, capacity)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..store import (
    AgentEvent,
    Database,
    GroupCommitter,
    TeamMember,
    User,
    insert_once,
    insert_rows,
)

_table: sa.Table = AgentEvent.__table__  # type: ignore[assignment]


@attrs.frozen
class StoredEvent:
    agent_id: int
    seq: int
    type: str
    data: dict[str, Any]
    at: float
    #: stored once per agent (see `Publish.key`)
    key: str | None = None

    def frame(self) -> dict[str, Any]:
        """The event as the agent WebSocket sends it."""
        return {"seq": self.seq, "type": self.type, "data": self.data, "at": self.at}


class _Append:
    """Store events; per event, whether it was stored (``False``: its key was, before)."""

    name = "agent_events.append"

    def apply_many(self, session: Session, params: Sequence[StoredEvent]) -> list[bool]:
        if all(e.key is None for e in params):
            insert_rows(session, _table, [_row(e) for e in params], json_columns=_JSON)
            return [True] * len(params)
        # A keyed event whose key is stored was published before: nothing is inserted, so
        # its seq is not spent (its actor gives the next event that number).
        return insert_once(session, _table, [_row(e) for e in params],
                           unique=("agent_id", "effect_key"), json_columns=_JSON)


def _row(e: StoredEvent) -> dict[str, Any]:
    return {
        "agent_id": e.agent_id,
        "seq": e.seq,
        "type": e.type,
        "payload": e.data,
        "at": datetime.fromtimestamp(e.at, UTC),
        "effect_key": e.key,
    }


_JSON = frozenset({"payload"})


_APPEND = _Append()


def _max_seq(session: Session, agent_id: int) -> int:
    value = session.execute(
        sa.select(sa.func.max(_table.c.seq)).where(_table.c.agent_id == agent_id)
    ).scalar()
    return int(value or 0)


def _after(session: Session, agent_id: int, seq: int, limit: int) -> list[StoredEvent]:
    rows = session.execute(
        sa.select(_table.c.seq, _table.c.type, _table.c.payload, _table.c.at)
        .where(_table.c.agent_id == agent_id, _table.c.seq > seq)
        .order_by(_table.c.seq)
        .limit(limit)
    ).all()
    return [
        StoredEvent(agent_id, r.seq, r.type, dict(r.payload or {}), r.at.timestamp())
        for r in rows
    ]


class AgentEventLog:
    def __init__(self, db: Database, committer: GroupCommitter) -> None:
        self._db = db
        self._committer = committer

    async def append(self, event: StoredEvent) -> bool:
        """Store ``event``; return once it is durable (raises ``StorageUnavailable``
        otherwise): ``True``, or ``False`` if its key was stored before (nothing new)."""
        stored: bool = await self._committer.submit(_APPEND, event)
        return stored

    async def last_seq(self, agent_id: int) -> int:
        return await self._db.run(_max_seq, agent_id)

    async def after(self, agent_id: int, seq: int, limit: int = 500) -> list[StoredEvent]:
        """Up to ``limit`` events with a seq above ``seq``, in order."""
        return await self._db.run(_after, agent_id, seq, limit)



@attrs.frozen
class AgentProfile:
    exists: bool
    name: str = ""
    #: team id (as text) → the agent's skills in that team
    teams: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    #: the most conversations at once, across teams (the largest of its memberships)
    capacity: int = 1


def _profile(session: Session, agent_id: int) -> AgentProfile:
    user = session.get(User, agent_id)
    if user is None or not user.active:
        return AgentProfile(exists=False)
    rows = session.execute(
        sa.select(TeamMember.team_id, TeamMember.skills, TeamMember.max_concurrent).where(
            TeamMember.user_id == agent_id
        )
    ).all()
    teams = {str(r.team_id): tuple(str(s) for s in (r.skills or ())) for r in rows}
    capacity = max((r.max_concurrent for r in rows), default=1)
    return AgentProfile(exists=True, name=user.name, teams=teams, capacity=max(1, capacity))


class AgentDirectory:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def profile(self, agent_id: int) -> AgentProfile:
        return await self._db.run(_profile, agent_id, readonly=True)
