"""audit_logs: role, user agent, request id and a hash chain; PostgreSQL refuses changes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Every ``audit_logs`` row gets ``chain_seq`` (1, 2, 3, …), ``prev_hash`` and ``hash`` (see
`pytake.store._audit`); rows written before this revision are chained here, in id order.
``audit_chain`` holds the chain's head. On PostgreSQL a trigger refuses UPDATE of any row and
DELETE unless the transaction set ``pytake.audit_prune`` to ``on`` (retention's pruning).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pytake.store._audit import GENESIS, row_hash

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

#: SQLite rebuilds a table to change it: keep its ids never reused (see 0001).
_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}

_TRIGGER_FUNCTION = """
CREATE FUNCTION audit_logs_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('pytake.audit_prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_logs rows cannot be changed or deleted (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    with op.batch_alter_table("audit_logs", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.add_column(sa.Column("role", sa.String(20), nullable=True))
        batch.add_column(sa.Column("user_agent", sa.String(300), nullable=True))
        batch.add_column(sa.Column("request_id", sa.String(100), nullable=True))
        batch.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rows", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("pruned_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pruned_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    head, seq = _chain_existing_rows()
    op.get_bind().execute(sa.text(
        "INSERT INTO audit_chain (id, rows, head, pruned_seq, pruned_hash) "
        "VALUES (1, :rows, :head, 0, :genesis)"), {"rows": seq, "head": head, "genesis": GENESIS})
    with op.batch_alter_table("audit_logs", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.alter_column("chain_seq", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint(op.f("uq_audit_logs_chain_seq"), ["chain_seq"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_TRIGGER_FUNCTION)
        op.execute("CREATE TRIGGER audit_logs_refuse_change BEFORE UPDATE OR DELETE ON "
                   "audit_logs FOR EACH ROW EXECUTE FUNCTION audit_logs_refuse_change()")


def _chain_existing_rows() -> tuple[str, int]:
    from pytake.store._models_accounts import AuditLog

    bind = op.get_bind()
    table: sa.Table = AuditLog.__table__  # type: ignore[assignment]
    columns = [table.c[name] for name in (
        "id", "at", "actor_user_id", "role", "action", "target_type", "target_id", "details",
        "ip", "user_agent", "request_id")]
    head, seq = GENESIS, 0
    for row in bind.execute(sa.select(*columns).order_by(table.c.id)).mappings().all():
        seq += 1
        fields = dict(row)
        fields.update(chain_seq=seq, prev_hash=head)
        head = row_hash(_Row(fields))
        bind.execute(sa.update(table).where(table.c.id == row["id"]).values(
            chain_seq=seq, prev_hash=fields["prev_hash"], hash=head))
    return head, seq


class _Row:
    def __init__(self, fields: dict[str, object]) -> None:
        self.__dict__.update(fields)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_logs_refuse_change ON audit_logs")
        op.execute("DROP FUNCTION audit_logs_refuse_change()")
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_logs", table_kwargs=_KEEP_AUTOINCREMENT) as batch:
        batch.drop_constraint(op.f("uq_audit_logs_chain_seq"), type_="unique")
        for name in ("hash", "prev_hash", "chain_seq", "request_id", "user_agent", "role"):
            batch.drop_column(name)
