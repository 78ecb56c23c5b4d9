"""Business numbers and runtime settings: what administrators change over the API while
PyTake runs (``/api/v1/numbers``, ``/api/v1/settings``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from pytake.store._base import (
    Base,
    BigID,
    JSONValueType,
    created_at_column,
    updated_at_column,
)

__all__ = ["BusinessNumber", "RuntimeSetting"]


class BusinessNumber(Base):
    """A WhatsApp business phone number PyTake serves, with its own access token.

    ``access_token`` is the token encrypted by the caller (``pts1:...`` text, bound to the
    ``phone_number_id``); this layer never sees it in clear.  The inbound messages of a
    ``paused`` number are acknowledged and ignored.
    """

    __tablename__ = "business_numbers"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    phone_number_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    waba_id: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    display_name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    access_token: Mapped[str | None] = mapped_column(sa.Text())
    paused: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class RuntimeSetting(Base):
    """An override of one setting that may change while PyTake runs (see
    docs/rest-api.md, "Runtime settings"): ``value`` replaces the environment's."""

    __tablename__ = "runtime_settings"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONValueType)
    updated_by: Mapped[int | None] = mapped_column(
        BigID, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = updated_at_column()
