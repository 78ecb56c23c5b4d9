"""Durable storage: the schema, its migrations, and database access for trio code.

How the package is layered, bottom up:

- ``_base``, ``_enums``   the declarative `Base`, portable column types (aware UTC times,
                          JSON/JSONB, BIGINT/INTEGER ids) and the checked enumerations
- ``_models_*``           the tables, by area: accounts, conversations, flows, integrations,
                          runtime (outbox, inbox, actor snapshots, dead letters), privacy
                          (customers' data requests)
- ``_database``           `Database`: SQLAlchemy's sync engine run in trio worker threads,
                          one transaction per `Database.run`, connectivity errors as
                          `pytake.errors.StorageUnavailable`
- ``_migrations``         `upgrade` / `current` / `head`: Alembic, configured in code, with
                          the scripts in ``migrations/versions`` (``pytake db upgrade``)

- ``_group_commit``        `GroupCommitter`: many callers' writes per transaction, each told
                          its own outcome
- ``_writer_process``     `WriterProcess`: a group committer's transactions in a child process
- ``_redis``              `RedisConnection`: a coredis client kept open by a service task
- ``_rate_counters``      `RateCounters`: rate-limit windows in process or shared in Redis
- ``_snapshots``, ``_journal``, ``_dead_letters``
                          the actor runtime's stores: snapshots (database, Redis, both),
                          the durable-delivery journal, dead letters

PostgreSQL is the database of record; SQLite, through the same models and migrations, is the
embedded default. ``docs/storage.md`` describes every table.
"""

from pytake.store._audit import (
    GENESIS,
    SYSTEM,
    Actor,
    AuditFilter,
    AuditScope,
    ChainReport,
    audit_page,
    audit_scope,
    chain_rows,
    record_audit,
    row_hash,
    verify_audit_chain,
)
from pytake.store._base import Base, UTCDateTime, utcnow
from pytake.store._database import (
    Database,
    create_engine,
    describe_url,
    normalize_url,
    storage_unavailable,
)
from pytake.store._dead_letters import SqlDeadLetters
from pytake.store._dialect import (
    bytes_contain,
    is_postgresql,
    json_list_contains,
    serialize,
    time_key,
    time_key_value,
    upsert,
)
from pytake.store._enums import (
    ConversationStatus,
    DataRequestKind,
    DataRequestState,
    DeliveryStatus,
    FlowVersionStatus,
    InboxState,
    MessageDirection,
    OutboxState,
    OwnerState,
    RoutingStrategy,
    UserRole,
)
from pytake.store._group_commit import GroupCommitter, WriteKind, apply_writes
from pytake.store._journal import SqlActorJournal
from pytake.store._keyset import Keyset
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
from pytake.store._models_accounts import (
    AuditChain,
    AuditLog,
    PasswordToken,
    RecoveryCode,
    RefreshToken,
    SecondFactor,
    Team,
    TeamMember,
    User,
)
from pytake.store._models_canned import CannedResponse
from pytake.store._models_conversations import (
    AgentEvent,
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
from pytake.store._models_numbers import BusinessNumber, RuntimeSetting
from pytake.store._models_privacy import DataRequest
from pytake.store._models_runtime import (
    ActorJournalEntry,
    ActorSnapshotRecord,
    DeadLetterRecord,
    InboxEntry,
    OutboxEntry,
)
from pytake.store._rate_counters import (
    MemoryRateCounters,
    RateCounters,
    RedisRateCounters,
    WindowCount,
)
from pytake.store._redis import RedisConnection
from pytake.store._retention import DATA_CLASSES, RetentionSweeper, prune
from pytake.store._runtime_settings import LIVE_SETTINGS, RuntimeSettings
from pytake.store._snapshots import RedisSnapshotStore, SqlSnapshotStore, TieredSnapshotStore
from pytake.store._writer_process import WriterProcess

from ._base import JSONType, JSONValueType
from ._bulk import (
    driver_connection,
    execute_each,
    execute_returning,
    insert_once,
    insert_returning_ids,
    insert_rows,
)
from ._group_commit import Write
from ._journal import APPEND_JOURNAL, journal_in, journal_many_in, type_name

__all__ = [
    "APPEND_JOURNAL",
    "DATA_CLASSES",
    "GENESIS",
    "LIVE_SETTINGS",
    "MIGRATIONS_DIR",
    "SYSTEM",
    "Actor",
    "ActorJournalEntry",
    "ActorSnapshotRecord",
    "AgentEvent",
    "AuditChain",
    "AuditFilter",
    "AuditLog",
    "AuditScope",
    "Base",
    "BusinessNumber",
    "CannedResponse",
    "ChainReport",
    "Conversation",
    "ConversationEvent",
    "ConversationStatus",
    "Customer",
    "DataRequest",
    "DataRequestKind",
    "DataRequestState",
    "Database",
    "DeadLetterRecord",
    "DeliveryStatus",
    "Flow",
    "FlowExecution",
    "FlowNode",
    "FlowVersion",
    "FlowVersionStatus",
    "GroupCommitter",
    "InboxEntry",
    "InboxState",
    "JSONType",
    "JSONValueType",
    "Keyset",
    "MemoryRateCounters",
    "Message",
    "MessageDirection",
    "ModuleConfiguration",
    "ModuleRecord",
    "OutboxEntry",
    "OutboxState",
    "OwnerState",
    "PasswordToken",
    "RateCounters",
    "RecoveryCode",
    "RedisConnection",
    "RedisRateCounters",
    "RedisSnapshotStore",
    "RefreshToken",
    "RetentionSweeper",
    "RoutingStrategy",
    "RuntimeSetting",
    "RuntimeSettings",
    "SchemaError",
    "SecondFactor",
    "SqlActorJournal",
    "SqlDeadLetters",
    "SqlSnapshotStore",
    "Team",
    "TeamMember",
    "TieredSnapshotStore",
    "UTCDateTime",
    "User",
    "UserRole",
    "WebhookDelivery",
    "WebhookSubscription",
    "WindowCount",
    "Write",
    "WriteKind",
    "WriterProcess",
    "alembic_config",
    "apply_writes",
    "audit_page",
    "audit_scope",
    "bytes_contain",
    "chain_rows",
    "create_engine",
    "current",
    "describe_url",
    "downgrade",
    "driver_connection",
    "execute_each",
    "execute_returning",
    "head",
    "insert_once",
    "insert_returning_ids",
    "insert_rows",
    "is_postgresql",
    "journal_in",
    "journal_many_in",
    "json_list_contains",
    "normalize_url",
    "prune",
    "record_audit",
    "revisions",
    "row_hash",
    "serialize",
    "storage_unavailable",
    "time_key",
    "time_key_value",
    "type_name",
    "upgrade",
    "upsert",
    "utcnow",
    "verify_audit_chain",
]
