"""The per-agent event log (table ``agent_events``): appended through the group committer,
replayed by seq for a reconnecting client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..store import AgentEvent, Database, GroupCommitter
from ..store._bulk import insert_rows

_table: sa.Table = AgentEvent.__table__  # type: ignore[assignment]


@attrs.frozen
class StoredEvent:
    agent_id: int
    seq: int
    type: str
    data: dict[str, Any]
    at: float

    def frame(self) -> dict[str, Any]:
        """The event as the agent WebSocket sends it."""
        return {"seq": self.seq, "type": self.type, "data": self.data, "at": self.at}


class _Append:
    name = "agent_events.append"

    def apply_many(self, session: Session, params: Sequence[StoredEvent]) -> list[None]:
        insert_rows(session, _table, [
            {
                "agent_id": e.agent_id,
                "seq": e.seq,
                "type": e.type,
                "payload": e.data,
                "at": datetime.fromtimestamp(e.at, UTC),
            }
            for e in params
        ], json_columns=frozenset({"payload"}))
        return [None] * len(params)


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

    async def append(self, event: StoredEvent) -> None:
        """Return once the event is durable (raises ``StorageUnavailable`` otherwise)."""
        await self._committer.submit(_APPEND, event)

    async def last_seq(self, agent_id: int) -> int:
        return await self._db.run(_max_seq, agent_id)

    async def after(self, agent_id: int, seq: int, limit: int = 500) -> list[StoredEvent]:
        """Up to ``limit`` events with a seq above ``seq``, in order."""
        return await self._db.run(_after, agent_id, seq, limit)
