"""modules are enabled unless switched off

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

The administrator's switch of a module now decides whether flows may call it: an installed
module runs unless an administrator disabled it.  Rows recorded so far were never switched
by anyone (there was no way to), so they start enabled.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

# SQLite rebuilds a table to alter it: keep "never reuse a deleted row's id" (see 0001).
_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("modules", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.alter_column("enabled", server_default=sa.true(), existing_type=sa.Boolean(),
                           existing_nullable=False)
    op.execute(sa.text("UPDATE modules SET enabled = true"))


def downgrade() -> None:
    with op.batch_alter_table("modules", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.alter_column("enabled", server_default=sa.false(), existing_type=sa.Boolean(),
                           existing_nullable=False)
