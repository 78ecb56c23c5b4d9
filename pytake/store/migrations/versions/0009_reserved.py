"""business numbers and runtime settings

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

Reserved for business numbers and runtime settings; empty until that work lands, so that the
revisions stay one chain.
"""

from __future__ import annotations

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
