"""Group commit: many callers' rows in one transaction, each caller told its own outcome.

One INSERT+COMMIT per row tops out around a thousand rows a second on PostgreSQL; committing
hundreds of rows per transaction moves tens of thousands.  :class:`GroupCommitter` collects
the writes handed to it while the previous transaction is committing, and commits them
together as soon as the database is free (optionally lingering ``max_delay`` seconds to
gather more).  Each caller awaits its own write:

- it returns the write's result only after the transaction that holds it has committed;
- if that transaction fails because storage is unreachable, every caller in it gets
  :class:`~pytake.errors.StorageUnavailable` (nothing is ever reported committed wrongly);
- if it fails for another reason (one bad row), the batch is retried one write per
  transaction, so only the bad write's caller sees its error.

A write that may wait (``linger``) commits with the next write that may not, or after its
linger time, whichever comes first: at low load that saves it a transaction of its own,
at high load it costs nothing.

Batches commit one after another, in submission order, so a write never overtakes an earlier
one; ``after_commit`` hooks run in that order too (the actor journal relies on it).
A write is described by a :class:`WriteKind`, which applies a list of parameter sets in one
statement (``executemany``) and returns one result per set.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import trio
from sqlalchemy.orm import Session

from pytake.errors import StorageUnavailable
from pytake.store._database import Database

log = logging.getLogger("pytake.store")

#: Scheduler passes the writer yields before taking a batch (see `GroupCommitter.run`).
YIELD_PASSES = 3

P = TypeVar("P")
R = TypeVar("R")
P_contra = TypeVar("P_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)


class WriteKind(Protocol[P_contra, R_co]):
    """One kind of write.  ``apply_many`` runs inside the batch's transaction, on a worker
    thread, and returns exactly one result per parameter set, in order."""

    name: str

    def apply_many(self, session: Session, params: Sequence[P_contra]) -> Sequence[R_co]: ...


class Write(Generic[P, R]):
    __slots__ = ("detached", "done", "error", "kind", "params", "result")

    def __init__(self, kind: WriteKind[P, R], params: P) -> None:
        self.kind = kind
        self.params = params
        self.done = trio.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.detached = False

    async def outcome(self) -> R:
        """Wait until committed; the result, or the error that failed the write."""
        await self.done.wait()
        if self.error is not None:
            raise self.error
        result: R = self.result
        return result


AfterCommit = Callable[[Sequence[Write[Any, Any]]], None]
#: Runs one batch of ``(kind, params)`` pairs in one transaction; one result per pair.
BatchExecutor = Callable[[Sequence[tuple[WriteKind[Any, Any], Any]]], Awaitable[list[Any]]]


class GroupCommitter:
    """Run :meth:`run` (as a supervised service), then ``await submit(kind, params)``.

    - ``max_batch``: writes per transaction at most.
    - ``max_delay``: seconds to wait for more writes before committing a batch that is not
      full (0: commit as soon as the previous transaction is done, which already groups
      writes under load without adding latency when idle).
    - ``max_pending``: writes waiting at most; beyond it ``submit`` waits (backpressure) or,
      past its ``timeout``, raises ``StorageUnavailable`` ("overloaded").
    - ``executor``: what runs a batch's transaction; by default `apply_writes` on one of
      ``db``'s worker threads (`pytake.store.WriterProcess.apply` runs it in a child process).
    """

    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = 500,
        max_delay: float = 0.0,
        max_pending: int = 50_000,
        executor: BatchExecutor | None = None,
    ) -> None:
        if max_batch < 1 or max_pending < 1 or max_delay < 0:
            raise ValueError("max_batch and max_pending must be >= 1, max_delay >= 0")
        self.db = db
        self._execute: BatchExecutor = executor or self._in_thread
        self.max_batch = max_batch
        self.max_delay = max_delay
        self._queue: deque[Write[Any, Any]] = deque()
        self.max_pending = max_pending
        self._pending = 0  # writes handed over and not yet finished
        self._room = trio.lowlevel.ParkingLot()
        self._wake = trio.Event()
        # Set when a write that may not linger is queued; ``_linger_until`` is when the
        # earliest lingering write queued since the last batch must commit anyway.
        self._urgent = trio.Event()
        self._linger_until = math.inf
        self._after_commit: dict[str, AfterCommit] = {}
        self.running = False
        # Counters for benchmarks and metrics.
        self.batches = 0
        self.rows = 0
        self.failed_batches = 0

    async def _in_thread(self, items: Sequence[tuple[WriteKind[Any, Any], Any]]) -> list[Any]:
        return await self.db.run(apply_writes, items)

    def on_commit(self, kind_name: str, hook: AfterCommit) -> None:
        """Call ``hook(writes)`` (synchronously, in commit order) after each transaction that
        committed writes of ``kind_name``, before their callers are woken."""
        self._after_commit[kind_name] = hook

    async def submit(
        self, kind: WriteKind[P, R], params: P, *, timeout: float = math.inf,
        linger: float = 0.0,
    ) -> R:
        """Hand one write over and wait until it is committed; return its result.

        ``linger``: seconds the write may wait for another that may not (see the module
        docstring), for writes whose callers are in no hurry."""
        (write,) = await self._enqueue(kind, [params], timeout, linger)
        return await write.outcome()

    async def submit_soon(
        self, kind: WriteKind[P, R], params: P, *, timeout: float = math.inf
    ) -> Write[P, R]:
        """Hand one write over and return at once (after waiting for room, as `submit`);
        ``await write.outcome()`` later.  Writes commit in submission order: a later write
        never commits in an earlier transaction than this one.  (When a batch fails for
        another reason than storage and its writes are retried one by one, this one may fail
        while a later one commits; its ``outcome()`` then raises.)"""
        (write,) = await self._enqueue(kind, [params], timeout)
        return write

    async def submit_many(
        self, kind: WriteKind[P, R], params: Sequence[P], *, timeout: float = math.inf
    ) -> list[R]:
        """Hand several writes over; they commit in one batch or consecutive ones, in order."""
        writes = await self._enqueue(kind, params, timeout)
        for write in writes:
            await write.done.wait()
        for write in writes:
            if write.error is not None:
                raise write.error
        return [w.result for w in writes]

    def submit_detached(self, kind: WriteKind[P, R], params: Sequence[P]) -> bool:
        """Hand writes over without waiting for them (records nobody needs to wait for,
        such as flow steps for metrics): ``False``, and nothing queued, if the writer is
        stopped or full.  A failed detached write is logged, not raised to anyone."""
        if not self.running or self._pending >= self.max_pending:
            return False
        writes = [Write(kind, p) for p in params]
        for write in writes:
            write.detached = True
        self._pending += len(writes)
        self._queue.extend(writes)
        self._urgent.set()
        self._wake.set()
        return True

    async def _enqueue(
        self, kind: WriteKind[P, R], params: Sequence[P], timeout: float, linger: float = 0.0
    ) -> list[Write[P, R]]:
        if not self.running:
            raise StorageUnavailable("the database writer is not running", retry_after=1.0)
        if self._pending >= self.max_pending:
            # A soft bound: a caller is admitted while there is room for one write, so a
            # ``submit_many`` larger than the bound still gets in (after the backlog drains).
            with trio.move_on_after(timeout):
                while self._pending >= self.max_pending:
                    await self._room.park()
            if self._pending >= self.max_pending:
                raise StorageUnavailable(
                    "too many writes waiting for the database", retry_after=1.0
                )
            if not self.running:
                raise StorageUnavailable("the database writer stopped", retry_after=1.0)
        writes = [Write(kind, p) for p in params]
        self._pending += len(writes)
        self._queue.extend(writes)
        if linger > 0:
            self._linger_until = min(self._linger_until, trio.current_time() + linger)
        else:
            self._urgent.set()
        self._wake.set()
        return writes

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Commit batches until cancelled.  On cancellation, writes still queued fail with
        ``StorageUnavailable`` (their callers were never told they committed)."""
        self.running = True
        task_status.started()
        try:
            while True:
                await self._wake.wait()
                if not self._urgent.is_set():
                    with trio.move_on_at(self._linger_until):
                        await self._urgent.wait()
                if self.max_delay and len(self._queue) < self.max_batch:
                    await trio.sleep(self.max_delay)
                else:
                    # Let the tasks already runnable go first: a write often sets off another
                    # at once (an actor's record, then the agent it told), and they share
                    # this transaction instead of waiting for the next.  No time is added.
                    for _ in range(YIELD_PASSES):
                        await trio.lowlevel.cancel_shielded_checkpoint()
                take = min(self.max_batch, len(self._queue))
                batch = [self._queue.popleft() for _ in range(take)]
                if not self._queue:
                    self._wake = trio.Event()
                    self._urgent = trio.Event()
                    self._linger_until = math.inf
                if batch:
                    await self._commit(batch)
        finally:
            self.running = False
            stopped = StorageUnavailable("the database writer stopped", retry_after=1.0)
            while self._queue:
                write = self._queue.popleft()
                write.error = stopped
                write.done.set()
                self._pending -= 1
            self._room.unpark_all()

    async def _commit(self, batch: list[Write[Any, Any]]) -> None:
        try:
            # Shielded: a transaction that has started is finished and its callers told,
            # even if the writer is being cancelled.
            with trio.CancelScope(shield=True):
                await self._apply(batch)
        except StorageUnavailable as exc:
            self.failed_batches += 1
            for write in batch:
                write.error = exc
        except Exception:
            self.failed_batches += 1
            log.warning("a batch of %d writes failed; retrying them one by one", len(batch))
            with trio.CancelScope(shield=True):
                for write in batch:
                    try:
                        await self._apply([write])
                    except Exception as exc:
                        write.error = exc
                    else:
                        self.batches += 1
                        self.rows += 1
        else:
            self.batches += 1
            self.rows += len(batch)
        self._finish(batch)

    async def _apply(self, batch: list[Write[Any, Any]]) -> None:
        results = await self._execute([(write.kind, write.params) for write in batch])
        for write, result in zip(batch, results, strict=True):
            write.result = result

    def _finish(self, batch: list[Write[Any, Any]]) -> None:
        committed: dict[str, list[Write[Any, Any]]] = {}
        for write in batch:
            if write.error is None:
                committed.setdefault(write.kind.name, []).append(write)
        for name, writes in committed.items():
            hook = self._after_commit.get(name)
            if hook is not None:
                try:
                    hook(writes)
                except Exception:
                    log.exception("after-commit hook for %s failed", name)
        for write in batch:
            if write.detached and write.error is not None:
                log.warning("a detached %s write failed: %s", write.kind.name, write.error)
            write.done.set()
        self._pending -= len(batch)
        if self._room and self._pending < self.max_pending:
            self._room.unpark_all()


def apply_writes(session: Session, items: Sequence[tuple[WriteKind[Any, Any], Any]]) -> list[Any]:
    """Apply ``(kind, params)`` pairs in ``session``'s transaction; one result per pair.

    Writes of one kind go in one statement; kinds run in the order they first appear."""
    groups: dict[int, list[int]] = {}
    for index, (kind, _) in enumerate(items):
        groups.setdefault(id(kind), []).append(index)
    results: list[Any] = [None] * len(items)
    for indexes in groups.values():
        kind = items[indexes[0]][0]
        outcome = kind.apply_many(session, [items[i][1] for i in indexes])
        if len(outcome) != len(indexes):
            raise RuntimeError(
                f"{kind.name}.apply_many returned {len(outcome)} results "
                f"for {len(indexes)} writes"
            )
        for i, result in zip(indexes, outcome, strict=True):
            results[i] = result
    return results
