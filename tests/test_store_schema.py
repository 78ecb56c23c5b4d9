"""The durable schema, its migrations and `pytake.store.Database`, on real PostgreSQL and SQLite.

Needs the fixtures of ``tests/storage_fixtures.py`` (``pg_url``, ``empty_pg_url``,
``sqlite_url``, ``redis_target``), exposed by ``conftest.py``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import coredis
import pytest
import sqlalchemy as sa
import trio
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session

from pytake.errors import ConfigError, StorageUnavailable
from pytake.store import (
    ActorSnapshotRecord,
    AuditLog,
    Base,
    Conversation,
    ConversationEvent,
    ConversationStatus,
    Customer,
    Database,
    DeliveryStatus,
    InboxEntry,
    Message,
    MessageDirection,
    OutboxEntry,
    OutboxState,
    SchemaError,
    Team,
    TeamMember,
    User,
    UserRole,
    create_engine,
    current,
    describe_url,
    downgrade,
    head,
    normalize_url,
    revisions,
    upgrade,
)

from .storage_fixtures import RedisTarget

TABLES = {
    "users",
    "teams",
    "team_members",
    "customers",
    "conversations",
    "messages",
    "conversation_events",
    "agent_events",
    "flows",
    "flow_versions",
    "flow_nodes",
    "flow_executions",
    "modules",
    "module_configurations",
    "webhooks",
    "webhook_deliveries",
    "canned_responses",
    "audit_logs",
    "audit_chain",
    "outbox",
    "inbox",
    "actor_journal",
    "actor_snapshots",
    "dead_letters",
    "refresh_tokens",
    "business_numbers",
    "runtime_settings",
    "password_tokens",
    "second_factors",
    "recovery_codes",
    "data_requests",
}

#: (table, columns, unique) the product's queries rely on; unique ones may be constraints.
INDEXES = [
    ("messages", ("conversation_id", "created_at", "id"), False),
    ("messages", ("whatsapp_message_id",), True),
    ("customers", ("business_phone_number_id", "wa_id"), True),
    ("customers", ("business_phone_number_id", "bsuid"), True),
    ("customers", ("phone",), False),
    ("conversations", ("team_id", "status", "updated_at"), False),
    ("conversations", ("customer_id",), True),  # partial: one open conversation per customer
    ("outbox", ("state", "next_attempt_at"), False),
    ("inbox", ("state", "id"), False),
    ("dead_letters", ("kind", "at"), False),
    ("actor_journal", ("kind", "actor_id", "id"), False),
    ("audit_logs", ("at",), False),
    ("agent_events", ("agent_id", "seq"), True),
    ("conversation_events", ("conversation_id", "seq"), True),
    ("users", ("email",), True),
    ("refresh_tokens", ("token_hash",), True),
    ("business_numbers", ("phone_number_id",), True),
    ("password_tokens", ("token_hash",), True),
    ("recovery_codes", ("code_hash",), True),
    ("flow_versions", ("flow_id", "version"), True),
]



@pytest.fixture(params=["postgresql", "sqlite"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with nothing in it, on each backend."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("empty_pg_url")
        return url
    return f"sqlite:///{tmp_path / 'empty.db'}"


def _unique(prefix: str = "") -> str:
    return prefix + secrets.token_hex(6)


def _inspect(url: str) -> tuple[set[str], dict[str, list[tuple[tuple[str, ...], bool]]]]:
    engine = create_engine(url)
    try:
        inspector = sa.inspect(engine)
        tables = set(inspector.get_table_names())
        indexes: dict[str, list[tuple[tuple[str, ...], bool]]] = {}
        for table in tables:
            found = [
                (tuple(str(c) for c in ix["column_names"]), bool(ix["unique"]))
                for ix in inspector.get_indexes(table)
            ]
            found += [
                (tuple(uq["column_names"]), True) for uq in inspector.get_unique_constraints(table)
            ]
            indexes[table] = found
        return tables, indexes
    finally:
        engine.dispose()


# --- migrations ------------------------------------------------------------------------------


def test_upgrade_creates_every_table_and_index(db_url: str) -> None:
    tables, indexes = _inspect(db_url)
    assert tables == TABLES | {"alembic_version"}
    for table, columns, unique in INDEXES:
        assert (columns, unique) in indexes[table], f"{table}{columns} missing"
    assert current(db_url) == head()


def test_migrations_match_the_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(db_url: str) -> None:
    steps: list[str] = []
    assert upgrade(db_url, progress=steps.append) == head()
    assert upgrade(db_url, progress=steps.append) == head()
    assert steps == []
    assert current(db_url) == head()


def test_upgrade_from_empty_then_downgrade_to_base(empty_url: str) -> None:
    assert current(empty_url) is None
    steps: list[str] = []
    assert upgrade(empty_url, progress=steps.append) == head()
    assert steps == [f"{rev}: {_doc(rev)}" for rev in revisions()]
    assert downgrade(empty_url, "base") is None
    tables, _ = _inspect(empty_url)
    assert tables == {"alembic_version"}
    assert upgrade(empty_url) == head()
    assert _inspect(empty_url)[0] == TABLES | {"alembic_version"}


def test_sqlite_tables_keep_autoincrement_through_every_migration(tmp_path: Path) -> None:
    # SQLite rebuilds a table to alter it; ids of deleted rows must never come back.
    url = f"sqlite:///{tmp_path / 'ids.db'}"
    upgrade(url)
    downgrade(url, revisions()[-3])  # and down again through the newest ones
    upgrade(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            sql = dict(connection.execute(sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all())
    finally:
        engine.dispose()
    wanted = [t.name for t in Base.metadata.sorted_tables
              if t.dialect_options["sqlite"].get("autoincrement")]
    assert wanted and all("AUTOINCREMENT" in sql[name] for name in wanted), [
        name for name in wanted if "AUTOINCREMENT" not in sql[name]]


def _doc(revision: str) -> str:
    from alembic.script import ScriptDirectory

    from pytake.store import alembic_config

    script = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    assert script is not None
    return str(script.doc)


def test_upgrade_refuses_a_database_from_a_newer_pytake(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    with pytest.raises(SchemaError, match="revision '9999', which this version"):
        upgrade(sqlite_url)
    with pytest.raises(SchemaError, match="nope"):
        upgrade(sqlite_url.replace("pytake.db", "other.db"), "nope")


def test_current_of_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    assert current(f"sqlite:///{path}") is None
    assert not path.exists()


def test_cli_db_upgrade_and_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTAKE_")}

    def pytake(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytake", "db", *args, "--database-url", url],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )

    first = pytake("upgrade")
    assert first.returncode == 0, first.stderr
    assert f"applying {head()}: " in first.stdout
    assert f"database is at revision {head()} (head)" in first.stdout
    again = pytake("upgrade")
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    shown = pytake("current")
    assert shown.returncode == 0, shown.stderr
    assert f"revision {head()} (head)" in shown.stdout


def test_cli_db_upgrade_reports_an_unreachable_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTAKE_")}
    env["PYTAKE_DATABASE_URL"] = "postgresql://pytake:s3cret-pw@127.0.0.1:1/pytake"
    done = subprocess.run(
        [sys.executable, "-m", "pytake", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "pytake: error: PostgreSQL database pytake at 127.0.0.1:1 is unavailable" in done.stderr
    assert "s3cret-pw" not in done.stdout + done.stderr


# --- Database.run ----------------------------------------------------------------------------


def _add_conversation(session: Session, wa_id: str, bpn: str = "420000000000002") -> int:
    customer = Customer(business_phone_number_id=bpn, wa_id=wa_id, name="Ana Ruiz")
    session.add(customer)
    session.flush()
    conversation = Conversation(customer_id=customer.id, business_phone_number_id=bpn)
    session.add(conversation)
    session.flush()
    return conversation.id


async def test_run_round_trips_rows(db_url: str) -> None:
    email = _unique("agent-") + "@example.com"
    wa_id = _unique("34600")
    wamid = _unique("wamid.")
    sent_at = datetime(2026, 1, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-3)))

    def write(session: Session) -> int:
        user = User(email=email, name="Agent", role=UserRole.AGENT, password_hash="argon2$x")
        team = Team(name=_unique("team-"), business_hours={"mon": [["09:00", "18:00"]]})
        session.add_all([user, team])
        session.flush()
        session.add(TeamMember(team_id=team.id, user_id=user.id, skills=["billing", "pt-BR"]))
        conversation_id = _add_conversation(session, wa_id)
        message = Message(
            conversation_id=conversation_id,
            whatsapp_message_id=wamid,
            direction=MessageDirection.OUTBOUND,
            type="text",
            payload={"text": {"body": "Olá, ação ✓"}},
            status=DeliveryStatus.SENT,
            sent_at=sent_at,
            sent_by_user_id=user.id,
        )
        session.add(message)
        session.flush()
        session.add_all(
            [
                ConversationEvent(conversation_id=conversation_id, seq=1, type="opened"),
                OutboxEntry(
                    message_id=message.id,
                    business_phone_number_id="420000000000002",
                    recipient=wa_id,
                    payload={"messaging_product": "whatsapp", "to": wa_id},
                ),
                InboxEntry(
                    body=b'{"object":"whatsapp_business_account"}\xff', signature="sha256=0"
                ),
                ActorSnapshotRecord(
                    kind="conversation", actor_id=wa_id, schema_version=1, seq=2**40, data=None
                ),
                AuditLog(actor_user_id=user.id, action="user.create", ip="2001:db8::1"),
            ]
        )
        return conversation_id

    async with Database(db_url) as db:
        conversation_id = await db.run(write)

        def read(session: Session) -> dict[str, Any]:
            message = session.scalars(
                sa.select(Message).where(Message.conversation_id == conversation_id)
            ).one()
            conversation = session.get(Conversation, conversation_id)
            outbox = session.scalars(
                sa.select(OutboxEntry).where(OutboxEntry.message_id == message.id)
            ).one()
            snapshot = session.get(ActorSnapshotRecord, ("conversation", wa_id))
            user = session.scalars(sa.select(User).where(User.email == email)).one()
            member = session.scalars(
                sa.select(TeamMember).where(TeamMember.user_id == user.id)
            ).one()
            return {
                "message": message,
                "conversation": conversation,
                "outbox": outbox,
                "snapshot": snapshot,
                "user": user,
                "member": member,
            }

        rows = await db.run(read, readonly=True)

    message: Message = rows["message"]
    assert message.whatsapp_message_id == wamid
    assert message.direction is MessageDirection.OUTBOUND
    assert message.status == "sent"
    assert message.payload == {"text": {"body": "Olá, ação ✓"}}
    assert message.sent_at == sent_at
    assert message.sent_at is not None and message.sent_at.tzinfo == UTC
    assert message.created_at.tzinfo == UTC
    assert abs(message.created_at - datetime.now(UTC)) < timedelta(minutes=5)
    conversation: Conversation = rows["conversation"]
    assert conversation.status is ConversationStatus.OPEN
    assert conversation.labels == []
    assert rows["outbox"].state is OutboxState.PENDING
    assert rows["outbox"].attempts == 0
    assert rows["snapshot"].seq == 2**40
    assert rows["snapshot"].data is None
    assert rows["user"].role is UserRole.AGENT
    assert rows["user"].active is True
    assert rows["member"].skills == ["billing", "pt-BR"]
    assert rows["member"].max_concurrent == 5


async def test_server_defaults_fill_rows_inserted_without_the_orm(db_url: str) -> None:
    """Raw inserts (group commit uses Core) get the same defaults as ORM ones."""
    wa_id = _unique("34611")

    def write(session: Session) -> sa.Row[Any]:
        session.execute(
            sa.text(
                "INSERT INTO customers (business_phone_number_id, wa_id) VALUES ('bpn-raw', :w)"
            ),
            {"w": wa_id},
        )
        return session.execute(
            sa.select(Customer.attributes, Customer.created_at).where(Customer.wa_id == wa_id)
        ).one()

    async with Database(db_url) as db:
        attributes, created_at = await db.run(write)
    assert attributes == {}
    assert created_at.tzinfo == UTC
    assert abs(created_at - datetime.now(UTC)) < timedelta(minutes=5)


async def test_run_rolls_back_when_fn_raises(db_url: str) -> None:
    wa_id = _unique("34622")

    def write_then_fail(session: Session) -> None:
        _add_conversation(session, wa_id)
        raise LookupError("changed my mind")

    def count(session: Session) -> int:
        query = sa.select(sa.func.count()).select_from(Customer).where(Customer.wa_id == wa_id)
        return session.scalar(query) or 0

    async with Database(db_url) as db:
        with pytest.raises(LookupError, match="changed my mind"):
            await db.run(write_then_fail)
        assert await db.run(count) == 0


async def test_whatsapp_message_id_is_unique(db_url: str) -> None:
    wamid = _unique("wamid.")

    def add(session: Session, wamid: str | None) -> None:
        conversation_id = _add_conversation(session, _unique("34633"))
        session.add(
            Message(
                conversation_id=conversation_id,
                whatsapp_message_id=wamid,
                direction=MessageDirection.INBOUND,
                type="text",
                status=DeliveryStatus.RECEIVED,
            )
        )

    async with Database(db_url) as db:
        await db.run(add, wamid)
        with pytest.raises(sa.exc.IntegrityError):
            await db.run(add, wamid)
        # Outbound messages not sent yet have no wamid: any number of NULLs.
        await db.run(add, None)
        await db.run(add, None)


async def test_customer_is_unique_per_business_number(db_url: str) -> None:
    wa_id = _unique("34644")

    def add(session: Session, bpn: str, wa_id: str | None, bsuid: str | None = None) -> None:
        session.add(Customer(business_phone_number_id=bpn, wa_id=wa_id, bsuid=bsuid))

    async with Database(db_url) as db:
        await db.run(add, "bpn-1", wa_id)
        await db.run(add, "bpn-2", wa_id)  # another business number: another customer
        with pytest.raises(sa.exc.IntegrityError):
            await db.run(add, "bpn-1", wa_id)
        bsuid = _unique("BR.")
        await db.run(add, "bpn-1", None, bsuid)  # a username user without a phone number
        with pytest.raises(sa.exc.IntegrityError):
            await db.run(add, "bpn-1", None, bsuid)
        with pytest.raises(sa.exc.IntegrityError):  # neither id: not a customer
            await db.run(add, "bpn-1", None, None)


async def test_one_open_conversation_per_customer(db_url: str) -> None:
    def open_twice(session: Session) -> None:
        conversation_id = _add_conversation(session, _unique("34655"))
        first = session.get(Conversation, conversation_id)
        assert first is not None
        session.add(
            Conversation(customer_id=first.customer_id, business_phone_number_id="420000000000002")
        )
        session.flush()

    async with Database(db_url) as db:
        with pytest.raises(sa.exc.IntegrityError):
            await db.run(open_twice)


async def test_enumerations_and_foreign_keys_are_enforced(db_url: str) -> None:
    async with Database(db_url) as db:
        with pytest.raises(sa.exc.IntegrityError):
            await db.run(
                lambda s: s.execute(
                    sa.text(
                        "INSERT INTO users (email, name, role, password_hash) "
                        "VALUES ('x@example.com', 'X', 'root', 'h')"
                    )
                )
            )
        with pytest.raises(sa.exc.IntegrityError):
            await db.run(
                lambda s: s.add(Conversation(customer_id=2**31 - 1, business_phone_number_id="bpn"))
            )


def test_naive_datetimes_are_refused(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        with pytest.raises(sa.exc.StatementError, match="naive datetime"), Session(engine) as s:
            s.add(InboxEntry(body=b"{}", received_at=datetime(2026, 1, 1)))
            s.flush()
    finally:
        engine.dispose()


# --- availability ----------------------------------------------------------------------------


async def test_unreachable_postgres_raises_storage_unavailable_quickly() -> None:
    db = Database("postgresql://pytake:s3cret-pw@127.0.0.1:1/pytake")
    started = time.monotonic()
    with trio.fail_after(15):
        with pytest.raises(StorageUnavailable) as caught:
            await db.run(lambda s: s.execute(sa.text("SELECT 1")))
        with pytest.raises(StorageUnavailable):
            await db.ping()
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert message.startswith("PostgreSQL database pytake at 127.0.0.1:1 is unavailable: ")
    assert "refused" in message.lower()
    assert "s3cret-pw" not in message
    assert isinstance(caught.value.__cause__, sa.exc.OperationalError)
    assert caught.value.retry_after > 0
    await db.aclose()


async def test_ping(db_url: str) -> None:
    async with Database(db_url) as db:
        await db.ping()


async def test_sql_mistakes_are_not_storage_unavailable(db_url: str) -> None:
    async with Database(db_url) as db:
        with pytest.raises(sa.exc.DBAPIError) as caught:
            await db.run(lambda s: s.execute(sa.text("SELECT * FROM no_such_table")))
    assert not isinstance(caught.value, StorageUnavailable)


async def test_closed_database_refuses_work(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await db.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await db.ping()


async def test_postgres_readonly_transactions_cannot_write(pg_url: str) -> None:
    async with Database(pg_url) as db:
        with pytest.raises(sa.exc.DBAPIError, match="read-only"):
            await db.run(
                lambda s: s.add(Customer(business_phone_number_id="bpn", wa_id=_unique())),
                readonly=True,
            )
        await db.run(lambda s: s.add(Customer(business_phone_number_id="bpn", wa_id=_unique())))


# --- SQLite specifics ------------------------------------------------------------------------


async def test_sqlite_pragmas(sqlite_url: str) -> None:
    def pragmas(session: Session) -> dict[str, Any]:
        return {
            name: session.execute(sa.text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }

    async with Database(sqlite_url) as db:
        found = await db.run(pragmas, readonly=True)
    # synchronous: 1 is NORMAL
    assert found == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


async def test_sqlite_concurrent_writers_all_succeed(sqlite_url: str) -> None:
    """Each writer reads, then writes: with a plain deferred BEGIN, upgrading the read lock
    fails at once with "database is locked"; BEGIN IMMEDIATE makes the writers queue."""

    def read_then_write(session: Session, n: int) -> None:
        session.scalar(sa.select(sa.func.count()).select_from(Customer))
        time.sleep(0.01)  # let the others start their transactions
        session.add(Customer(business_phone_number_id="bpn-concurrent", wa_id=f"w{n}"))

    def count(session: Session) -> int:
        query = sa.select(sa.func.count()).select_from(Customer)
        result = session.scalar(query.where(Customer.business_phone_number_id == "bpn-concurrent"))
        return result or 0

    async with Database(sqlite_url, max_threads=8) as db:
        async with trio.open_nursery() as nursery:
            for n in range(8):
                nursery.start_soon(db.run, read_then_write, n)
        assert await db.run(count, readonly=True) == 8


async def test_sqlite_readers_do_not_wait_for_the_writer(sqlite_url: str) -> None:
    """WAL and a deferred BEGIN for read-only work: a reader completes while a writer holds
    the write lock (the writer waits for the reader, so a blocked reader would time out)."""
    lock_held = threading.Event()
    reader_done = threading.Event()

    def write_and_hold(session: Session) -> bool:
        session.add(Customer(business_phone_number_id="bpn-hold", wa_id="w1"))
        session.flush()
        lock_held.set()
        return reader_done.wait(timeout=10)

    def count(session: Session) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(Customer)) or 0

    async with Database(sqlite_url) as db:
        outcome: dict[str, Any] = {}

        async def writer() -> None:
            outcome["reader_finished_in_time"] = await db.run(write_and_hold)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            await trio.to_thread.run_sync(lock_held.wait)
            outcome["seen"] = await db.run(count, readonly=True)
            reader_done.set()
        assert outcome == {"reader_finished_in_time": True, "seen": 0}
        assert await db.run(count, readonly=True) == 1


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(ConfigError, match="in-memory"):
        Database("sqlite://")
    with pytest.raises(ConfigError, match="not supported"):
        Database("mysql://root@localhost/pytake")


# --- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgres://u@h/db?sslmode=require", "postgresql+psycopg://u@h/db?sslmode=require"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///pytake.db", "sqlite:///pytake.db"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_describe_url_hides_credentials() -> None:
    text = describe_url("postgresql://admin:hunter2@db.internal:6543/pytake")
    assert text == "PostgreSQL database pytake at db.internal:6543"
    assert describe_url("sqlite:///data/pytake.db") == "SQLite database data/pytake.db"
    assert "hunter2" not in repr(Database("postgresql://admin:hunter2@db.internal/pytake"))
    with pytest.raises(ConfigError):
        normalize_url("not a url")


# --- Redis fixture ---------------------------------------------------------------------------


async def test_redis_target_is_usable(redis_target: RedisTarget) -> None:
    assert redis_target.prefix.startswith("pytake-test-")
    assert redis_target.prefix.endswith(":")
    key = redis_target.key("probe", _unique())
    async with coredis.Redis.from_url(redis_target.url) as client:
        await client.set(key, "1", ex=60)
        assert await client.get(key) == b"1"
