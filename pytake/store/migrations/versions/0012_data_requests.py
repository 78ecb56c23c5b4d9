"""customers' data requests (LGPD): exports, anonymisations, erasures and their reports

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08

``data_requests``: one row per export, anonymisation or erasure of a customer's data, with
its state (``running`` until it is ``done`` or ``failed``) and its proof report (counts per
store, never personal data).  ``customer_id`` has no foreign key: the row outlives the
customer an erasure removed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "data_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("state", sa.String(32), server_default="running", nullable=False),
        sa.Column("requested_by_user_id", ID, nullable=True),
        sa.Column("requested_via", sa.String(16), server_default="api", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("report", JSON, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_requests")),
        sa.ForeignKeyConstraint(["requested_by_user_id"], ["users.id"],
                                name=op.f("fk_data_requests_requested_by_user_id_users"),
                                ondelete="SET NULL"),
        sa.CheckConstraint("kind IN ('export', 'anonymise', 'erase')",
                           name=op.f("ck_data_requests_data_request_kind")),
        sa.CheckConstraint("state IN ('running', 'done', 'failed')",
                           name=op.f("ck_data_requests_data_request_state")),
        # never reuse the id of a deleted row (see 0001)
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_data_requests_customer_id"), "data_requests", ["customer_id"])
    op.create_index(op.f("ix_data_requests_state"), "data_requests", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_data_requests_state"), table_name="data_requests")
    op.drop_index(op.f("ix_data_requests_customer_id"), table_name="data_requests")
    op.drop_table("data_requests")
