"""users: one-time set-password tokens

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

An invitation or a password reset hands out a one-time token; redeeming it sets the user's
password.  Only its SHA-256 is stored (as for refresh tokens), with its expiry and when it was
used, so a stolen database reveals no usable token and a token works once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "password_tokens",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("created_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("used_at", TIME, nullable=True),
        sa.CheckConstraint("purpose IN ('invite', 'reset')",
                           name=op.f("ck_password_tokens_purpose")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_tokens")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_password_tokens_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_password_tokens_created_by_users"),
                                ondelete="SET NULL"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_tokens_token_hash")),
        # never reuse the id of a deleted row (see 0001)
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_password_tokens_user_id"), "password_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_password_tokens_user_id"), table_name="password_tokens")
    op.drop_table("password_tokens")
