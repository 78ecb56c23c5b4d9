"""The outbox's statements: requests stored with their message rows, due rows claimed, and
the result of each send stored, on the outbox row and on its message row.

`pytake.messaging._outbox` decides what to claim, send, retry or give up on; these run in
its transactions (a group committer's batch, or one `Database.run`).  Every time compared
or stored is the caller's (its sender's clock), never the database's ``now()``.  A row is
finished only ``WHERE state = 'sending'``, so a late answer never overwrites a
reconciliation by a status webhook.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...store import (
    DeliveryStatus,
    Message,
    MessageDirection,
    OutboxEntry,
    OutboxState,
    driver_connection,
    insert_returning_ids,
    is_postgresql,
)

if TYPE_CHECKING:
    from .._outbox import OutboundRequest

__all__ = [
    "Claimed",
    "busy_recipients",
    "claim_due",
    "due_now",
    "fail_stale",
    "finish_failed",
    "finish_read",
    "finish_retry",
    "finish_sent",
    "finish_sent_many",
    "insert_messages",
    "insert_outbox",
    "mark_reconciled",
    "pending_summary",
    "stored_keys",
]

_outbox: sa.Table = OutboxEntry.__table__  # type: ignore[assignment]
_messages: sa.Table = Message.__table__  # type: ignore[assignment]

#: A claimed row: (id, message id, business number, recipient, payload, attempts).
Claimed = tuple[int, int | None, str, str, dict[str, Any], int]

#: Characters of a reason that ``last_error`` keeps at most.
_MAX_ERROR: Final = 2000

# Constant statements psycopg prepares once per connection (see store._bulk): these run with
# every enqueue.
_PG_STORED_KEYS: Final = (
    "SELECT idempotency_key, id, message_id FROM outbox WHERE idempotency_key = ANY(%s)"
)
_PG_BUSY_RECIPIENTS: Final = (
    "SELECT DISTINCT business_phone_number_id, recipient FROM outbox "
    "WHERE state IN ('pending', 'sending') AND recipient = ANY(%s)"
)

# Two statements for a whole batch of sends (two per row took most of the sender's share of
# the database work).  A read receipt has no wamid and no message row.
_FINISH_OUTBOX_SQL: Final = """
UPDATE outbox AS o
SET state = 'sent', whatsapp_message_id = coalesce(v.wamid, o.whatsapp_message_id),
    last_error = NULL, updated_at = v.at
FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[]) AS v(id, wamid, at)
WHERE o.id = v.id AND o.state = 'sending'
RETURNING o.id, o.message_id, v.wamid, v.at
"""
_FINISH_MESSAGES_SQL: Final = """
UPDATE messages AS m
SET whatsapp_message_id = v.wamid,
    status = CASE WHEN m.status IN ('pending', 'failed') THEN 'sent' ELSE m.status END,
    sent_at = coalesce(m.sent_at, v.at),
    failed_at = NULL, error_code = NULL, error_details = NULL
FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[]) AS v(id, wamid, at)
WHERE m.id = v.id
"""


# --- enqueueing --------------------------------------------------------------------------------


def stored_keys(session: Session, keys: list[str]) -> list[tuple[str, int, int | None]]:
    """(key, outbox id, message id) of the rows stored under ``keys``."""
    if is_postgresql(session):
        with driver_connection(session).cursor() as cursor:
            cursor.execute(_PG_STORED_KEYS, (keys,), prepare=True)
            rows: Any = cursor.fetchall()
    else:
        rows = session.execute(
            sa.select(_outbox.c.idempotency_key, _outbox.c.id, _outbox.c.message_id)
            .where(_outbox.c.idempotency_key.in_(keys))
        )
    return [(str(k), int(o), m) for k, o, m in rows]


def busy_recipients(session: Session, recipients: list[str]) -> set[tuple[str, str]]:
    """(number, recipient) pairs among ``recipients`` with a row waiting or being sent."""
    if is_postgresql(session):
        with driver_connection(session).cursor() as cursor:
            cursor.execute(_PG_BUSY_RECIPIENTS, (recipients,), prepare=True)
            rows: Any = cursor.fetchall()
    else:
        rows = session.execute(
            sa.select(_outbox.c.business_phone_number_id, _outbox.c.recipient)
            .where(_outbox.c.state.in_([OutboxState.PENDING, OutboxState.SENDING]),
                   _outbox.c.recipient.in_(recipients))
            .distinct()
        )
    return {(str(number), str(to)) for number, to in rows}


def insert_messages(session: Session, requests: Sequence[OutboundRequest]) -> list[int]:
    """The ``pending`` outbound message rows of ``requests`` (all with a conversation), in
    one statement; their ids, in order."""
    return insert_returning_ids(session, _messages, [
        {
            "conversation_id": r.conversation_id,
            "direction": MessageDirection.OUTBOUND.value,
            "type": r.message_type,
            "payload": r.body.get(r.message_type, {}),
            "sent_by_user_id": r.sent_by_user_id,
            "status": DeliveryStatus.PENDING.value,
        }
        for r in requests
    ], json_columns=frozenset({"payload"}))


def insert_outbox(
    session: Session,
    requests: Sequence[OutboundRequest],
    message_ids: Sequence[int | None],
    claims: Sequence[bool],
    wall: datetime,
) -> list[int]:
    """The outbox rows of ``requests`` in one statement, each with its message row and
    stored claimed (``sending``, attempt 1) where ``claims`` says; their ids, in order.
    ``wall`` is their time where a request has none."""
    return insert_returning_ids(session, _outbox, [
        {
            "message_id": mid,
            "business_phone_number_id": r.phone_number_id,
            "recipient": r.to,
            "payload": r.body,
            "state": (OutboxState.SENDING if claim else OutboxState.PENDING).value,
            "attempts": 1 if claim else 0,
            "next_attempt_at": r.at or wall,
            # Set here rather than by the database's now(): the stale sweep compares it with
            # the sender's clock.
            "updated_at": r.at or wall,
            "idempotency_key": r.key,
        }
        for r, mid, claim in zip(requests, message_ids, claims, strict=True)
    ], json_columns=frozenset({"payload"}))


# --- claiming ----------------------------------------------------------------------------------


def _not_of(exclude_numbers: Sequence[str]) -> list[sa.ColumnElement[bool]]:
    if not exclude_numbers:
        return []
    return [_outbox.c.business_phone_number_id.not_in(list(exclude_numbers))]


def claim_due(
    session: Session, now: datetime, limit: int, exclude_numbers: Sequence[str]
) -> list[Claimed]:
    """Claim (``sending``, one attempt more) up to ``limit`` rows due by ``now``, of numbers
    not in ``exclude_numbers``, that no older row to the same recipient is still waiting for
    (a recipient's messages go out in order); by id."""
    o = _outbox
    older = _outbox.alias("older")
    blocked = (
        sa.select(older.c.id)
        .where(
            older.c.recipient == o.c.recipient,
            older.c.business_phone_number_id == o.c.business_phone_number_id,
            older.c.id < o.c.id,
            older.c.state.in_([OutboxState.PENDING, OutboxState.SENDING]),
        )
        .exists()
    )
    due = [o.c.state == OutboxState.PENDING, o.c.next_attempt_at <= now,
           *_not_of(exclude_numbers)]
    # SKIP LOCKED lets several senders claim side by side on PostgreSQL; SQLite has no row
    # locks (its writers take turns) and SQLAlchemy renders nothing there.
    select = (sa.select(o.c.id).where(*due, ~blocked).order_by(o.c.id).limit(limit)
              .with_for_update(skip_locked=True, of=o))
    ids = list(session.execute(select).scalars())
    if not ids:
        return []
    result = session.execute(
        sa.update(o)
        .where(o.c.id.in_(ids))
        .values(state=OutboxState.SENDING, attempts=o.c.attempts + 1, updated_at=now)
        .returning(
            o.c.id, o.c.message_id, o.c.business_phone_number_id, o.c.recipient,
            o.c.payload, o.c.attempts,
        )
    )
    # RETURNING promises no order.
    return sorted(
        ((r.id, r.message_id, r.business_phone_number_id, r.recipient, dict(r.payload),
          r.attempts) for r in result),
        key=lambda r: r[0],
    )


def pending_summary(
    session: Session, now: datetime, exclude_numbers: Sequence[str]
) -> tuple[datetime | None, int]:
    """When the next future retry of a ``pending`` row is due, and how many ``pending`` rows
    of numbers not in ``exclude_numbers`` are due by ``now``, in one statement."""
    o = _outbox
    due_now = [o.c.next_attempt_at <= now, *_not_of(exclude_numbers)]
    next_due, waiting = session.execute(
        sa.select(
            sa.func.min(sa.case((o.c.next_attempt_at > now, o.c.next_attempt_at))),
            sa.func.count(sa.case((sa.and_(*due_now), 1))),
        ).where(o.c.state == OutboxState.PENDING)
    ).one()
    return next_due, int(waiting)


def due_now(session: Session, numbers: Sequence[str], now: datetime) -> None:
    """Make the ``pending`` rows of ``numbers`` waiting for a later retry due at ``now``."""
    session.execute(
        sa.update(_outbox)
        .where(_outbox.c.business_phone_number_id.in_(list(numbers)),
               _outbox.c.state == OutboxState.PENDING, _outbox.c.next_attempt_at > now)
        .values(next_attempt_at=now)
    )


# --- finishing ---------------------------------------------------------------------------------


def _mark_sent(
    session: Session, wamid: str, now: datetime, *where: sa.ColumnElement[bool]
) -> bool:
    """Mark the outbox row ``where`` selects sent as ``wamid``, and its message with it;
    whether there was such a row."""
    done = session.execute(
        sa.update(_outbox)
        .where(*where)
        .values(state=OutboxState.SENT, whatsapp_message_id=wamid, last_error=None,
                updated_at=now)
        .returning(_outbox.c.message_id)
    ).first()
    if done is None:
        return False
    if done.message_id is not None:
        _message_sent(session, done.message_id, wamid, now)
    return True


def _message_sent(session: Session, message_id: int, wamid: str, now: datetime) -> None:
    # A status webhook may have moved the message past ``sent`` already: keep that status.
    session.execute(
        sa.update(_messages)
        .where(_messages.c.id == message_id)
        .values(
            whatsapp_message_id=wamid,
            status=sa.case(
                (_messages.c.status.in_([DeliveryStatus.PENDING, DeliveryStatus.FAILED]),
                 DeliveryStatus.SENT),
                else_=_messages.c.status,
            ),
            sent_at=sa.func.coalesce(_messages.c.sent_at, now),
            failed_at=None,
            error_code=None,
            error_details=None,
        )
    )


def finish_sent(session: Session, row_id: int, wamid: str, now: datetime) -> bool:
    """The Cloud API accepted row ``row_id`` as ``wamid``; whether it was still ``sending``."""
    return _mark_sent(session, wamid, now, _outbox.c.id == row_id,
                      _outbox.c.state == OutboxState.SENDING)


def finish_sent_many(
    session: Session, params: Sequence[tuple[int, str | None, datetime]]
) -> list[bool]:
    """`finish_sent` and `finish_read` for a batch of ``(row id, wamid or None, time)``, in
    two statements (PostgreSQL); per row, whether it was still ``sending``."""
    with driver_connection(session).cursor() as cursor:
        cursor.execute(_FINISH_OUTBOX_SQL, (
            [p[0] for p in params], [p[1] for p in params], [p[2] for p in params],
        ))
        finished = cursor.fetchall()
        sent = [(message_id, wamid, at) for _, message_id, wamid, at in finished
                if message_id is not None and wamid is not None]
        if sent:
            cursor.execute(_FINISH_MESSAGES_SQL, (
                [m for m, _, _ in sent], [w for _, w, _ in sent], [a for _, _, a in sent],
            ))
    done = {row[0] for row in finished}
    return [p[0] in done for p in params]


def finish_read(session: Session, row_id: int, now: datetime) -> bool:
    """A read receipt (no wamid, no message row) went out; whether it was still
    ``sending``."""
    done = session.execute(
        sa.update(_outbox)
        .where(_outbox.c.id == row_id, _outbox.c.state == OutboxState.SENDING)
        .values(state=OutboxState.SENT, last_error=None, updated_at=now)
    )
    return bool(getattr(done, "rowcount", 0))


def mark_reconciled(
    session: Session, outbox_id: int, wamid: str, now: datetime, *, unknown: str
) -> bool:
    """Mark row ``outbox_id`` sent as ``wamid`` if Meta may have it while the outbox does not
    know: still ``sending``, ``failed`` with ``last_error`` ``unknown`` (the stale sweep's),
    or put back for a retry after an attempt; whether it was."""
    return _mark_sent(
        session,
        wamid,
        now,
        _outbox.c.id == outbox_id,
        sa.or_(
            _outbox.c.state == OutboxState.SENDING,
            sa.and_(_outbox.c.state == OutboxState.FAILED, _outbox.c.last_error == unknown),
            # A dropped answer put it back for a retry, but Meta had it.
            sa.and_(_outbox.c.state == OutboxState.PENDING,
                    _outbox.c.whatsapp_message_id.is_(None),
                    _outbox.c.attempts > 0),
        ),
    )


def finish_failed(
    session: Session,
    row_id: int,
    reason: str,
    error_code: int | None,
    details: dict[str, Any],
    now: datetime,
) -> bool:
    """Row ``row_id`` failed for good: the row keeps ``reason``, its message the error for
    agents to see; whether it was still ``sending``."""
    done = session.execute(
        sa.update(_outbox)
        .where(_outbox.c.id == row_id, _outbox.c.state == OutboxState.SENDING)
        .values(state=OutboxState.FAILED, last_error=reason[:_MAX_ERROR], updated_at=now)
        .returning(_outbox.c.message_id)
    ).first()
    if done is None:
        return False
    if done.message_id is not None:
        session.execute(
            sa.update(_messages)
            .where(_messages.c.id == done.message_id)
            .values(status=DeliveryStatus.FAILED, failed_at=now, error_code=error_code,
                    error_details=details)
        )
    return True


def finish_retry(
    session: Session, row_id: int, reason: str, at: datetime, now: datetime, refund: bool
) -> bool:
    """Put row ``row_id`` back to ``pending`` until ``at`` (``reason``: why, if any; with
    ``refund`` the claim's attempt is given back); whether it was still ``sending``."""
    values: dict[str, Any] = {
        "state": OutboxState.PENDING, "next_attempt_at": at, "updated_at": now,
    }
    if reason:
        values["last_error"] = reason[:_MAX_ERROR]
    if refund:  # not an attempt: pacing sent it back before it was tried
        values["attempts"] = _outbox.c.attempts - 1
    done = session.execute(
        sa.update(_outbox)
        .where(_outbox.c.id == row_id, _outbox.c.state == OutboxState.SENDING)
        .values(**values)
    )
    return bool(getattr(done, "rowcount", 0))


def fail_stale(
    session: Session,
    cutoff: datetime,
    own: Sequence[int],
    now: datetime,
    *,
    error: str,
    details: dict[str, Any],
) -> list[int]:
    """Mark ``failed`` with ``error`` the rows ``sending`` since ``cutoff`` or before, but
    those of ``own``, and their messages still ``pending`` with ``details``; their ids."""
    where = [_outbox.c.state == OutboxState.SENDING, _outbox.c.updated_at <= cutoff]
    if own:
        where.append(_outbox.c.id.not_in(list(own)))
    rows = session.execute(
        sa.update(_outbox)
        .where(*where)
        .values(state=OutboxState.FAILED, last_error=error, updated_at=now)
        .returning(_outbox.c.id, _outbox.c.message_id)
    ).all()
    message_ids = [r.message_id for r in rows if r.message_id is not None]
    if message_ids:
        session.execute(
            sa.update(_messages)
            .where(_messages.c.id.in_(message_ids), _messages.c.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.FAILED, failed_at=now, error_details=details)
        )
    return [r.id for r in rows]
