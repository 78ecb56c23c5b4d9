"""The group-commit writer on real PostgreSQL and SQLite, and on PostgreSQL through a
database writer process (`WriterProcess`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
import trio
import trio.testing
from sqlalchemy.orm import Session

from pytake.errors import StorageUnavailable
from pytake.store import APPEND_JOURNAL, Database, WriterProcess
from pytake.store import GroupCommitter as _GroupCommitter

# The writer process of the ``db`` fixture's "process" case, by database.
_PROCESSES: dict[int, WriterProcess] = {}


@pytest.fixture(params=["postgresql", "sqlite", "process"])
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    async with Database(url) as database:
        # each test starts from an empty journal (the PostgreSQL database is per run)
        await database.run(lambda s: s.execute(sa.text("DELETE FROM actor_journal")))
        if request.param != "process":
            yield database
            return
        process = WriterProcess(database.url, channels=["test"])
        _PROCESSES[id(database)] = process
        try:
            yield database
        finally:
            del _PROCESSES[id(database)]
            await process.aclose()


def GroupCommitter(db: Database, **options: Any) -> _GroupCommitter:
    """A committer on ``db``, through its writer process in the fixture's "process" case."""
    process = _PROCESSES.get(id(db))
    if process is not None:
        options["executor"] = process.executor("test")
    return _GroupCommitter(db, **options)


async def _journal_rows(db: Database) -> list[tuple[str, str]]:
    def query(session: Session) -> list[tuple[str, str]]:
        rows = session.execute(sa.text("SELECT kind, actor_id FROM actor_journal ORDER BY id"))
        return [(r[0], r[1]) for r in rows]

    return await db.run(query, readonly=True)


def row(i: int) -> tuple[str, str, str, object, None]:
    return ("k", f"a{i}", "T", {"i": i}, None)


async def test_concurrent_writers_share_transactions_and_each_learns_its_id(db: Database) -> None:
    committer = GroupCommitter(db, max_batch=100)
    ids: dict[int, int] = {}
    async with trio.open_nursery() as nursery:
        await nursery.start(committer.run)

        async with trio.open_nursery() as writers:

            async def write(i: int) -> None:
                ids[i] = await committer.submit(APPEND_JOURNAL, row(i))

            for i in range(1000):
                writers.start_soon(write, i)
        nursery.cancel_scope.cancel()
    assert len(set(ids.values())) == 1000
    assert committer.rows == 1000
    assert committer.batches < 100  # grouped: far fewer transactions than rows
    stored = await _journal_rows(db)
    assert sorted(stored) == sorted(("k", f"a{i}") for i in range(1000))


async def test_a_write_set_off_in_the_same_scheduling_wave_shares_the_transaction(
    db: Database,
) -> None:
    # An actor's write, and right after it the write of the actor it told: one transaction.
    committer = GroupCommitter(db)
    ids: list[int] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(committer.run)
        await trio.testing.wait_all_tasks_blocked()

        async def first() -> None:
            ids.append(await committer.submit(APPEND_JOURNAL, row(1)))

        async def told() -> None:
            for _ in range(2):  # a hop or two after `first` has submitted (a mailbox, a tell)
                await trio.lowlevel.checkpoint()
            ids.append(await committer.submit(APPEND_JOURNAL, row(2)))

        async with trio.open_nursery() as writers:
            writers.start_soon(first)
            writers.start_soon(told)
        nursery.cancel_scope.cancel()
    assert len(ids) == 2
    assert (committer.batches, committer.rows) == (1, 2)


async def test_a_write_handed_over_without_waiting_commits_first(db: Database) -> None:
    committer = GroupCommitter(db)
    async with trio.open_nursery() as nursery:
        await nursery.start(committer.run)
        earlier = await committer.submit_soon(APPEND_JOURNAL, row(1))
        later = await committer.submit(APPEND_JOURNAL, row(2))
        assert earlier.done.is_set()  # committed by the time the later write is
        first = await earlier.outcome()
        nursery.cancel_scope.cancel()
    assert first < later
    assert committer.batches == 1
    assert await _journal_rows(db) == [("k", "a1"), ("k", "a2")]


async def test_a_lingering_write_rides_with_the_next_urgent_one(
    db: Database, mock_clock: trio.testing.MockClock
) -> None:
    committer = GroupCommitter(db)
    ids: dict[int, int] = {}
    async with trio.open_nursery() as nursery:
        await nursery.start(committer.run)

        async def lingering() -> None:
            ids[1] = await committer.submit(APPEND_JOURNAL, row(1), linger=60.0)

        nursery.start_soon(lingering)
        await trio.testing.wait_all_tasks_blocked()
        assert committer.batches == 0  # waiting: nothing urgent yet, its time not up
        started = trio.current_time()
        ids[2] = await committer.submit(APPEND_JOURNAL, row(2))
        await trio.testing.wait_all_tasks_blocked()
        assert trio.current_time() == started  # no time passed (the clock only jumps)
        nursery.cancel_scope.cancel()
    assert committer.batches == 1
    assert ids[1] < ids[2]  # submission order kept
    assert await _journal_rows(db) == [("k", "a1"), ("k", "a2")]


async def test_a_lingering_write_alone_commits_when_its_time_is_up(
    db: Database, mock_clock: trio.testing.MockClock
) -> None:
    committer = GroupCommitter(db)
    async with trio.open_nursery() as nursery:
        await nursery.start(committer.run)
        done = trio.Event()

        async def lingering() -> None:
            await committer.submit(APPEND_JOURNAL, row(1), linger=0.5)
            done.set()

        nursery.start_soon(lingering)
        await trio.testing.wait_all_tasks_blocked()
        mock_clock.jump(0.4)
        await trio.testing.wait_all_tasks_blocked()
        assert committer.batches == 0
        mock_clock.jump(0.2)
        await done.wait()
        nursery.cancel_scope.cancel()
    assert committer.batches == 1
    assert await _journal_rows(db) == [("k", "a1")]


class _Failing:
    """Writes rows, but refuses any row whose actor id is "bad"."""

    name = "failing"

    def apply_many(self, session: Session, params: Sequence[str]) -> list[None]:
        for actor_id in params:
            if actor_id == "bad":
                raise ValueError("bad row")
            session.execute(
                sa.text(
                    "INSERT INTO actor_journal (kind, actor_id, message_type, message) "
                    "VALUES ('k', :a, 'T', '{}')"
                ),
                {"a": actor_id},
            )
        return [None] * len(params)


async def test_one_bad_write_fails_only_its_caller(db: Database) -> None:
    committer = GroupCommitter(db, max_batch=50, max_delay=0.05)
    outcomes: dict[str, str] = {}
    async with trio.open_nursery() as nursery:
        await nursery.start(committer.run)
        async with trio.open_nursery() as writers:

            async def write(actor_id: str) -> None:
                try:
                    await committer.submit(_Failing(), actor_id)
                    outcomes[actor_id] = "ok"
                except ValueError as exc:
                    outcomes[actor_id] = str(exc)

            for name in ["a", "b", "bad", "c"]:
                writers.start_soon(write, name)
        nursery.cancel_scope.cancel()
    assert outcomes == {"a": "ok", "b": "ok", "bad": "bad row", "c": "ok"}
    assert sorted(a for _, a in await _journal_rows(db)) == ["a", "b", "c"]
    assert committer.failed_batches == 1


async def test_unreachable_database_fails_every_caller_and_commits_nothing() -> None:
    async with Database("postgresql+psycopg://postgres@127.0.0.1:1/none") as db:
        committer = GroupCommitter(db)
        errors: list[BaseException] = []
        async with trio.open_nursery() as nursery:
            await nursery.start(committer.run)
            async with trio.open_nursery() as writers:

                async def write(i: int) -> None:
                    try:
                        await committer.submit(APPEND_JOURNAL, row(i))
                    except StorageUnavailable as exc:
                        errors.append(exc)

                for i in range(20):
                    writers.start_soon(write, i)
            nursery.cancel_scope.cancel()
    assert len(errors) == 20
    assert committer.rows == 0
    assert "127.0.0.1:1" in str(errors[0])


async def test_submit_before_the_writer_runs_is_refused(sqlite_url: str) -> None:
    async with Database(sqlite_url) as db:
        with pytest.raises(StorageUnavailable, match="writer is not running"):
            await GroupCommitter(db).submit(APPEND_JOURNAL, row(1))


async def test_writes_left_when_the_writer_stops_are_failed_not_lost_silently(
    sqlite_url: str,
) -> None:
    async with Database(sqlite_url) as db:
        committer = GroupCommitter(db, max_delay=10)  # lingers: the write is still queued
        results: list[str] = []
        async with trio.open_nursery() as outer:
            writer = trio.CancelScope()

            async def run_writer(task_status: trio.TaskStatus[None]) -> None:
                with writer:
                    await committer.run(task_status=task_status)

            await outer.start(run_writer)

            async def write() -> None:
                try:
                    await committer.submit(APPEND_JOURNAL, row(1))
                    results.append("committed")
                except StorageUnavailable as exc:
                    results.append(str(exc))

            outer.start_soon(write)
            await trio.sleep(0.01)
            writer.cancel()
        assert results == ["the database writer stopped"]
        assert await _journal_rows(db) == []
