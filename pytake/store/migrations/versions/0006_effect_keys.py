"""keys that make an effect happen once

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

A conversation event, an agent event and a flow step may carry a key naming what caused it
(the customer message ``m<id>``, the flow turn and step).  Storing the same key again is a
no-op, so a journaled message handled again after a crash (its actor's snapshot was older
than its effects) logs, publishes and records nothing twice, and spends no agent seq.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

# SQLite rebuilds a table to alter it: keep "never reuse a deleted row's id" (see 0001).
_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}
_TABLES = (
    ("conversation_events", "conversation_id"),
    ("agent_events", "agent_id"),
    ("flow_executions", "conversation_id"),
)


def upgrade() -> None:
    for table, owner in _TABLES:
        with op.batch_alter_table(table, table_kwargs=_KEEP_AUTOINCREMENT) as batch:
            batch.add_column(sa.Column("effect_key", sa.String(200), nullable=True))
            batch.create_index(f"ix_{table}_{owner}_effect_key", [owner, "effect_key"],
                               unique=True)


def downgrade() -> None:
    for table, owner in _TABLES:
        with op.batch_alter_table(table, table_kwargs=_KEEP_AUTOINCREMENT) as batch:
            batch.drop_index(f"ix_{table}_{owner}_effect_key")
            batch.drop_column("effect_key")
