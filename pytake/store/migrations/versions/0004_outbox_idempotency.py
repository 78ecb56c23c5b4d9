"""outbox idempotency key

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

An outbound message may carry a key naming what caused it (a flow's n-th message of the turn
a customer's message started): storing the same key again is a no-op, so a turn replayed
after a crash does not send its messages twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

# SQLite rebuilds a table to alter it: keep "never reuse a deleted row's id" (see 0001).
_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("outbox", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(200), nullable=True))
        batch.create_index("ix_outbox_idempotency_key", ["idempotency_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("outbox", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.drop_index("ix_outbox_idempotency_key")
        batch.drop_column("idempotency_key")
