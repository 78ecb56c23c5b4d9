"""Durable storage: the schema, its migrations, and database access for trio code.

How the package is layered, bottom up:

- ``_base``, ``_enums``   the declarative `Base`, portable column types (aware UTC times,
                          JSON/JSONB, BIGINT/INTEGER ids) and the checked enumerations
- ``_models_*``           the tables, by area: accounts, conversations, flows, integrations,
                          runtime (outbox, inbox, actor snapshots, dead letters)
- ``_database``           `Database`: SQLAlchemy's sync engine run in trio worker threads,
                          one transaction per `Database.run`, connectivity errors as
                          `pytake.errors.StorageUnavailable`
- ``_migrations``         `upgrade` / `current` / `head`: Alembic, configured in code, with
                          the scripts in ``migrations/versions`` (``pytake db upgrade``)

PostgreSQL is the database of record; SQLite, through the same models and migrations, is the
embedded default. ``docs/storage.md`` describes every table.
"""

from pytake.store._base import Base, UTCDateTime, utcnow
from pytake.store._database import (
    Database,
    create_engine,
    describe_url,
    normalize_url,
    storage_unavailable,
)
from pytake.store._enums import (
    ConversationStatus,
    DeliveryStatus,
    FlowVersionStatus,
    InboxState,
    MessageDirection,
    OutboxState,
    OwnerState,
    RoutingStrategy,
    UserRole,
)
from pytake.store._migrations import (
    MIGRATIONS_DIR,
    SchemaError,
    alembic_config,
    current,
    downgrade,
    head,
    revisions,
    upgrade,
)
from pytake.store._models_accounts import AuditLog, RefreshToken, Team, TeamMember, User
from pytake.store._models_conversations import (
    Conversation,
    ConversationEvent,
    Customer,
    Message,
)
from pytake.store._models_flows import Flow, FlowExecution, FlowNode, FlowVersion
from pytake.store._models_integrations import (
    ModuleConfiguration,
    ModuleRecord,
    WebhookDelivery,
    WebhookSubscription,
)
from pytake.store._models_runtime import (
    ActorSnapshotRecord,
    DeadLetterRecord,
    InboxEntry,
    OutboxEntry,
)

__all__ = [
    "MIGRATIONS_DIR",
    "ActorSnapshotRecord",
    "AuditLog",
    "Base",
    "Conversation",
    "ConversationEvent",
    "ConversationStatus",
    "Customer",
    "Database",
    "DeadLetterRecord",
    "DeliveryStatus",
    "Flow",
    "FlowExecution",
    "FlowNode",
    "FlowVersion",
    "FlowVersionStatus",
    "InboxEntry",
    "InboxState",
    "Message",
    "MessageDirection",
    "ModuleConfiguration",
    "ModuleRecord",
    "OutboxEntry",
    "OutboxState",
    "OwnerState",
    "RefreshToken",
    "RoutingStrategy",
    "SchemaError",
    "Team",
    "TeamMember",
    "UTCDateTime",
    "User",
    "UserRole",
    "WebhookDelivery",
    "WebhookSubscription",
    "alembic_config",
    "create_engine",
    "current",
    "describe_url",
    "downgrade",
    "head",
    "normalize_url",
    "revisions",
    "storage_unavailable",
    "upgrade",
    "utcnow",
]
