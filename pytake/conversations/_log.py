"""What a ConversationActor writes: the ``conversations`` row (owner, team, agent, status,
labels, priority) and its ``conversation_events`` log, in one group-committed write.

Each event's ``seq`` is allocated in SQL (the conversation's highest plus one, inside the
transaction), so a message handled again after a crash never collides with a number it had
already used.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..routing import ConversationEvent as RoutingEvent
from ..store import Conversation, ConversationEvent, GroupCommitter

_events: sa.Table = ConversationEvent.__table__  # type: ignore[assignment]
_conversations: sa.Table = Conversation.__table__  # type: ignore[assignment]


@attrs.frozen
class ConversationRecord:
    conversation_id: int
    #: column → value for the ``conversations`` row (empty: leave it)
    updates: dict[str, Any] = attrs.field(factory=dict)
    events: tuple[RoutingEvent, ...] = ()


class _Record:
    name = "conversations.record"

    def apply_many(self, session: Session, params: Sequence[ConversationRecord]) -> list[None]:
        for record in params:
            if record.updates:
                session.execute(
                    sa.update(_conversations)
                    .where(_conversations.c.id == record.conversation_id)
                    .values(**record.updates)
                )
            for event in record.events:
                next_seq = (
                    sa.select(sa.func.coalesce(sa.func.max(_events.c.seq), 0) + 1)
                    .where(_events.c.conversation_id == record.conversation_id)
                    .scalar_subquery()
                )
                session.execute(
                    sa.insert(_events).values(
                        conversation_id=record.conversation_id,
                        seq=next_seq,
                        type=event.type,
                        payload=event.payload,
                        at=datetime.fromtimestamp(event.at, UTC),
                    )
                )
        return [None] * len(params)


RECORD = _Record()


class ConversationLog:
    def __init__(self, committer: GroupCommitter) -> None:
        self._committer = committer

    async def record(self, record: ConversationRecord) -> None:
        if record.updates or record.events:
            await self._committer.submit(RECORD, record)


def utc(at: float | None) -> datetime | None:
    return None if at is None else datetime.fromtimestamp(at, UTC)
