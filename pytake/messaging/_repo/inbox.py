"""The inbox's statements: webhook bodies stored, read back and claimed, and what processing
one writes (customers, conversations, messages, their statuses, dead letters).

`pytake.messaging._inbox` decides what to write and when; these run in its transactions.
The statements run per message are built once, at import: constructing and caching a Core
statement per message costs more CPU than the database spends running it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, SessionTransaction

from ...store import (
    Conversation,
    Customer,
    DeadLetterRecord,
    InboxEntry,
    JSONType,
    Message,
    UTCDateTime,
    insert_returning_ids,
)

__all__ = [
    "claim",
    "claim_many",
    "conversation_owner",
    "dead_letter",
    "find_customer",
    "insert_conversation",
    "insert_customer",
    "insert_message",
    "mark_dead",
    "message_payload",
    "message_state",
    "open_conversation",
    "open_window",
    "pending",
    "savepoint",
    "set_payload",
    "store_bodies",
    "update_customer",
    "update_message",
]

_inbox: sa.Table = InboxEntry.__table__  # type: ignore[assignment]
_customers: sa.Table = Customer.__table__  # type: ignore[assignment]
_conversations: sa.Table = Conversation.__table__  # type: ignore[assignment]
_messages: sa.Table = Message.__table__  # type: ignore[assignment]
_dead: sa.Table = DeadLetterRecord.__table__  # type: ignore[assignment]

_INSERT_MESSAGE: Final = sa.text(
    "INSERT INTO messages (conversation_id, whatsapp_message_id, direction, type, payload, "
    "status, whatsapp_timestamp, created_at) VALUES (:conversation_id, :wamid, 'in', :type, "
    ":payload, 'received', :ts, CURRENT_TIMESTAMP) "
    "ON CONFLICT (whatsapp_message_id) DO NOTHING RETURNING id"
).bindparams(sa.bindparam("payload", type_=JSONType), sa.bindparam("ts", type_=UTCDateTime()))
_OPEN_WINDOW: Final = sa.text(
    "UPDATE conversations SET last_customer_message_at = :ts, updated_at = CURRENT_TIMESTAMP "
    "WHERE id = :id AND (last_customer_message_at IS NULL OR last_customer_message_at < :ts)"
).bindparams(sa.bindparam("ts", type_=UTCDateTime()))
_FIND_CUSTOMER: Final = sa.text(
    "SELECT id, wa_id, bsuid, name FROM customers WHERE business_phone_number_id = :p "
    "AND (wa_id = :w OR bsuid = :b) ORDER BY id LIMIT 1"
)
_FIND_OPEN_CONVERSATION: Final = sa.text(
    "SELECT id FROM conversations WHERE customer_id = :c AND status = 'open' LIMIT 1"
)
# PostgreSQL's fast path claims a whole batch in one statement, on the driver's connection
# that the set-based message path (``_inbox_bulk``) writes through too.
_PG_CLAIM_MANY: Final = (
    "UPDATE inbox SET state = 'processed', processed_at = now(), "
    "attempts = attempts + 1 WHERE id = ANY(%s) AND state = 'pending' RETURNING id"
)


def savepoint(session: Session) -> SessionTransaction:
    """A savepoint to enter with ``with``: an error inside undoes only what ran inside, so
    one bad batch or element does not lose the rest of the transaction."""
    return session.begin_nested()


# -- the inbox table ------------------------------------------------------------------------


def store_bodies(session: Session, params: Sequence[tuple[bytes, str]]) -> list[int]:
    """Store ``(body, signature)`` webhook bodies ``pending``; their ids, in order."""
    rows = [{"body": body, "signature": signature} for body, signature in params]
    return insert_returning_ids(session, _inbox, rows)


def pending(session: Session, limit: int) -> list[tuple[int, bytes]]:
    """The oldest ``limit`` pending rows, by id: the order their bodies must be processed in."""
    rows = session.execute(
        sa.select(_inbox.c.id, _inbox.c.body)
        .where(_inbox.c.state == "pending")
        .order_by(_inbox.c.id)
        .limit(limit)
    )
    return [(int(r.id), bytes(r.body)) for r in rows]


def claim(session: Session, inbox_id: int) -> bool:
    """Mark the row processed if it is still pending; ``False`` if another processor (another
    node, a concurrent call) got to it first."""
    claimed = session.execute(
        sa.update(_inbox)
        .where(_inbox.c.id == inbox_id, _inbox.c.state == "pending")
        .values(state="processed", processed_at=sa.func.now(), attempts=_inbox.c.attempts + 1)
    )
    return bool(getattr(claimed, "rowcount", 1))


def claim_many(connection: Any, inbox_ids: list[int]) -> set[int]:
    """`claim` for a whole batch on the psycopg ``connection`` of the transaction
    (PostgreSQL); the ids claimed."""
    with connection.cursor() as cur:
        cur.execute(_PG_CLAIM_MANY, (inbox_ids,))
        return {int(r[0]) for r in cur.fetchall()}


def mark_dead(session: Session, inbox_id: int, error: str) -> None:
    """The row is done for good: a retry could never process it."""
    session.execute(
        sa.update(_inbox)
        .where(_inbox.c.id == inbox_id)
        .values(state="dead", error=error, processed_at=sa.func.now())
    )


def dead_letter(
    session: Session, kind: str, inbox_id: int, message_type: str, message: str, error: str
) -> None:
    """Set ``message`` aside for operators, under its inbox row's id."""
    session.execute(
        sa.insert(_dead).values(
            kind=kind, actor_id=str(inbox_id), message_type=message_type, message=message,
            error=error, traceback="", attempts=1,
        )
    )


# -- customers and conversations ------------------------------------------------------------


def find_customer(
    session: Session, phone_number_id: str, wa_id: str | None, bsuid: str | None
) -> sa.Row[Any, Any, Any, Any] | None:
    """The number's customer with this wa_id or this BSUID (``id``, ``wa_id``, ``bsuid``,
    ``name``): either may be the one a message comes with."""
    return session.execute(
        _FIND_CUSTOMER, {"p": phone_number_id, "w": wa_id, "b": bsuid}
    ).first()


def insert_customer(
    session: Session, phone_number_id: str, wa_id: str | None, bsuid: str | None,
    name: str | None,
) -> int:
    c = _customers.c
    result = session.execute(
        sa.insert(_customers)
        .values(
            business_phone_number_id=phone_number_id,
            wa_id=wa_id,
            bsuid=bsuid,
            phone=wa_id,
            name=name,
        )
        .returning(c.id)
    )
    return int(result.scalar_one())


def update_customer(session: Session, customer_id: int, values: Mapping[str, Any]) -> None:
    session.execute(
        sa.update(_customers).where(_customers.c.id == customer_id).values(**values)
    )


def open_conversation(session: Session, customer_id: int) -> int | None:
    """The customer's open conversation, if there is one."""
    found = session.execute(_FIND_OPEN_CONVERSATION, {"c": customer_id}).scalar()
    return None if found is None else int(found)


def insert_conversation(session: Session, customer_id: int, phone_number_id: str) -> int:
    """A new open conversation, which the flow owns first."""
    c = _conversations.c
    result = session.execute(
        sa.insert(_conversations)
        .values(
            customer_id=customer_id,
            business_phone_number_id=phone_number_id,
            status="open",
            owner_state="flow",
        )
        .returning(c.id)
    )
    return int(result.scalar_one())


def conversation_owner(session: Session, conversation_id: int) -> sa.Row[Any, Any] | None:
    """The conversation's ``customer_id`` and ``business_phone_number_id``: its actor's
    address."""
    return session.execute(
        sa.select(_conversations.c.customer_id, _conversations.c.business_phone_number_id)
        .where(_conversations.c.id == conversation_id)
    ).first()


def open_window(session: Session, conversation_id: int, at: datetime) -> None:
    """The customer wrote at ``at``: the 24-hour window runs from there, unless a later
    message already opened it (bodies may arrive out of order)."""
    session.execute(_OPEN_WINDOW, {"id": conversation_id, "ts": at})


# -- messages -------------------------------------------------------------------------------


def insert_message(
    session: Session, conversation_id: int, wamid: str, message_type: str,
    payload: Any, at: datetime,
) -> int | None:
    """Store a customer's message; its id, ``None`` if its wamid is stored already (a
    redelivery)."""
    stmt = _INSERT_MESSAGE.bindparams(
        conversation_id=conversation_id,
        wamid=wamid,
        type=message_type,
        payload=payload,
        ts=at,
    )
    message_id: int | None = session.execute(stmt).scalar()
    return message_id


def message_payload(session: Session, wamid: str) -> sa.Row[Any, Any] | None:
    """The ``id`` and ``payload`` of the message stored as ``wamid``."""
    return session.execute(
        sa.select(_messages.c.id, _messages.c.payload).where(
            _messages.c.whatsapp_message_id == wamid
        )
    ).first()


def set_payload(session: Session, message_id: int, payload: Mapping[str, Any]) -> None:
    session.execute(
        sa.update(_messages).where(_messages.c.id == message_id).values(payload=payload)
    )


def message_state(session: Session, wamid: str) -> sa.Row[Any, Any, Any] | None:
    """The ``id``, ``status`` and ``conversation_id`` of the message stored as ``wamid``."""
    m = _messages.c
    return session.execute(
        sa.select(m.id, m.status, m.conversation_id).where(m.whatsapp_message_id == wamid)
    ).first()


def update_message(session: Session, message_id: int, values: Mapping[str, Any]) -> None:
    session.execute(sa.update(_messages).where(_messages.c.id == message_id).values(**values))
