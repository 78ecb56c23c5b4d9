"""Canned responses: a team's prepared replies, which agents insert by typing ``/shortcut``."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from pytake.store._base import Base, BigID, created_at_column, updated_at_column

__all__ = ["CannedResponse"]


class CannedResponse(Base):
    """One prepared reply of a team: ``shortcut`` (unique in the team, what follows ``/`` in
    the agents' desk), a ``title`` to pick it by and the ``text`` that is sent."""

    __tablename__ = "canned_responses"
    __table_args__ = (
        sa.UniqueConstraint("team_id", "shortcut"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    team_id: Mapped[int] = mapped_column(BigID, sa.ForeignKey("teams.id", ondelete="CASCADE"))
    shortcut: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.String(120))
    text: Mapped[str] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
