"""integrations (webhook subscriptions, canned responses)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

- ``canned_responses``: a team's prepared replies, one ``shortcut`` per team.
- ``webhook_deliveries.redelivery_of``: the logged attempt an administrator delivered again
  (no foreign key: both rows belong to one subscription and go with it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
# SQLite rebuilds a table to alter it: keep "never reuse a deleted row's id" (see 0001).
_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        "canned_responses",
        sa.Column("id", ID, nullable=False),
        sa.Column("team_id", ID, nullable=False),
        sa.Column("shortcut", sa.String(32), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE",
                                name=op.f("fk_canned_responses_team_id_teams")),
        sa.UniqueConstraint("team_id", "shortcut",
                            name=op.f("uq_canned_responses_team_id_shortcut")),
        **_KEEP_AUTOINCREMENT,
    )
    with op.batch_alter_table("webhook_deliveries", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("redelivery_of", ID, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.drop_column("redelivery_of")
    op.drop_table("canned_responses")
