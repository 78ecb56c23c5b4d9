"""The one count the dashboard reads from the database (every few ticks, see `Probes`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pytake.store import OutboxEntry, OutboxState


def outbox_backlog(session: Session) -> int:
    """Outbound sends pending or in flight (counted on the outbox's state index)."""
    backlog = session.scalar(
        sa.select(sa.func.count()).select_from(OutboxEntry)
        .where(OutboxEntry.state.in_([OutboxState.PENDING, OutboxState.SENDING]))
    )
    return int(backlog or 0)
