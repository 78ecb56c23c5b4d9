"""Customers and what they say: customers, conversations, messages and conversation events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from pytake.store._base import (
    Base,
    BigID,
    JSONType,
    UTCDateTime,
    created_at_column,
    effect_key_index,
    enum_type,
    json_object_column,
    partial_unique_index,
    updated_at_column,
)
from pytake.store._enums import ConversationStatus, DeliveryStatus, MessageDirection, OwnerState

__all__ = ["Conversation", "ConversationEvent", "Customer", "Message"]


class Customer(Base):
    """A WhatsApp user as seen by one business phone number.

    Identity is ``(business_phone_number_id, wa_id)`` and, for users with a WhatsApp username
    (2026), ``(business_phone_number_id, bsuid)``: both pairs are unique, and either id may be
    missing but not both (unless the customer was anonymized). ``phone`` is the number in
    international format when known; ``wa_id`` and ``phone`` may differ (Brazil's ninth digit).
    Anonymization (LGPD) clears the personal fields and sets ``anonymized_at``.
    """

    __tablename__ = "customers"
    __table_args__ = (
        sa.UniqueConstraint("business_phone_number_id", "wa_id"),
        sa.UniqueConstraint("business_phone_number_id", "bsuid"),
        sa.CheckConstraint(
            "wa_id IS NOT NULL OR bsuid IS NOT NULL OR anonymized_at IS NOT NULL",
            name="identified",
        ),
        sa.Index("ix_customers_phone", "phone"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    business_phone_number_id: Mapped[str] = mapped_column(sa.String(64))
    wa_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: Business-scoped user id (up to 256 characters), for users known by username.
    bsuid: Mapped[str | None] = mapped_column(sa.String(256))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    name: Mapped[str | None] = mapped_column(sa.String(255))
    attributes: Mapped[dict[str, Any]] = json_object_column()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Conversation(Base):
    """One customer conversation, from its first message to its resolution.

    ``status`` is the coarse life cycle (open, resolved) that listings filter on; ``owner_state``
    is the finer state of who handles it (flow, queued, offered, assigned, resolved). A customer
    has at most one open conversation (a partial unique index). ``last_customer_message_at``
    (the WhatsApp timestamp of the customer's last message) opens the 24-hour service window.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        sa.CheckConstraint("priority >= 0", name="priority_not_negative"),
        sa.Index("ix_conversations_team_id_status_updated_at", "team_id", "status", "updated_at"),
        sa.Index("ix_conversations_assigned_agent_id_status", "assigned_agent_id", "status"),
        sa.Index("ix_conversations_customer_id_opened_at", "customer_id", "opened_at"),
        partial_unique_index("uq_conversations_open_customer_id", "customer_id", "status = 'open'"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigID, sa.ForeignKey("customers.id", ondelete="CASCADE")
    )
    business_phone_number_id: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[ConversationStatus] = mapped_column(
        enum_type(ConversationStatus, "conversation_status"),
        default=ConversationStatus.OPEN,
        server_default=ConversationStatus.OPEN.value,
    )
    owner_state: Mapped[OwnerState] = mapped_column(
        enum_type(OwnerState, "owner_state"),
        default=OwnerState.FLOW,
        server_default=OwnerState.FLOW.value,
    )
    team_id: Mapped[int | None] = mapped_column(
        BigID, sa.ForeignKey("teams.id", ondelete="SET NULL")
    )
    assigned_agent_id: Mapped[int | None] = mapped_column(
        BigID, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    #: Higher is more urgent; queues serve higher priorities first.
    priority: Mapped[int] = mapped_column(sa.SmallInteger(), default=0, server_default="0")
    labels: Mapped[list[Any]] = mapped_column(
        JSONType, default=list, server_default=sa.text("'[]'")
    )
    last_customer_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime] = created_at_column()
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = updated_at_column()


class Message(Base):
    """One WhatsApp message, inbound or outbound.

    ``whatsapp_message_id`` (the ``wamid``) is unique, which makes inbound deliveries idempotent
    (insert with ON CONFLICT DO NOTHING); it is NULL for an outbound message until the Cloud API
    accepts it. ``payload`` is the message object as WhatsApp defines it for its ``type``.
    ``status`` with its ``*_at`` times tracks delivery; ``error_code``/``error_details`` hold the
    Cloud API error of a failed send. ``whatsapp_timestamp`` is WhatsApp's own time of the
    message, ``created_at`` the time PyTake stored it.
    """

    __tablename__ = "messages"
    __table_args__ = (
        sa.Index(
            "ix_messages_conversation_id_created_at_id", "conversation_id", "created_at", "id"
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigID, sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    whatsapp_message_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    direction: Mapped[MessageDirection] = mapped_column(
        enum_type(MessageDirection, "message_direction")
    )
    #: WhatsApp message type: text, image, interactive, template, reaction, system, ...
    type: Mapped[str] = mapped_column(sa.String(32))
    payload: Mapped[dict[str, Any]] = json_object_column()
    #: The agent who wrote an outbound message; NULL for the customer, the flow or the system.
    sent_by_user_id: Mapped[int | None] = mapped_column(
        BigID, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus, "delivery_status"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    played_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_code: Mapped[int | None] = mapped_column()
    error_details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = created_at_column()
    whatsapp_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime())


class _EventLog:
    """The columns of an ordered event log after its owner: ``seq`` (from 1, unique per
    owner), the event's ``type`` and ``payload``, when it happened (``at``)."""

    seq: Mapped[int] = mapped_column(sa.BigInteger())
    type: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = json_object_column()
    at: Mapped[datetime] = created_at_column()
    #: what caused the event (``m<message id>``); stored once (see migration 0006)
    effect_key: Mapped[str | None] = mapped_column(sa.String(200))

    @staticmethod
    def table_args(table: str, owner: str) -> tuple[Any, ...]:
        """The log's ``__table_args__``: one ``seq`` and one effect per ``owner`` column."""
        return (
            sa.UniqueConstraint(owner, "seq"),
            effect_key_index(table, owner),
            {"sqlite_autoincrement": True},
        )


class ConversationEvent(_EventLog, Base):
    """The ordered event log of a conversation (assigned, transferred, labelled, resolved, ...).

    ``seq`` numbers a conversation's events from 1 without gaps, unique per conversation; the
    conversation actor assigns it, so readers can resume from the last ``seq`` they saw.
    """

    __tablename__ = "conversation_events"
    __table_args__ = _EventLog.table_args("conversation_events", "conversation_id")

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigID, sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )


class AgentEvent(_EventLog, Base):
    """The ordered event log of one agent's WebSocket feed (offers, assignments, messages).

    ``seq`` numbers an agent's events from 1, unique per agent; the AgentActor assigns it and
    stores the event before any socket sees it, so a reconnecting client replays from here.
    """

    __tablename__ = "agent_events"
    __table_args__ = _EventLog.table_args("agent_events", "agent_id")

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigID, sa.ForeignKey("users.id", ondelete="CASCADE"))
