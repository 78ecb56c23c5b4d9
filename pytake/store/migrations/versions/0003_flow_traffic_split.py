"""flow traffic split

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

A flow may have a candidate version that takes a share of the conversations that start the
flow, next to its published version, before it is published for all of them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("flows") as batch:
        batch.add_column(sa.Column("candidate_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("candidate_share", sa.Float(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("flows") as batch:
        batch.drop_column("candidate_share")
        batch.drop_column("candidate_version")
