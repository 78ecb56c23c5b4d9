"""The engine's own durable state: the outbox, the inbox, actor snapshots and dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from pytake.store._base import (
    Base,
    BigID,
    JSONType,
    JSONValueType,
    UTCDateTime,
    created_at_column,
    enum_type,
    updated_at_column,
    utcnow,
)
from pytake.store._enums import InboxState, OutboxState

__all__ = [
    "ActorJournalEntry",
    "ActorSnapshotRecord", "DeadLetterRecord", "InboxEntry", "OutboxEntry"]


class OutboxEntry(Base):
    """An outbound Cloud API request, committed in the same transaction as its message.

    Senders claim ``pending`` rows whose ``next_attempt_at`` has come (``state``,
    ``next_attempt_at`` index), mark them ``sending``, and finish them as ``sent`` (with the
    ``whatsapp_message_id`` the API returned) or, after a permanent rejection, ``failed``;
    a retryable failure puts the row back to ``pending`` with a later ``next_attempt_at``.
    ``message_id`` is NULL for requests without a message row (read receipts, typing).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        sa.Index("ix_outbox_idempotency_key", "idempotency_key", unique=True),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(
        BigID, sa.ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    business_phone_number_id: Mapped[str] = mapped_column(sa.String(64))
    #: ``to`` of the request: a phone number / wa_id, or a BSUID (up to 256 characters).
    recipient: Mapped[str] = mapped_column(sa.String(256))
    #: The JSON body to POST to ``/{business_phone_number_id}/messages``.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[OutboxState] = mapped_column(
        enum_type(OutboxState, "outbox_state"),
        default=OutboxState.PENDING,
        server_default=OutboxState.PENDING.value,
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=sa.func.now()
    )
    last_error: Mapped[str | None] = mapped_column(sa.Text())
    whatsapp_message_id: Mapped[str | None] = mapped_column(sa.String(255))
    #: What caused the message (e.g. ``flow:<conversation>:<turn>:<n>``); a second request
    #: with the same key is not stored again (a turn replayed after a crash).
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class InboxEntry(Base):
    """A raw WhatsApp webhook body, stored before the webhook answers 200.

    ``body`` is the exact bytes received (the signature covers them) and ``signature`` the
    ``X-Hub-Signature-256`` header. Processors take ``pending`` rows in ``id`` order
    (``state``, ``id`` index); a body that keeps failing goes ``dead`` with its ``error``.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        sa.Index("ix_inbox_state_id", "state", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    received_at: Mapped[datetime] = created_at_column()
    body: Mapped[bytes] = mapped_column(sa.LargeBinary())
    signature: Mapped[str | None] = mapped_column(sa.String(100))
    state: Mapped[InboxState] = mapped_column(
        enum_type(InboxState, "inbox_state"),
        default=InboxState.PENDING,
        server_default=InboxState.PENDING.value,
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(sa.Text())


class ActorSnapshotRecord(Base):
    """The durable copy of an actor's last snapshot (Redis holds the fast one).

    ``data`` is the cattrs-unstructured state, ``schema_version`` the actor class's state
    version when written, ``seq`` how many messages the actor had applied. Writers keep the
    row with the highest ``seq`` (an upsert guarded by ``seq``), so a stale write never wins.
    """

    __tablename__ = "actor_snapshots"

    kind: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    actor_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    schema_version: Mapped[int] = mapped_column()
    seq: Mapped[int] = mapped_column(sa.BigInteger())
    #: Highest ``actor_journal.id`` the state includes; journal rows above it are replayed.
    journal_id: Mapped[int] = mapped_column(sa.BigInteger(), default=0, server_default="0")
    #: Any JSON value; a Python ``None`` state is stored as JSON ``null``, not SQL NULL.
    data: Mapped[Any] = mapped_column(JSONValueType)
    updated_at: Mapped[datetime] = updated_at_column()


class ActorJournalEntry(Base):
    """A message accepted for an actor, stored before it was acknowledged to its sender.

    Rows are delivered to their actor in ``id`` order; an actor's snapshot records the highest
    ``id`` its state includes (``actor_snapshots.journal_id``), so after a crash the rows above
    it are delivered again and nothing acknowledged is lost or applied twice.  Rows at or
    below it are pruned.
    """

    __tablename__ = "actor_journal"
    __table_args__ = (
        sa.Index("ix_actor_journal_kind_actor_id_id", "kind", "actor_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    actor_id: Mapped[str] = mapped_column(sa.String(255))
    message_type: Mapped[str] = mapped_column(sa.String(255))
    message: Mapped[Any] = mapped_column(JSONValueType)
    created_at: Mapped[datetime] = created_at_column()


class DeadLetterRecord(Base):
    """A poison message: it crashed its actor ``attempts`` times and was set aside.

    ``message`` is its ``repr`` and ``message_type`` its class name (the message itself may not
    be serializable); ``error`` and ``traceback`` are from the last crash.
    """

    __tablename__ = "dead_letters"
    __table_args__ = (
        sa.Index("ix_dead_letters_kind_at", "kind", "at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    actor_id: Mapped[str] = mapped_column(sa.String(255))
    message_type: Mapped[str] = mapped_column(sa.String(255))
    message: Mapped[str] = mapped_column(sa.Text())
    error: Mapped[str] = mapped_column(sa.Text())
    traceback: Mapped[str] = mapped_column(sa.Text())
    attempts: Mapped[int] = mapped_column()
    at: Mapped[datetime] = created_at_column()
