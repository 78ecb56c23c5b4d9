"""Issue 3's proofs: crashes, SIGKILL, Redis lost, PostgreSQL lost, on the real services."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from pytake.actors import Snapshot
from pytake.engine import Engine
from pytake.errors import StorageUnavailable
from pytake.store import (
    Database,
    GroupCommitter,
    RedisConnection,
    RedisSnapshotStore,
    SqlSnapshotStore,
    TieredSnapshotStore,
)

from .ledger_app import EXPLOSIONS, Entries, Explode, Record, make_engine, settings_for
from .service_instances import PrivatePostgres, PrivateRedis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@asynccontextmanager
async def running(engine: Engine) -> AsyncIterator[Engine]:
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        try:
            yield engine
        finally:
            await engine.aclose()
            nursery.cancel_scope.cancel()


async def entries(engine: Engine, ledger: str) -> list[int]:
    result: list[int] = await engine.router.ref("ledger", ledger).ask(Entries(), timeout=30)
    return result


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")
    return url


# 1. an actor that crashes is restored from its snapshot: nothing lost, nothing twice


async def test_crashing_actor_restores_and_applies_every_message_once(database_url: str) -> None:
    EXPLOSIONS.clear()
    ledger = f"crash-{secrets.token_hex(4)}"
    settings = settings_for(database_url, PYTAKE_ACTORS__BACKOFF_INITIAL="0.01")
    async with running(make_engine(settings, poison_threshold=5)) as engine:
        router = engine.router
        for n in range(30):
            message = Explode(n, times=2) if n % 7 == 3 else Record(n)
            await router.tell_durable("ledger", ledger, message)
        assert await entries(engine, ledger) == list(range(30))
        assert router.runtime("ledger").stats.crashes == 2 * len(range(3, 30, 7))
        # evict it and come back from the database's snapshot
        assert await router.passivate_idle() >= 1
        assert router.runtime("ledger").stats.live == 0
        assert await entries(engine, ledger) == list(range(30))
    # a new process (engine) on the same database sees the same state
    async with running(make_engine(settings)) as engine:
        assert await entries(engine, ledger) == list(range(30))


# 2. SIGKILL in the middle of a stream: every acknowledged message is there exactly once


async def test_sigkill_mid_stream_loses_no_acknowledged_message(pg_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": ROOT}
    # a database of its own, so the ledgers start empty
    from .storage_fixtures import create_pg_database, drop_pg_database

    name, url = create_pg_database()
    try:
        server = await trio.lowlevel.open_process(
            [sys.executable, "-m", "tests.ledger_app", "serve", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        assert server.stdin is not None and server.stdout is not None
        acked: list[int] = []
        buffer = b""
        with trio.fail_after(60):
            while b"ready\n" not in buffer:
                buffer += await server.stdout.receive_some()
            buffer = buffer.split(b"ready\n", 1)[1]

            async def feed() -> None:
                assert server.stdin is not None
                for n in range(100_000):
                    try:
                        await server.stdin.send_all(f"{n}\n".encode())
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        return
                    if n % 50 == 0:
                        await trio.sleep(0.001)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(feed)
                while len(acked) < 2000:
                    chunk = await server.stdout.receive_some()
                    if not chunk:
                        break
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    acked += [int(line.split()[1]) for line in lines if line.startswith(b"ack ")]
                server.send_signal(signal.SIGKILL)
                # acks already written by the server before it died count too
                while chunk := await server.stdout.receive_some():
                    buffer += chunk
                acked += [
                    int(line.split()[1])
                    for line in buffer.split(b"\n")
                    if line.startswith(b"ack ") and line.count(b" ") == 1
                ]
                nursery.cancel_scope.cancel()
            await server.wait()
        assert server.returncode == -signal.SIGKILL
        assert len(acked) >= 2000

        dump = await trio.run_process(
            [sys.executable, "-m", "tests.ledger_app", "dump", url],
            capture_stdout=True,
            env=env,
            cwd=ROOT,
        )
        ledgers: dict[str, list[int]] = json.loads(dump.stdout.decode().strip().splitlines()[-1])
        applied = [n for values in ledgers.values() for n in values]
        assert len(applied) == len(set(applied)), "a message was applied twice"
        missing = set(acked) - set(applied)
        assert not missing, f"{len(missing)} acknowledged messages lost"
        # (the order is the journal's commit order, which concurrent senders decide)
        for ledger, values in ledgers.items():
            assert all(f"l{n % 5}" == ledger for n in values)
        assert set(applied) <= set(range(100_000))
    finally:
        drop_pg_database(name)


# 3. Redis flushed or stopped: restore from PostgreSQL; Redis is used again when it returns


async def test_redis_lost_and_back(pg_url: str, private_redis: PrivateRedis) -> None:
    ledger = f"redis-{secrets.token_hex(4)}"
    prefix = f"pytake-test-{secrets.token_hex(4)}:"
    settings = settings_for(
        pg_url, PYTAKE_REDIS_URL=private_redis.url, PYTAKE_REDIS_PREFIX=prefix
    )
    key = f"{prefix}snap:ledger:{ledger}"
    engine = make_engine(settings)
    assert engine.redis is not None
    store = engine.snapshots
    assert isinstance(store, TieredSnapshotStore)
    async with running(engine):
        with trio.fail_after(10):
            await engine.redis.connected.wait()
        router = engine.router
        for n in range(5):
            await router.tell_durable("ledger", ledger, Record(n))
        assert await entries(engine, ledger) == list(range(5))
        assert await router.passivate_idle() >= 1
        assert private_redis.cli("EXISTS", key) == "1"

        private_redis.cli("FLUSHALL")
        await router.tell_durable("ledger", ledger, Record(5))
        assert await entries(engine, ledger) == list(range(6))  # restored from PostgreSQL

        private_redis.stop()
        for n in range(6, 10):
            await router.tell_durable("ledger", ledger, Record(n))  # service continues
        assert await entries(engine, ledger) == list(range(10))
        assert await router.passivate_idle() >= 1
        assert await entries(engine, ledger) == list(range(10))
        assert store.hot_errors > 0

        private_redis.start()
        with trio.fail_after(20):
            await engine.redis.connected.wait()
        await router.tell_durable("ledger", ledger, Record(10))
        assert await entries(engine, ledger) == list(range(11))
        assert await router.passivate_idle() >= 1
        assert private_redis.cli("EXISTS", key) == "1"  # written to Redis again
        hits = store.hot_hits
        assert await entries(engine, ledger) == list(range(11))
        assert store.hot_hits == hits + 1  # and read from it


async def test_stale_redis_copy_is_ignored(pg_url: str, redis_target: object) -> None:
    url, prefix = redis_target.url, redis_target.prefix  # type: ignore[attr-defined]
    redis = RedisConnection(url, prefix=prefix)
    async with Database(pg_url) as db, trio.open_nursery() as nursery:
        committer = GroupCommitter(db)
        await nursery.start(committer.run)
        await nursery.start(redis.run)
        await redis.connected.wait()
        hot, cold = RedisSnapshotStore(redis), SqlSnapshotStore(db, committer)
        store = TieredSnapshotStore(hot, cold)
        ident = secrets.token_hex(4)
        await store.save_many([Snapshot("ledger", ident, 1, 5, {"entries": [1, 2, 3, 4, 5]})])
        # an old copy in Redis (as if Redis had missed the later writes)
        await hot.save_many([Snapshot("ledger", ident, 1, 3, {"entries": [1, 2, 3]})])
        loaded = await store.load("ledger", ident)
        assert loaded is not None and loaded.seq == 5 and loaded.data["entries"] == [1, 2, 3, 4, 5]
        # and a stale write to the database never replaces a newer row
        await cold.save_many([Snapshot("ledger", ident, 1, 2, {"entries": [1, 2]})])
        again = await cold.load("ledger", ident)
        assert again is not None and again.seq == 5
        # Redis ahead of the database (written last) wins
        await hot.save_many([Snapshot("ledger", ident, 1, 6, {"entries": [1, 2, 3, 4, 5, 6]})])
        newest = await store.load("ledger", ident)
        assert newest is not None and newest.seq == 6
        nursery.cancel_scope.cancel()


# 4. PostgreSQL stopped: nothing new acknowledged, a clear error, recovery without restart


async def test_postgres_lost_and_back(private_postgres: PrivatePostgres) -> None:
    settings = settings_for(private_postgres.url, PYTAKE_DATABASE_THREADS="4")
    async with running(make_engine(settings)) as engine:
        router = engine.router
        acked = []
        for n in range(10):
            await router.tell_durable("ledger", "pg", Record(n))
            acked.append(n)

        private_postgres.stop()
        refused = 0
        with trio.fail_after(60):
            for n in range(10, 15):
                with pytest.raises(StorageUnavailable) as info:
                    await router.tell_durable("ledger", "pg", Record(n))
                refused += 1
        assert refused == 5
        assert "127.0.0.1" in str(info.value) and "password" not in str(info.value)

        private_postgres.start()  # returns once its port takes connections
        with trio.fail_after(60):
            while True:  # the first attempts may meet connections the restart broke
                try:
                    await router.tell_durable("ledger", "pg", Record(100))
                    break
                except StorageUnavailable:
                    await trio.sleep(0.01)  # a polling tick: each attempt is the check
        acked.append(100)
        for n in range(101, 105):
            await router.tell_durable("ledger", "pg", Record(n))
            acked.append(n)
        assert await entries(engine, "pg") == acked
        assert await router.passivate_idle() >= 1
        assert await entries(engine, "pg") == acked
