"""business numbers and runtime settings

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

``business_numbers``: the WhatsApp numbers administrators add, pause and remove over the API,
each with its access token (encrypted with ``PYTAKE_SECRET_KEY`` before it reaches the
database).  ``runtime_settings``: overrides of the settings that may change while PyTake
runs.  Both are read by every node every few seconds, so no restart is needed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "business_numbers",
        sa.Column("id", ID, nullable=False),
        sa.Column("phone_number_id", sa.String(64), nullable=False),
        sa.Column("waba_id", sa.String(64), server_default="", nullable=False),
        sa.Column("display_name", sa.String(200), server_default="", nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_numbers")),
        sa.UniqueConstraint("phone_number_id", name=op.f("uq_business_numbers_phone_number_id")),
        # never reuse the id of a deleted row (see 0001)
        sqlite_autoincrement=True,
    )
    op.create_table(
        "runtime_settings",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("updated_by", ID, nullable=True),
        sa.Column("updated_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_runtime_settings")),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"],
                                name=op.f("fk_runtime_settings_updated_by_users"),
                                ondelete="SET NULL"),
    )


def downgrade() -> None:
    op.drop_table("runtime_settings")
    op.drop_table("business_numbers")
