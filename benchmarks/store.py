"""Storage benchmark: ``python -m benchmarks.store [--quick] [--json PATH]``.

Every number is measured in this run, against a PostgreSQL database made for it
(``pytake_bench_<hex>``, migrated, dropped at the end), a migrated SQLite file in a temporary
directory, and Redis under a key prefix unique to the run (its keys deleted at the end):

- ``naive_rows_per_s``: one INSERT + COMMIT per row (`Database.run` per row, one task), the
  baseline for
- ``group_commit_rows_per_s``: many tasks writing the same rows through `GroupCommitter`;
- ``commit_p50_ms`` / ``commit_p99_ms``: time from ``submit`` to its return, under an
  open-loop offered load of 5,000 rows/s (a submit started every 0.2 ms on schedule, whether
  or not earlier ones have returned);
- snapshot writes (``save_many`` of 500, several at once, as the runtime's write-behind does)
  and restores (concurrent ``load`` of distinct ids) through `SqlSnapshotStore` and
  `RedisSnapshotStore`.

The rows are actor-journal appends (`pytake.store._journal.APPEND_JOURNAL`), the write the
runtime puts on the group committer for every durable message. Rows and latencies are
PostgreSQL's unless the key starts with ``sqlite_``.

Where the servers are: ``PYTAKE_BENCH_PG_ADMIN_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``, a role allowed to create databases) and
``PYTAKE_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``).
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import coredis
import psycopg
import trio
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pytake.actors import Snapshot, SnapshotStore
from pytake.store import (
    APPEND_JOURNAL,
    Database,
    GroupCommitter,
    RedisConnection,
    RedisSnapshotStore,
    SqlSnapshotStore,
    upgrade,
)

from ._report import parse_args, progress, report, run_main

PG_ADMIN_ENV = "PYTAKE_BENCH_PG_ADMIN_URL"
REDIS_ENV = "PYTAKE_BENCH_REDIS_URL"
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

#: Concurrent writers for the group-commit throughput test.
WRITERS = 500
#: Offered load (rows per second) for the latency test.
OFFERED_RATE = 5000
#: Snapshots per ``save_many`` (the write-behind's batch) and batches in flight at once.
SNAPSHOT_BATCH = 500
SNAPSHOT_WRITERS = 4
#: Concurrent restoring tasks.
RESTORERS = 50

JournalParams = tuple[str, str, str, Any, Any]


@attrs.frozen
class Sizes:
    naive_seconds: float
    group_seconds: float
    latency_seconds: float
    snapshots: int
    restore_seconds: float

    @classmethod
    def pick(cls, quick: bool) -> Sizes:
        if quick:
            return cls(1.5, 2.0, 2.0, 10_000, 1.5)
        return cls(4.0, 5.0, 5.0, 50_000, 4.0)


# --- rows -------------------------------------------------------------------------------------

_MESSAGE_TYPE = "pytake.engine:CustomerMessage"


def journal_row(i: int) -> JournalParams:
    """A realistic small journal row: an inbound customer message for a conversation actor."""
    data = {
        "wa_message_id": f"wamid.HBgMNTUxMTk5OTk5{i:010d}",
        "from": f"55119{i % 100_000:08d}",
        "type": "text",
        "text": "Olá, gostaria de saber o status do meu pedido",
        "timestamp": 1_700_000_000 + i,
    }
    return ("conversation", f"conv-{i % 10_000}", _MESSAGE_TYPE, data, None)


def snapshot(i: int, seq: int) -> Snapshot:
    data = {
        "customer": f"55119{i:08d}",
        "status": "open",
        "flow": {"id": 42, "node": "ask_order", "vars": {"name": "Ana", "order": f"A-{i}"}},
        "assignee": None,
        "unread": seq % 7,
        "last_message_at": 1_700_000_000.0 + seq,
        "tags": ["vip", "pt-BR"],
    }
    return Snapshot("conversation", f"conv-{i:07d}", 3, seq, data, journal=seq)


def _insert_one(session: Session, params: JournalParams) -> int:
    (row_id,) = APPEND_JOURNAL.apply_many(session, [params])
    return row_id


def pct(samples: list[float], q: float) -> float:
    """The ``q`` quantile of ``samples`` (seconds), in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


def pct_or_none(samples: list[float], q: float) -> float | None:
    """`pct` rounded to 0.01 ms for reports, ``None`` without samples."""
    return round(pct(samples, q), 2) if samples else None


# --- database rows ----------------------------------------------------------------------------


async def naive(db: Database, seconds: float) -> float:
    """Rows per second, one transaction per row, one after another."""
    for i in range(50):  # warm-up: connect, compile the statement
        await db.run(_insert_one, journal_row(i))
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            await db.run(_insert_one, journal_row(count))
            count += 1
    return count / (time.perf_counter() - started)


async def group(committer: GroupCommitter, seconds: float) -> tuple[float, float]:
    """Rows per second with ``WRITERS`` tasks submitting one row at a time; and rows per
    transaction."""
    await committer.submit_many(APPEND_JOURNAL, [journal_row(i) for i in range(1000)])  # warm-up
    rows = 0
    batches_before, rows_before = committer.batches, committer.rows
    started = time.perf_counter()
    deadline = started + seconds

    async def writer(n: int) -> None:
        nonlocal rows
        i = n
        while time.perf_counter() < deadline:
            await committer.submit(APPEND_JOURNAL, journal_row(i))
            rows += 1
            i += WRITERS

    async with trio.open_nursery() as nursery:
        for n in range(WRITERS):
            nursery.start_soon(writer, n)
    elapsed = time.perf_counter() - started
    per_batch = (committer.rows - rows_before) / max(1, committer.batches - batches_before)
    return rows / elapsed, per_batch


@attrs.frozen
class Latency:
    samples: list[float]  # submit to return, seconds
    from_schedule: list[float]  # scheduled start to return, seconds
    achieved_rate: float  # submits actually started per second
    done_rate: float  # rows committed per second, from the first start to the last return
    per_batch: float


async def open_loop(committer: GroupCommitter, rate: int, seconds: float) -> Latency:
    """Start a submit every ``1/rate`` s on schedule, for ``seconds``; time each one."""
    await committer.submit_many(APPEND_JOURNAL, [journal_row(i) for i in range(200)])  # warm-up
    interval = 1.0 / rate
    total = int(rate * seconds)
    samples: list[float] = []
    from_schedule: list[float] = []
    batches_before, rows_before = committer.batches, committer.rows
    last_done = 0.0

    async def one(i: int, due: float) -> None:
        nonlocal last_done
        t0 = trio.current_time()
        await committer.submit(APPEND_JOURNAL, journal_row(i))
        t1 = last_done = trio.current_time()
        samples.append(t1 - t0)
        from_schedule.append(t1 - due)

    async with trio.open_nursery() as nursery:
        start = trio.current_time() + 0.01
        behind = 0
        for i in range(total):
            due = start + i * interval
            if trio.current_time() < due:
                behind = 0
                await trio.sleep_until(due)
            else:
                # Late (epoll wakes us in whole milliseconds): start the overdue ones now, but
                # let them run now and then if we stay behind.
                behind += 1
                if behind % 50 == 0:
                    await trio.lowlevel.checkpoint()
            nursery.start_soon(one, i, due)
        last_started = trio.current_time()
    per_batch = (committer.rows - rows_before) / max(1, committer.batches - batches_before)
    return Latency(
        samples,
        from_schedule,
        achieved_rate=total / (last_started - start),
        done_rate=total / (last_done - start),
        per_batch=per_batch,
    )


@attrs.frozen
class RowResults:
    naive: float
    group: float
    rows_per_batch: float
    latency: Latency


async def rows_benchmark(url: str, sizes: Sizes, label: str) -> RowResults:
    async with Database(url) as db:
        progress(f"{label}: naive, one INSERT + COMMIT per row, {sizes.naive_seconds:g} s")
        naive_rate = await naive(db, sizes.naive_seconds)
        async with trio.open_nursery() as nursery:
            committer = GroupCommitter(db)
            await nursery.start(committer.run)
            progress(f"{label}: group commit, {WRITERS} writers, {sizes.group_seconds:g} s")
            group_rate, per_batch = await group(committer, sizes.group_seconds)
            progress(
                f"{label}: commit latency at {OFFERED_RATE:,} rows/s offered, "
                f"{sizes.latency_seconds:g} s"
            )
            latency = await open_loop(committer, OFFERED_RATE, sizes.latency_seconds)
            nursery.cancel_scope.cancel()
    return RowResults(naive_rate, group_rate, per_batch, latency)


# --- snapshots --------------------------------------------------------------------------------


async def write_snapshots(store: SnapshotStore, count: int, seq: int) -> float:
    """Snapshots written per second: ``count`` of them, ``SNAPSHOT_BATCH`` per ``save_many``,
    ``SNAPSHOT_WRITERS`` calls in flight."""
    batches = iter(range(0, count, SNAPSHOT_BATCH))

    async def writer() -> None:
        for first in batches:
            last = min(count, first + SNAPSHOT_BATCH)
            await store.save_many([snapshot(i, seq) for i in range(first, last)])

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(SNAPSHOT_WRITERS):
            nursery.start_soon(writer)
    return count / (time.perf_counter() - started)


async def restore_snapshots(store: SnapshotStore, count: int, seconds: float, seq: int) -> float:
    """Snapshots loaded per second by ``RESTORERS`` tasks, each id loaded once (until the
    ``count`` ids run out; then they are loaded again)."""
    ids = itertools.count()
    loaded = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def restorer() -> None:
        nonlocal loaded
        while time.perf_counter() < deadline:
            i = next(ids) % count
            snap = await store.load("conversation", f"conv-{i:07d}")
            assert snap is not None and snap.seq == seq, (i, snap)
            loaded += 1

    async with trio.open_nursery() as nursery:
        for _ in range(RESTORERS):
            nursery.start_soon(restorer)
    return loaded / (time.perf_counter() - started)


@attrs.frozen
class SnapshotResults:
    inserts: float  # first write of each id
    writes: float  # later writes (updates), as the write-behind mostly does
    restores: float


async def snapshot_rounds(store: SnapshotStore, sizes: Sizes, label: str) -> SnapshotResults:
    n = sizes.snapshots
    await store.save_many([snapshot(i, 0) for i in range(n, n + SNAPSHOT_BATCH)])  # warm-up
    progress(f"{label}: snapshot writes, {n:,} new then {n:,} updated, {SNAPSHOT_BATCH} a call")
    inserts = await write_snapshots(store, n, seq=1)
    writes = await write_snapshots(store, n, seq=2)
    progress(f"{label}: snapshot restores, {RESTORERS} tasks, {sizes.restore_seconds:g} s")
    restores = await restore_snapshots(store, n, sizes.restore_seconds, seq=2)
    return SnapshotResults(inserts, writes, restores)


async def pg_snapshots(url: str, sizes: Sizes) -> SnapshotResults:
    async with Database(url) as db, trio.open_nursery() as nursery:
        committer = GroupCommitter(db)
        await nursery.start(committer.run)
        results = await snapshot_rounds(SqlSnapshotStore(db, committer), sizes, "postgres")
        nursery.cancel_scope.cancel()
    return results


async def redis_snapshots(url: str, prefix: str, sizes: Sizes) -> SnapshotResults:
    conn = RedisConnection(url, prefix=prefix)
    async with trio.open_nursery() as nursery:
        await nursery.start(conn.run)
        with trio.fail_after(10):
            await conn.connected.wait()
        results = await snapshot_rounds(RedisSnapshotStore(conn), sizes, "redis")
        nursery.cancel_scope.cancel()
    return results


# --- resources --------------------------------------------------------------------------------


def psycopg_url(url: str) -> str:
    """``url`` (SQLAlchemy's form, any PostgreSQL driver) as libpq takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin_url() -> str:
    return psycopg_url(os.environ.get(PG_ADMIN_ENV) or DEFAULT_PG_ADMIN_URL)


@contextmanager
def pg_database() -> Iterator[str]:
    """A new, migrated PostgreSQL database; yields its URL, drops it at the end."""
    name = f"pytake_bench_{secrets.token_hex(6)}"
    admin = _admin_url()
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = make_url(admin).set(drivername="postgresql+psycopg", database=name)
        text = url.render_as_string(hide_password=False)
        upgrade(text)
        yield text
    finally:
        with _no_interrupts():
            try:
                with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
            except psycopg.Error as exc:
                progress(f"could not drop database {name} ({exc}); drop it by hand")
            else:
                progress(f"dropped database {name}")


def analyze(database_url: str) -> None:
    """``ANALYZE`` the whole database, and say how long it took.

    The load benchmarks call it once their set-up has filled the tables, before measuring.
    In a database made seconds ago, PostgreSQL plans with statistics of empty tables, and a
    prepared statement keeps its plan until the next analyze: the lookups of a batch (the
    outbox's idempotency keys, the join of a batch of message ids, a number's customers)
    scan whole tables that have since grown, which costs more with every row.  On a running
    system autovacuum analyzes a table within about a minute of such growth; without this
    the benchmarks would measure that first minute of a new database instead."""
    started = time.perf_counter()
    with psycopg.connect(psycopg_url(database_url), autocommit=True, connect_timeout=5) as conn:
        conn.execute("ANALYZE")
    progress(f"analyzed the database in {time.perf_counter() - started:.1f} s "
             "(as autovacuum would)")


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="pytake-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        yield url


async def _redis_delete_prefix(url: str, prefix: str) -> int:
    deleted = 0
    async with coredis.Redis.from_url(url) as client:
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"
        batch: list[Any] = []
        async for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += await client.delete(batch)
                batch = []
        if batch:
            deleted += await client.delete(batch)
    return deleted


@contextmanager
def redis_prefix(url: str) -> Iterator[str]:
    """A key prefix unique to this run; every key under it is deleted at the end."""
    prefix = f"pytake-bench-{secrets.token_hex(6)}:"
    try:
        yield prefix
    finally:
        with _no_interrupts():
            try:
                deleted = trio.run(_redis_delete_prefix, url, prefix)
            except Exception as exc:  # coredis raises several kinds
                progress(f"could not delete Redis keys under {prefix} ({exc!r}); delete them")
            else:
                progress(f"deleted {deleted:,} Redis keys under {prefix}")


@contextmanager
def _no_interrupts() -> Iterator[None]:
    """Let clean-up finish even if Ctrl-C is pressed again."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    run_main(_main)


def _main() -> None:
    args = parse_args(__doc__ or "")
    quick: bool = args.quick
    sizes = Sizes.pick(quick)
    redis_url = os.environ.get(REDIS_ENV) or DEFAULT_REDIS_URL
    wall = time.perf_counter()

    with pg_database() as pg_url, sqlite_database() as sqlite_url, redis_prefix(
        redis_url
    ) as prefix:
        progress("databases ready (PostgreSQL and SQLite created and migrated)")
        pg = trio.run(rows_benchmark, pg_url, sizes, "postgres")
        lite = trio.run(rows_benchmark, sqlite_url, sizes, "sqlite")
        pg_snap = trio.run(pg_snapshots, pg_url, sizes)
        redis_snap = trio.run(redis_snapshots, redis_url, prefix, sizes)

    results = {
        "quick": quick,
        "naive_rows_per_s": round(pg.naive),
        "group_commit_rows_per_s": round(pg.group),
        "group_commit_ratio": round(pg.group / pg.naive, 2),
        "group_commit_rows_per_batch": round(pg.rows_per_batch, 1),
        "commit_p50_ms": round(pct(pg.latency.samples, 0.50), 2),
        "commit_p99_ms": round(pct(pg.latency.samples, 0.99), 2),
        "commit_p99_ms_from_schedule": round(pct(pg.latency.from_schedule, 0.99), 2),
        "commit_offered_rows_per_s": round(pg.latency.achieved_rate),
        "commit_done_rows_per_s": round(pg.latency.done_rate),
        "commit_rows_per_batch": round(pg.latency.per_batch, 1),
        "snapshot_writes_per_s_postgres": round(pg_snap.writes),
        "snapshot_inserts_per_s_postgres": round(pg_snap.inserts),
        "snapshot_restores_per_s_postgres": round(pg_snap.restores),
        "snapshot_writes_per_s_redis": round(redis_snap.writes),
        "snapshot_inserts_per_s_redis": round(redis_snap.inserts),
        "snapshot_restores_per_s_redis": round(redis_snap.restores),
        "sqlite_naive_rows_per_s": round(lite.naive),
        "sqlite_group_commit_rows_per_s": round(lite.group),
        "sqlite_group_commit_ratio": round(lite.group / lite.naive, 2),
        "sqlite_commit_p50_ms": round(pct(lite.latency.samples, 0.50), 2),
        "sqlite_commit_p99_ms": round(pct(lite.latency.samples, 0.99), 2),
        "sqlite_commit_offered_rows_per_s": round(lite.latency.achieved_rate),
        "wall_s": round(time.perf_counter() - wall, 1),
    }
    targets = {
        "group_commit_ratio": ">= 20",
        "commit_p99_ms": f"<= 20 at {OFFERED_RATE:,} rows/s offered",
    }
    report("store", results, targets, args.json)


if __name__ == "__main__":
    main()
