"""Customers' data requests (LGPD): one row per export, anonymisation or erasure, kept as the
proof of what was done (``/api/v1/data-requests``, ``pytake customers requests``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from pytake.store._base import (
    Base,
    BigID,
    UTCDateTime,
    created_at_column,
    enum_type,
    json_object_column,
    updated_at_column,
)
from pytake.store._enums import DataRequestKind, DataRequestState

__all__ = ["DataRequest"]


class DataRequest(Base):
    """An export, anonymisation or erasure of one customer's data, and its proof report.

    ``customer_id`` has no foreign key: the row outlives the customer it erased.  ``report``
    says what was found and removed where, in counts; it never holds personal data (no
    phone number, name or message text), so it may be kept as long as the law asks.  A row
    is ``running`` from before its first step, so a request interrupted by a crash is found
    at the next start and resumed (erasure and anonymisation run again: every step is
    idempotent) or marked ``failed`` with its ``error`` (an export whose client is gone).
    """

    __tablename__ = "data_requests"
    __table_args__ = (
        sa.Index("ix_data_requests_customer_id", "customer_id"),
        sa.Index("ix_data_requests_state", "state"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    kind: Mapped[DataRequestKind] = mapped_column(
        enum_type(DataRequestKind, "data_request_kind"))
    customer_id: Mapped[int] = mapped_column(BigID)
    state: Mapped[DataRequestState] = mapped_column(
        enum_type(DataRequestState, "data_request_state"),
        default=DataRequestState.RUNNING,
        server_default=DataRequestState.RUNNING.value,
    )
    #: the administrator who asked; NULL from the command line
    requested_by_user_id: Mapped[int | None] = mapped_column(
        BigID, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    #: ``api`` or ``cli``
    requested_via: Mapped[str] = mapped_column(sa.String(16), default="api",
                                               server_default="api")
    #: how many times it was started (more than 1: resumed after an interruption)
    attempts: Mapped[int] = mapped_column(default=1, server_default="1")
    report: Mapped[dict[str, Any]] = json_object_column()
    error: Mapped[str | None] = mapped_column(sa.Text())
    started_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
