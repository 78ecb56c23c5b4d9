"""What a ConversationActor writes: the ``conversations`` row (owner, team, agent, status,
labels, priority) and its ``conversation_events`` log, in one group-committed write.

Each event's ``seq`` is allocated in SQL (the conversation's highest plus one, inside the
transaction), so a message handled again after a crash never collides with a number it had
already used.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from ..routing import ConversationEvent as RoutingEvent
from ..store import Conversation, ConversationEvent, Database, GroupCommitter
from ..store._bulk import driver_connection, execute_each

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
        # One executemany per statement shape for the whole batch (pipelined on PostgreSQL):
        # a statement per record made this the costliest write of a customer message.
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for record in params:
            if record.updates:
                columns = tuple(sorted(record.updates))
                updates.setdefault(columns, []).append(
                    {"row_id": record.conversation_id, **record.updates}
                )
        for columns, rows in updates.items():
            session.execute(_update_statement(columns), rows)
        events = [
            {
                "cid": record.conversation_id,
                "type": event.type,
                "payload": event.payload,
                "at": datetime.fromtimestamp(event.at, UTC),
            }
            for record in params
            for event in record.events
        ]
        if not events:
            return [None] * len(params)
        # Rows run in order inside the transaction, so each sees the seq before it.
        if session.get_bind().dialect.name == "postgresql":
            connection = driver_connection(session)
            with connection.cursor() as cursor:
                execute_each(cursor, _PG_INSERT_EVENT, [
                    (e["cid"], e["cid"], e["type"], Jsonb(e["payload"]), e["at"]) for e in events
                ])
        else:
            session.execute(_INSERT_EVENT, events)
        return [None] * len(params)


@functools.lru_cache(maxsize=64)
def _update_statement(columns: tuple[str, ...]) -> sa.Update:
    return (
        sa.update(_conversations)
        .where(_conversations.c.id == sa.bindparam("row_id"))
        .values({c: sa.bindparam(c) for c in columns})
    )


_NEXT_SEQ = (
    sa.select(sa.func.coalesce(sa.func.max(_events.c.seq), 0) + 1)
    .where(_events.c.conversation_id == sa.bindparam("cid"))
    .scalar_subquery()
)
_INSERT_EVENT = sa.insert(_events).values(
    conversation_id=sa.bindparam("cid"),
    seq=_NEXT_SEQ,
    type=sa.bindparam("type"),
    payload=sa.bindparam("payload", type_=_events.c.payload.type),
    at=sa.bindparam("at", type_=_events.c.at.type),
)

# The same, as a constant statement psycopg prepares once per connection (see store._bulk).
_PG_INSERT_EVENT = (
    "INSERT INTO conversation_events (conversation_id, seq, type, payload, at) VALUES "
    "(%s, (SELECT coalesce(max(seq), 0) + 1 FROM conversation_events "
    "WHERE conversation_id = %s), %s, %s, %s)"
)

RECORD = _Record()


@attrs.frozen
class StoredOwner:
    """What the ``conversations`` row says about who owns it."""

    owner: str
    team: str | None
    agent: str | None
    priority: int
    labels: tuple[str, ...]


def _owner(session: Session, conversation_id: int) -> StoredOwner | None:
    c = _conversations.c
    row = session.execute(
        sa.select(c.owner_state, c.team_id, c.assigned_agent_id, c.priority, c.labels)
        .where(c.id == conversation_id)
    ).first()
    if row is None:
        return None
    return StoredOwner(
        owner=str(getattr(row.owner_state, "value", row.owner_state)),
        team=None if row.team_id is None else str(row.team_id),
        agent=None if row.assigned_agent_id is None else str(row.assigned_agent_id),
        priority=int(row.priority or 0),
        labels=tuple(str(x) for x in (row.labels or ())),
    )


class ConversationLog:
    """Writes records; once committed, each event is also offered to ``on_event`` (the
    outbound webhooks' feed) as ``("conversation.<type>", data)``."""

    def __init__(
        self,
        committer: GroupCommitter,
        db: Database | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self._committer = committer
        self._db = db
        self._on_event = on_event
        # Published as each record commits, in commit order (not when its writer looks).
        committer.on_commit(RECORD.name, self._committed_records)

    async def stored_owner(self, conversation_id: int) -> StoredOwner | None:
        if self._db is None:
            return None
        return await self._db.read(_owner, conversation_id)

    async def record(self, record: ConversationRecord) -> None:
        await (await self.record_soon(record))()

    async def record_soon(self, record: ConversationRecord) -> Callable[[], Awaitable[None]]:
        """Hand ``record`` to the writer; return what to await for its commit.  Writes after
        it on the same writer (a bot's answer) commit with it or after it, never before."""
        if not (record.updates or record.events):
            return nothing_to_wait_for
        write = await self._committer.submit_soon(RECORD, record)
        return write.outcome

    def _committed_records(self, writes: Sequence[Any]) -> None:
        for write in writes:
            self._published(write.params)

    def _published(self, record: ConversationRecord) -> None:
        if self._on_event is not None:
            for event in record.events:
                self._on_event(f"conversation.{event.type}", {
                    "conversation_id": record.conversation_id,
                    "at": event.at,
                    **event.payload,
                })


def utc(at: float | None) -> datetime | None:
    return None if at is None else datetime.fromtimestamp(at, UTC)


async def nothing_to_wait_for() -> None:
    """What `ConversationLog.record_soon` gives when nothing was handed to the writer."""
