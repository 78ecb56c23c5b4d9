"""Integrations: installed modules and their per-tenant configuration, outbound webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from pytake.store._base import (
    Base,
    BigID,
    JSONType,
    created_at_column,
    json_object_column,
    updated_at_column,
)

__all__ = ["ModuleConfiguration", "ModuleRecord", "WebhookDelivery", "WebhookSubscription"]


class ModuleRecord(Base):
    """A module (plugin) PyTake has discovered from its entry points: its ``name``, the
    ``version`` last seen, its ``manifest`` (description, configuration schema, ...), and
    whether flows may call it (``enabled``: true unless an administrator switched it off)."""

    __tablename__ = "modules"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    version: Mapped[str] = mapped_column(sa.String(50))
    manifest: Mapped[dict[str, Any]] = json_object_column()
    enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class ModuleConfiguration(Base):
    """A module's configuration for one tenant.

    ``tenant_key`` names the tenant, normally a business phone number id. ``config`` is plain
    JSON; credentials go to ``secrets_encrypted``, encrypted by the caller before they reach the
    database (this layer never sees them in clear).
    """

    __tablename__ = "module_configurations"
    __table_args__ = (
        sa.UniqueConstraint("module_id", "tenant_key"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    module_id: Mapped[int] = mapped_column(BigID, sa.ForeignKey("modules.id", ondelete="CASCADE"))
    tenant_key: Mapped[str] = mapped_column(sa.String(100))
    config: Mapped[dict[str, Any]] = json_object_column()
    secrets_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class WebhookSubscription(Base):
    """An outbound webhook: PyTake POSTs the ``events`` it names (``["conversation.*", ...]``)
    to ``url``, signed with ``secret``. Not to be confused with the inbound WhatsApp webhook."""

    __tablename__ = "webhooks"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2048))
    secret: Mapped[str] = mapped_column(sa.String(255))
    events: Mapped[list[Any]] = mapped_column(
        JSONType, default=list, server_default=sa.text("'[]'")
    )
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    description: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class WebhookDelivery(Base):
    """The log of outbound webhook attempts: one row per attempt, with the answer or error.

    ``event_id`` identifies the event across retries (receivers use it to drop duplicates).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_webhook_id_at", "webhook_id", "at"),
        sa.Index("ix_webhook_deliveries_event_id", "event_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(BigID, sa.ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(sa.String(100))
    event_id: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = json_object_column()
    attempt: Mapped[int] = mapped_column(default=1, server_default="1")
    succeeded: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: HTTP status of the answer; NULL when no answer came (connection error, timeout).
    response_status: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(sa.Text())
    duration_ms: Mapped[int | None] = mapped_column()
    #: The logged attempt an administrator asked to deliver again (its event and payload).
    redelivery_of: Mapped[int | None] = mapped_column(BigID)
    at: Mapped[datetime] = created_at_column()
