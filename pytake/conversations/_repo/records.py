"""What a ConversationActor writes and reads back of its own row: the ``conversations`` row
(owner, team, agent, status, labels, priority) and its ``conversation_events`` log, in one
group-committed write; the stored owner; a row id's actor address.

Each event's ``seq`` is allocated in SQL (the conversation's highest plus one, inside the
transaction), so a message handled again after a crash never collides with a number it had
already used.  An event with a ``key`` (a customer message's ``m<message id>``) is stored
once: the same key again inserts nothing, spends no ``seq`` and is not published, and the
write tells its caller which events were new (`RecordOutcome`).

Rows are updated in ``id`` order, as every writer of ``conversations`` does, so that two
transactions never wait on each other's rows in opposite orders (a deadlock).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ...contracts import conversation_address
from ...routing import MESSAGE_TYPES
from ...routing import ConversationEvent as RoutingEvent
from ...store import (
    Conversation,
    ConversationEvent,
    driver_connection,
    execute_returning,
    is_postgresql,
)

_events: sa.Table = ConversationEvent.__table__  # type: ignore[assignment]
_conversations: sa.Table = Conversation.__table__  # type: ignore[assignment]


@attrs.frozen
class ConversationRecord:
    conversation_id: int
    #: column → value for the ``conversations`` row (empty: leave it)
    updates: dict[str, Any] = attrs.field(factory=dict)
    events: tuple[RoutingEvent, ...] = ()


#: Per event of a record, in order: whether it was stored now (``False``: its key was
#: stored before, so it already happened).
RecordOutcome = tuple[bool, ...]


class _Record:
    name = "conversations.record"

    def apply_many(
        self, session: Session, params: Sequence[ConversationRecord]
    ) -> list[RecordOutcome]:
        self._update_rows(session, params)
        events = [
            (record.conversation_id, event.type, event.payload,
             datetime.fromtimestamp(event.at, UTC), event.key)
            for record in params
            for event in record.events
        ]
        if not events:
            return [() for _ in params]
        # Rows run in order inside the transaction, so each sees the seq before it.
        if is_postgresql(session):
            connection = driver_connection(session)
            with connection.cursor() as cursor:
                ids = execute_returning(cursor, _PG_INSERT_EVENT, [
                    (cid, cid, type, Jsonb(payload), at, key)
                    for cid, type, payload, at, key in events
                ])
            stored = [i is not None for i in ids]
        else:
            stored = [
                bool(getattr(session.execute(_SQLITE_INSERT_EVENT, {
                    "cid": cid, "type": type, "payload": payload, "at": at, "key": key,
                }), "rowcount", 1))
                for cid, type, payload, at, key in events
            ]
        flags = iter(stored)
        return [tuple(next(flags) for _ in record.events) for record in params]

    @staticmethod
    def _update_rows(session: Session, params: Sequence[ConversationRecord]) -> None:
        # In row id order (stable: a row's later record still wins), one executemany per run
        # of records of the same shape: pipelined on PostgreSQL, where a statement per
        # record made this the costliest write of a customer message.
        rows = sorted(
            ((record.conversation_id, record.updates) for record in params if record.updates),
            key=lambda pair: pair[0],
        )
        run: list[dict[str, Any]] = []
        shape: tuple[str, ...] = ()
        for row_id, updates in rows:
            columns = tuple(sorted(updates))
            if run and columns != shape:
                session.execute(_update_statement(shape), run)
                run = []
            shape = columns
            run.append({"row_id": row_id, **updates})
        if run:
            session.execute(_update_statement(shape), run)


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
_SQLITE_INSERT_EVENT = sqlite_insert(_events).values(
    conversation_id=sa.bindparam("cid"),
    seq=_NEXT_SEQ,
    type=sa.bindparam("type"),
    payload=sa.bindparam("payload", type_=_events.c.payload.type),
    at=sa.bindparam("at", type_=_events.c.at.type),
    effect_key=sa.bindparam("key"),
).on_conflict_do_nothing(index_elements=["conversation_id", "effect_key"])

# The same for PostgreSQL, as a constant statement psycopg prepares once per connection
# (see store._bulk).
_PG_INSERT_EVENT = (
    "INSERT INTO conversation_events (conversation_id, seq, type, payload, at, effect_key) "
    "VALUES (%s, (SELECT coalesce(max(seq), 0) + 1 FROM conversation_events "
    "WHERE conversation_id = %s), %s, %s, %s, %s) "
    "ON CONFLICT (conversation_id, effect_key) DO NOTHING RETURNING id"
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


def no_transition_after(session: Session, conversation_id: int, key: str) -> bool:
    e = _events.c
    seq = session.execute(
        sa.select(e.seq).where(e.conversation_id == conversation_id, e.effect_key == key)
    ).scalar()
    if seq is None:
        return True
    later = session.execute(
        sa.select(e.type, e.payload).where(e.conversation_id == conversation_id, e.seq > seq)
    )
    # A transition's payload says whom it moved the conversation from and to.
    return not any(
        row.type not in MESSAGE_TYPES and isinstance(row.payload, dict) and "to" in row.payload
        for row in later
    )


def stored_owner(session: Session, conversation_id: int) -> StoredOwner | None:
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


def conversation_key(session: Session, conversation_id: int) -> str | None:
    """The actor address of conversation row ``conversation_id`` (``None``: no such row)."""
    row = session.execute(
        sa.select(Conversation.business_phone_number_id, Conversation.customer_id).where(
            Conversation.id == conversation_id
        )
    ).one_or_none()
    return None if row is None else conversation_address(row[0], row[1])
