"""The database writer process: group-commit batches run in a child process, on real
PostgreSQL (the ordinary committer behaviour runs through it in test_group_commit.py)."""

from __future__ import annotations

import errno
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import trio
from sqlalchemy.orm import Session

from pytake.config import Settings
from pytake.engine import Engine
from pytake.errors import StorageUnavailable
from pytake.store import APPEND_JOURNAL, Database, GroupCommitter, WriterProcess
from pytake.store import _writer_process as writer_module


class _Sleep:
    """Sleeps in the database for each parameter's seconds; returns the backend's pid.
    ``tag`` goes into the statement (a comment), where `_until_sleeping` looks for it."""

    name = "sleep"

    def __init__(self, tag: str = "") -> None:
        self.tag = tag

    def apply_many(self, session: Session, params: Sequence[float]) -> list[int]:
        pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        statement = sa.text(
            f"SELECT pg_sleep(:s) /* {self.tag} */" if self.tag else "SELECT pg_sleep(:s)"
        )
        for seconds in params:
            session.execute(statement, {"s": seconds})
        return [int(pid)] * len(params)


async def _until_sleeping(pg_url: str, tag: str) -> None:
    """Until PostgreSQL runs a statement of ``_Sleep(tag)`` (the batch is under way)."""

    def running(session: Session) -> int:
        query = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND query LIKE :pattern AND pid <> pg_backend_pid()"
        )
        return int(session.execute(query, {"pattern": f"%pg_sleep(%/* {tag} */%"}).scalar_one())

    async with Database(pg_url) as db:
        with trio.fail_after(20):
            while not await db.run(running, readonly=True):
                await trio.sleep(0.01)


class _Unpicklable(Exception):
    def __init__(self, detail: str, extra: int) -> None:  # pickle cannot rebuild it
        super().__init__(detail)
        self.extra = extra
        self.lock = threading.Lock()


class _RaisesUnpicklable:
    name = "raises"

    def apply_many(self, session: Session, params: Sequence[int]) -> list[None]:
        raise _Unpicklable("cannot travel", 1)


def row(i: int) -> tuple[str, str, str, object, None]:
    return ("k", f"w{i}", "T", {"i": i}, None)


@pytest.fixture
async def process(pg_url: str) -> AsyncIterator[WriterProcess]:
    async with Database(pg_url) as db:
        writer = WriterProcess(db.url, channels=["a", "b"])
        try:
            yield writer
        finally:
            await writer.aclose()


async def _running_pid(process: WriterProcess) -> int:
    """Run a batch on channel "a"; the process id of the child that ran it."""
    await process.apply("a", [(_Sleep(), 0.0)])
    pid = process.pid
    assert pid is not None
    return pid


def _stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (``None``: no such process)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _ignored_signals(pid: int) -> set[int]:
    """The signals process ``pid`` ignores (``SigIgn`` in ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            mask = int(line.split()[1], 16)
            return {n for n in range(1, mask.bit_length() + 1) if mask >> (n - 1) & 1}
    raise AssertionError(f"no SigIgn line in /proc/{pid}/status")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by trio) counts as gone.
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


async def test_a_batch_commits_in_the_child_and_returns_its_results(
    process: WriterProcess, pg_url: str
) -> None:
    ids = await process.apply("a", [(APPEND_JOURNAL, row(1)), (APPEND_JOURNAL, row(2))])
    assert len(ids) == 2 and ids[0] < ids[1]
    assert process.pid is not None and process.pid != os.getpid()
    async with Database(pg_url) as db:
        stored = await db.run(lambda s: s.execute(
            sa.text("SELECT actor_id FROM actor_journal WHERE id = ANY(:ids) ORDER BY id"),
            {"ids": ids}).scalars().all(), readonly=True)
    assert stored == ["w1", "w2"]


async def test_channels_run_side_by_side(process: WriterProcess, pg_url: str) -> None:
    (a_backend,) = await process.apply("a", [(_Sleep(), 0.0)])  # the child is up
    finished: list[str] = []
    tag = secrets.token_hex(8)

    async def slow() -> None:
        await process.apply("a", [(_Sleep(tag), 2.0)])
        finished.append("slow")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(slow)
        await _until_sleeping(pg_url, tag)  # the slow batch is under way
        (b_backend,) = await process.apply("b", [(_Sleep(), 0.0)])
        finished.append("fast")
    assert finished == ["fast", "slow"]
    assert a_backend != b_backend  # a connection per channel


async def test_a_child_killed_while_idle_is_replaced_before_the_next_batch(
    process: WriterProcess,
) -> None:
    await process.apply("a", [(APPEND_JOURNAL, row(1))])
    first = process.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    with trio.fail_after(10):
        while process.pid == first:  # until the server can tell it is gone
            await trio.sleep(0.01)
    # The batch goes to a new child; nothing is reported failed.
    assert len(await process.apply("a", [(APPEND_JOURNAL, row(2))])) == 1
    assert process.started == 2 and process.pid not in (None, first)


async def test_a_child_killed_mid_batch_fails_that_batch_as_storage_unavailable(
    process: WriterProcess, pg_url: str
) -> None:
    pid = await _running_pid(process)
    tag = secrets.token_hex(8)

    async def kill_under_way() -> None:
        await _until_sleeping(pg_url, tag)
        os.kill(pid, signal.SIGKILL)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(kill_under_way)
        with pytest.raises(StorageUnavailable, match="writer process stopped"):
            await process.apply("a", [(_Sleep(tag), 5.0)])
    assert await process.apply("b", [(_Sleep(), 0.0)])  # the next batch: a new child
    assert process.started == 2


async def test_sigint_does_not_stop_the_child(process: WriterProcess) -> None:
    pid = await _running_pid(process)
    # Ignored, so the kernel discards a SIGINT as it is sent: nothing can come of it later,
    # and no waiting is needed to see that.
    assert signal.SIGINT in _ignored_signals(pid)
    os.kill(pid, signal.SIGINT)  # what a Ctrl-C in a terminal sends the process group
    await process.apply("a", [(_Sleep(), 0.0)])  # answered after the signal
    assert _alive(pid)
    assert process.pid == pid and process.started == 1


async def test_aclose_stops_the_child_and_refuses_later_batches(
    process: WriterProcess,
) -> None:
    pid = await _running_pid(process)
    await process.aclose()
    assert not _alive(pid)
    with pytest.raises(StorageUnavailable, match="stopped"):
        await process.apply("a", [(_Sleep(), 0.0)])


async def test_errors_come_back_to_the_caller(process: WriterProcess) -> None:
    # A database error keeps its type; one pickle cannot rebuild comes back named.
    with pytest.raises(sa.exc.ProgrammingError, match="actor_journal_nope"):
        await process.apply("a", [(_BadSql(), None)])
    with pytest.raises(RuntimeError, match="_Unpicklable: cannot travel"):
        await process.apply("a", [(_RaisesUnpicklable(), 1)])
    # A parameter that cannot be pickled fails before anything is sent.
    with pytest.raises((TypeError, AttributeError)):
        await process.apply("a", [(APPEND_JOURNAL, ("k", "x", "T", threading.Lock(), None))])
    assert await process.apply("a", [(_Sleep(), 0.0)])  # the channel is still in step
    assert process.started == 1


class _BadSql:
    name = "bad-sql"

    def apply_many(self, session: Session, params: Sequence[Any]) -> list[None]:
        session.execute(sa.text("SELECT * FROM actor_journal_nope"))
        return [None] * len(params)


async def test_an_unreachable_database_is_storage_unavailable() -> None:
    async with Database("postgresql+psycopg://postgres@127.0.0.1:1/none") as db:
        writer = WriterProcess(db.url, channels=["a"])
        try:
            with pytest.raises(StorageUnavailable, match=r"127\.0\.0\.1:1"):
                await writer.apply("a", [(APPEND_JOURNAL, row(1))])
        finally:
            await writer.aclose()


async def test_a_bad_write_in_a_batch_fails_only_its_caller_through_the_committer(
    process: WriterProcess,
) -> None:
    committer = GroupCommitter(Database("sqlite:///unused.db"), executor=process.executor("a"))
    outcomes: dict[int, str] = {}
    async with trio.open_nursery() as nursery:
        await nursery.start(committer.run)

        async def write(i: int) -> None:
            params = row(i) if i != 3 else ("k", "x", "T", threading.Lock(), None)
            try:
                await committer.submit(APPEND_JOURNAL, params)
                outcomes[i] = "ok"
            except Exception as exc:
                outcomes[i] = type(exc).__name__

        async with trio.open_nursery() as writers:
            for i in range(6):
                writers.start_soon(write, i)
        nursery.cancel_scope.cancel()
    assert outcomes == {0: "ok", 1: "ok", 2: "ok", 3: "TypeError", 4: "ok", 5: "ok"}


_ORPHAN_SCRIPT = textwrap.dedent("""
    import os, sys, trio
    from sqlalchemy.engine import make_url
    from pytake.store import WriterProcess
    from pytake.store import APPEND_JOURNAL

    async def main():
        writer = WriterProcess(make_url(sys.argv[1]), channels=["a"])
        await writer.apply("a", [(APPEND_JOURNAL, ("k", "orphan", "T", {}, None))])
        print(writer.pid, flush=True)
        os._exit(9)  # the server dies without closing anything

    trio.run(main)
""")


def test_the_child_exits_when_the_server_dies(pg_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _ORPHAN_SCRIPT, pg_url],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 9, done.stderr
    child = int(done.stdout.strip())
    for _ in range(500):
        if not _alive(child):
            break
        threading.Event().wait(0.01)
    assert not _alive(child)


async def test_the_engine_runs_its_writers_in_a_child_on_postgresql_only(
    pg_url: str, tmp_path: Path
) -> None:
    on_pg = Engine(Settings(database_url=pg_url, secret_key="k" * 48))
    assert on_pg.writer_process is not None
    assert on_pg.writer_process.channels[:3] == ("database-writer", "webhook-writer",
                                                 "events-writer")
    assert on_pg.db.reader is not None
    await on_pg.db.aclose()
    threads = Engine(Settings(database_url=pg_url, secret_key="k" * 48,
                              database_writer_processes=False))
    assert threads.writer_process is None
    await threads.db.aclose()
    on_sqlite = Engine(Settings(database_url=f"sqlite:///{tmp_path}/x.db", secret_key="k" * 48))
    assert on_sqlite.writer_process is None
    await on_sqlite.db.aclose()


async def test_start_waits_until_every_channel_answers(process: WriterProcess) -> None:
    assert process.pid is None
    await process.start()
    pid = process.pid
    assert pid is not None and process.started == 1
    await process.apply("b", [(_Sleep(), 0.0)])
    assert process.pid == pid


def _backend_and_sum(session: Session, a: int, b: int) -> tuple[int, int]:
    pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    return int(pid), int(session.execute(sa.text("SELECT :a + :b"), {"a": a, "b": b}).scalar_one())


async def test_reads_run_on_reader_channels_side_by_side(pg_url: str) -> None:
    async with Database(pg_url) as db:
        writer = WriterProcess(db.url, channels=["w"], readers=2)
        db.reader = writer.read
        try:
            await writer.start()
            results: list[tuple[int, int]] = []

            async def read(i: int) -> None:
                results.append(await db.read(_backend_and_sum, i, 1))

            async with trio.open_nursery() as nursery:
                for i in range(6):
                    nursery.start_soon(read, i)
            assert sorted(total for _, total in results) == [1, 2, 3, 4, 5, 6]
            assert len({backend for backend, _ in results}) == 2  # both channels were used
            db.reader = None  # without a writer process: a worker thread, same answer
            assert (await db.read(_backend_and_sum, 2, 2))[1] == 4
        finally:
            await writer.aclose()


async def test_a_child_that_cannot_start_is_storage_unavailable(
    process: WriterProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(StorageUnavailable, match="cannot start the database writer process"):
        await process.apply("a", [(_Sleep(), 0.0)])
    monkeypatch.undo()
    assert await process.apply("a", [(_Sleep(), 0.0)])  # it starts once it can


async def test_pipes_opened_before_a_failure_to_start_are_closed(
    process: WriterProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Out of descriptors half way through a start (the fourth pipe: the second channel's
    reply pipe, after its request pipe): every end opened so far is closed, none leaks."""
    real_pipe = os.pipe
    calls = 0

    def failing_pipe() -> tuple[int, int]:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise OSError(errno.EMFILE, "Too many open files")
        return real_pipe()

    before = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(writer_module.os, "pipe", failing_pipe)
    with pytest.raises(StorageUnavailable, match="Too many open files"):
        await process.apply("a", [(_Sleep(), 0.0)])
    assert calls == 4
    assert len(os.listdir("/proc/self/fd")) == before


def _writer_children() -> list[int]:
    """Live (not reaped) children of this process that run the writer's main."""
    found = []
    for entry in os.listdir("/proc"):
        fields = _stat(entry) if entry.isdigit() else None
        if fields is None or int(fields[1]) != os.getpid():
            continue
        try:
            if b"_writer_process" in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            continue
    return found


async def test_a_child_whose_settings_cannot_be_sent_is_stopped(
    process: WriterProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(payload: bytes) -> bytes:
        raise RuntimeError("cannot frame the settings")

    monkeypatch.setattr(writer_module, "_framed", broken)
    with pytest.raises(RuntimeError, match="cannot frame"):
        await process.apply("a", [(_Sleep(), 0.0)])
    assert _writer_children() == []
    monkeypatch.undo()
    assert await process.apply("a", [(_Sleep(), 0.0)])  # the next batch starts a child
