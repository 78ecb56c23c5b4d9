"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Every table of PyTake 0.1, for PostgreSQL and SQLite alike. Self-contained on purpose: it
imports nothing from ``pytake``, so later changes to the models cannot change what this
revision creates. Types: ids are BIGINT (INTEGER on SQLite, the auto-incrementing row id),
JSON is JSONB on PostgreSQL, times are TIMESTAMP WITH TIME ZONE (UTC text on SQLite),
enumerations are VARCHAR(32) with a named CHECK constraint.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)
ENUM = sa.String(32)
EMPTY_OBJECT = sa.text("'{}'")
EMPTY_LIST = sa.text("'[]'")
AUTOINCREMENT = {"sqlite_autoincrement": True}  # never reuse the id of a deleted row


def _id() -> sa.Column[int]:
    return sa.Column("id", ID, nullable=False)


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, TIME, server_default=sa.func.now(), nullable=False)


def _ref(name: str, *, nullable: bool) -> sa.Column[int]:
    return sa.Column(name, ID, nullable=nullable)


def _one_of(table: str, column: str, name: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{name}"))


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*(columns or ("id",)), name=op.f(f"pk_{table}"))


def _unique(table: str, *columns: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*columns, name=op.f(f"uq_{table}_{'_'.join(columns)}"))


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns))


def upgrade() -> None:
    # --- accounts ---------------------------------------------------------------------------
    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", ENUM, nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        _pk("users"),
        _unique("users", "email"),
        _one_of("users", "role", "user_role", ("admin", "supervisor", "agent")),
        **AUTOINCREMENT,
    )
    op.create_table(
        "teams",
        _id(),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("business_hours", JSON, server_default=EMPTY_OBJECT, nullable=False),
        sa.Column("timezone", sa.String(64), server_default="UTC", nullable=False),
        sa.Column("routing_strategy", ENUM, server_default="round_robin", nullable=False),
        sa.Column("settings", JSON, server_default=EMPTY_OBJECT, nullable=False),
        _now("created_at"),
        _now("updated_at"),
        _pk("teams"),
        _unique("teams", "name"),
        _one_of(
            "teams",
            "routing_strategy",
            "routing_strategy",
            ("round_robin", "least_busy", "skills"),
        ),
        **AUTOINCREMENT,
    )
    op.create_table(
        "team_members",
        _ref("team_id", nullable=False),
        _ref("user_id", nullable=False),
        sa.Column("skills", JSON, server_default=EMPTY_LIST, nullable=False),
        sa.Column("max_concurrent", sa.Integer(), server_default="5", nullable=False),
        _now("created_at"),
        _pk("team_members", "team_id", "user_id"),
        _fk("team_members", "team_id", "teams", "CASCADE"),
        _fk("team_members", "user_id", "users", "CASCADE"),
        sa.CheckConstraint(
            "max_concurrent > 0", name=op.f("ck_team_members_max_concurrent_positive")
        ),
    )
    _index("team_members", "user_id")
    op.create_table(
        "refresh_tokens",
        _id(),
        _ref("user_id", nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("family_id", sa.String(64), nullable=False),
        _now("created_at"),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("used_at", TIME, nullable=True),
        sa.Column("revoked_at", TIME, nullable=True),
        _pk("refresh_tokens"),
        _fk("refresh_tokens", "user_id", "users", "CASCADE"),
        _unique("refresh_tokens", "token_hash"),
        **AUTOINCREMENT,
    )
    _index("refresh_tokens", "user_id")
    _index("refresh_tokens", "family_id")
    op.create_table(
        "audit_logs",
        _id(),
        _ref("actor_user_id", nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target_type", sa.String(64), nullable=True),
        sa.Column("target_id", sa.String(255), nullable=True),
        sa.Column("details", JSON, server_default=EMPTY_OBJECT, nullable=False),
        sa.Column("ip", sa.String(45), nullable=True),
        _now("at"),
        _pk("audit_logs"),
        _fk("audit_logs", "actor_user_id", "users", "SET NULL"),
        **AUTOINCREMENT,
    )
    _index("audit_logs", "at")
    _index("audit_logs", "actor_user_id", "at")
    _index("audit_logs", "target_type", "target_id", "at")

    # --- conversations ----------------------------------------------------------------------
    op.create_table(
        "customers",
        _id(),
        sa.Column("business_phone_number_id", sa.String(64), nullable=False),
        sa.Column("wa_id", sa.String(64), nullable=True),
        sa.Column("bsuid", sa.String(256), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("attributes", JSON, server_default=EMPTY_OBJECT, nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("anonymized_at", TIME, nullable=True),
        _pk("customers"),
        _unique("customers", "business_phone_number_id", "wa_id"),
        _unique("customers", "business_phone_number_id", "bsuid"),
        sa.CheckConstraint(
            "wa_id IS NOT NULL OR bsuid IS NOT NULL OR anonymized_at IS NOT NULL",
            name=op.f("ck_customers_identified"),
        ),
        **AUTOINCREMENT,
    )
    _index("customers", "phone")
    op.create_table(
        "conversations",
        _id(),
        _ref("customer_id", nullable=False),
        sa.Column("business_phone_number_id", sa.String(64), nullable=False),
        sa.Column("status", ENUM, server_default="open", nullable=False),
        sa.Column("owner_state", ENUM, server_default="flow", nullable=False),
        _ref("team_id", nullable=True),
        _ref("assigned_agent_id", nullable=True),
        sa.Column("priority", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("labels", JSON, server_default=EMPTY_LIST, nullable=False),
        sa.Column("last_customer_message_at", TIME, nullable=True),
        _now("opened_at"),
        sa.Column("resolved_at", TIME, nullable=True),
        _now("updated_at"),
        _pk("conversations"),
        _fk("conversations", "customer_id", "customers", "CASCADE"),
        _fk("conversations", "team_id", "teams", "SET NULL"),
        _fk("conversations", "assigned_agent_id", "users", "SET NULL"),
        _one_of("conversations", "status", "conversation_status", ("open", "resolved")),
        _one_of(
            "conversations",
            "owner_state",
            "owner_state",
            ("flow", "queued", "offered", "assigned", "resolved"),
        ),
        sa.CheckConstraint("priority >= 0", name=op.f("ck_conversations_priority_not_negative")),
        **AUTOINCREMENT,
    )
    _index("conversations", "team_id", "status", "updated_at")
    _index("conversations", "assigned_agent_id", "status")
    _index("conversations", "customer_id", "opened_at")
    # At most one open conversation per customer.
    op.create_index(
        op.f("uq_conversations_open_customer_id"),
        "conversations",
        ["customer_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "messages",
        _id(),
        _ref("conversation_id", nullable=False),
        sa.Column("whatsapp_message_id", sa.String(255), nullable=True),
        sa.Column("direction", ENUM, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("payload", JSON, server_default=EMPTY_OBJECT, nullable=False),
        _ref("sent_by_user_id", nullable=True),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("delivered_at", TIME, nullable=True),
        sa.Column("read_at", TIME, nullable=True),
        sa.Column("played_at", TIME, nullable=True),
        sa.Column("failed_at", TIME, nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_details", JSON, nullable=True),
        _now("created_at"),
        sa.Column("whatsapp_timestamp", TIME, nullable=True),
        _pk("messages"),
        _fk("messages", "conversation_id", "conversations", "CASCADE"),
        _fk("messages", "sent_by_user_id", "users", "SET NULL"),
        _unique("messages", "whatsapp_message_id"),
        _one_of("messages", "direction", "message_direction", ("in", "out")),
        _one_of(
            "messages",
            "status",
            "delivery_status",
            ("received", "pending", "sent", "delivered", "read", "played", "failed"),
        ),
        **AUTOINCREMENT,
    )
    _index("messages", "conversation_id", "created_at", "id")
    op.create_table(
        "conversation_events",
        _id(),
        _ref("conversation_id", nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payload", JSON, server_default=EMPTY_OBJECT, nullable=False),
        _now("at"),
        _pk("conversation_events"),
        _fk("conversation_events", "conversation_id", "conversations", "CASCADE"),
        # Also the index for reading a conversation's events in order.
        _unique("conversation_events", "conversation_id", "seq"),
        **AUTOINCREMENT,
    )

    # --- flows ------------------------------------------------------------------------------
    op.create_table(
        "flows",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        _ref("created_by_user_id", nullable=True),
        _now("created_at"),
        _now("updated_at"),
        _pk("flows"),
        _fk("flows", "created_by_user_id", "users", "SET NULL"),
        _unique("flows", "name"),
        **AUTOINCREMENT,
    )
    op.create_table(
        "flow_versions",
        _id(),
        _ref("flow_id", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", ENUM, server_default="draft", nullable=False),
        sa.Column("graph", JSON, server_default=EMPTY_OBJECT, nullable=False),
        _ref("created_by_user_id", nullable=True),
        _now("created_at"),
        sa.Column("published_at", TIME, nullable=True),
        _pk("flow_versions"),
        _fk("flow_versions", "flow_id", "flows", "CASCADE"),
        _fk("flow_versions", "created_by_user_id", "users", "SET NULL"),
        _unique("flow_versions", "flow_id", "version"),
        _one_of(
            "flow_versions", "status", "flow_version_status", ("draft", "published", "archived")
        ),
        sa.CheckConstraint("version > 0", name=op.f("ck_flow_versions_version_positive")),
        **AUTOINCREMENT,
    )
    # At most one published version per flow.
    op.create_index(
        op.f("uq_flow_versions_published_flow_id"),
        "flow_versions",
        ["flow_id"],
        unique=True,
        postgresql_where=sa.text("status = 'published'"),
        sqlite_where=sa.text("status = 'published'"),
    )
    op.create_table(
        "flow_nodes",
        _id(),
        _ref("flow_version_id", nullable=False),
        sa.Column("node_key", sa.String(100), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("config", JSON, server_default=EMPTY_OBJECT, nullable=False),
        _pk("flow_nodes"),
        _fk("flow_nodes", "flow_version_id", "flow_versions", "CASCADE"),
        _unique("flow_nodes", "flow_version_id", "node_key"),
        **AUTOINCREMENT,
    )
    op.create_table(
        "flow_executions",
        _id(),
        _ref("conversation_id", nullable=False),
        _ref("flow_version_id", nullable=False),
        sa.Column("node_key", sa.String(100), nullable=False),
        sa.Column("step_type", sa.String(50), nullable=False),
        sa.Column("variables", JSON, server_default=EMPTY_OBJECT, nullable=False),
        _now("at"),
        _pk("flow_executions"),
        _fk("flow_executions", "conversation_id", "conversations", "CASCADE"),
        # No cascade: a flow version that ran cannot be deleted, only archived.
        _fk("flow_executions", "flow_version_id", "flow_versions"),
        **AUTOINCREMENT,
    )
    _index("flow_executions", "conversation_id", "at")
    _index("flow_executions", "flow_version_id", "at")

    # --- integrations -----------------------------------------------------------------------
    op.create_table(
        "modules",
        _id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("manifest", JSON, server_default=EMPTY_OBJECT, nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        _pk("modules"),
        _unique("modules", "name"),
        **AUTOINCREMENT,
    )
    op.create_table(
        "module_configurations",
        _id(),
        _ref("module_id", nullable=False),
        sa.Column("tenant_key", sa.String(100), nullable=False),
        sa.Column("config", JSON, server_default=EMPTY_OBJECT, nullable=False),
        sa.Column("secrets_encrypted", sa.LargeBinary(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        _pk("module_configurations"),
        _fk("module_configurations", "module_id", "modules", "CASCADE"),
        _unique("module_configurations", "module_id", "tenant_key"),
        **AUTOINCREMENT,
    )
    op.create_table(
        "webhooks",
        _id(),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("secret", sa.String(255), nullable=False),
        sa.Column("events", JSON, server_default=EMPTY_LIST, nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("description", sa.String(255), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        _pk("webhooks"),
        **AUTOINCREMENT,
    )
    op.create_table(
        "webhook_deliveries",
        _id(),
        _ref("webhook_id", nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("payload", JSON, server_default=EMPTY_OBJECT, nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        sa.Column("succeeded", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        _now("at"),
        _pk("webhook_deliveries"),
        _fk("webhook_deliveries", "webhook_id", "webhooks", "CASCADE"),
        **AUTOINCREMENT,
    )
    _index("webhook_deliveries", "webhook_id", "at")
    _index("webhook_deliveries", "event_id")

    # --- runtime ----------------------------------------------------------------------------
    op.create_table(
        "outbox",
        _id(),
        _ref("message_id", nullable=True),
        sa.Column("business_phone_number_id", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(256), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("state", ENUM, server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        _now("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("whatsapp_message_id", sa.String(255), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        _pk("outbox"),
        _fk("outbox", "message_id", "messages", "CASCADE"),
        _unique("outbox", "message_id"),
        _one_of("outbox", "state", "outbox_state", ("pending", "sending", "sent", "failed")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_not_negative")),
        **AUTOINCREMENT,
    )
    _index("outbox", "state", "next_attempt_at")
    op.create_table(
        "inbox",
        _id(),
        _now("received_at"),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.String(100), nullable=True),
        sa.Column("state", ENUM, server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("processed_at", TIME, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _pk("inbox"),
        _one_of("inbox", "state", "inbox_state", ("pending", "processed", "dead")),
        **AUTOINCREMENT,
    )
    _index("inbox", "state", "id")
    op.create_table(
        "actor_snapshots",
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.String(255), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("journal_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("data", JSON, nullable=False),
        _now("updated_at"),
        _pk("actor_snapshots", "kind", "actor_id"),
    )
    op.create_table(
        "actor_journal",
        _id(),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.String(255), nullable=False),
        sa.Column("message_type", sa.String(255), nullable=False),
        sa.Column("message", JSON, nullable=False),
        _now("created_at"),
        _pk("actor_journal"),
        **AUTOINCREMENT,
    )
    _index("actor_journal", "kind", "actor_id", "id")
    op.create_table(
        "dead_letters",
        _id(),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.String(255), nullable=False),
        sa.Column("message_type", sa.String(255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _now("at"),
        _pk("dead_letters"),
        **AUTOINCREMENT,
    )
    _index("dead_letters", "kind", "at")


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in (
        "dead_letters",
        "actor_journal",
        "actor_snapshots",
        "inbox",
        "outbox",
        "webhook_deliveries",
        "webhooks",
        "module_configurations",
        "modules",
        "flow_executions",
        "flow_nodes",
        "flow_versions",
        "flows",
        "conversation_events",
        "messages",
        "conversations",
        "customers",
        "audit_logs",
        "refresh_tokens",
        "team_members",
        "teams",
        "users",
    ):
        op.drop_table(table)
