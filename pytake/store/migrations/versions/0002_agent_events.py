"""agent events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

The per-agent event log behind the agent WebSocket: every event an agent is sent gets the next
``seq`` of that agent, and is stored before it is sent, so a client that reconnects (also
after a server restart) asks for everything after the last ``seq`` it saw. Self-contained,
like 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "agent_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payload", JSON, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_events")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_agent_events_agent_id_users"),
            ondelete="CASCADE",
        ),
        # Also the index for replaying an agent's events after a given seq.
        sa.UniqueConstraint("agent_id", "seq", name=op.f("uq_agent_events_agent_id_seq")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("agent_events")
