"""One actor kind's runtime: its live cells, elastic worker pool, timers and crash handling.

Layering: the :class:`~pytake.actors.Router` maps ``(kind, id)`` to a ``KindRuntime``; the
runtime maps ``id`` to an :class:`ActorCell`.  A cell with messages sits once in the ready
queue; workers take cells from it and handle each cell's messages in order.  Workers are
started only when a handler really blocks (see ``_drive``) or when none exists, and leave
after idling.  A housekeeper task fires restart back-offs and passivates idle actors; a
flusher writes changed snapshots behind, in batches.

The runtime runs as a child of the router's supervisor.  If actors of this kind crash more
often than the kind's intensity allows, the runtime raises :class:`SupervisorEscalation` and
the supervisor restarts it: cells and their mailboxes survive, every actor is rebuilt from its
last committed snapshot, so an escalation loses no accepted message.
"""

from __future__ import annotations

import heapq
import logging
import math
import random
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import trio

from ..errors import ActorStopped, MessageDeadLettered, SupervisorEscalation
from ..supervisor import TreeNode
from ._cell import ActorCell, Ask
from ._codec import converter
from ._deadletter import DeadLetter
from ._drive import resume
from ._handling import IN_ACTOR
from ._journal import Journaled
from ._kind import ActorKind
from ._snapshot import Snapshot
from ._stats import KindStats

if TYPE_CHECKING:
    from ._router import Router

log = logging.getLogger("pytake.actors")

#: Snapshots written per call when changed actors are written behind.
FLUSH_CHUNK = 100

_WORKER_IDLE_SECONDS = 30.0
_MIN_WORKERS = 1
_YIELD_EVERY = 64  # messages a worker handles across cells before a checkpoint


class KindRuntime:
    def __init__(self, router: Router, spec: ActorKind, rng: random.Random | None = None):
        self.router = router
        self.spec = spec
        self.name = spec.name
        self.cls = spec.actor_class
        self.capacity = spec.mailbox_size
        self.cells: dict[str, ActorCell] = {}
        self.stats = KindStats()
        self.accepting = True
        self._ready: deque[ActorCell] = deque()
        self._lru: OrderedDict[str, ActorCell] = OrderedDict()
        self._dirty: set[ActorCell] = set()
        self._timers: list[tuple[float, int, ActorCell]] = []
        self._timer_seq = 0
        self._restart_times: deque[float] = deque()
        self._random = rng or random.Random()
        self._nursery: trio.Nursery | None = None
        self._lot = trio.lowlevel.ParkingLot()
        self._workers = 0
        self._parked = 0
        self._blocked = 0
        self._running_cells = 0
        self._hk_scope: trio.CancelScope | None = None
        self._now = 0.0  # trio time, refreshed by workers and the housekeeper
        self._generation = 0  # times the runtime has been (re)started
        self.escalations = 0

    # ---- delivery (synchronous: no await between lookup and enqueue) ----

    def cell_for(self, id: str, *, even_if_stopping: bool = False) -> ActorCell:
        cell = self.cells.get(id)
        if cell is None:
            if not (self.accepting or even_if_stopping):
                raise ActorStopped(self.name, id)
            # The cell joins the idle LRU when its first run ends (it is busy until then).
            cell = ActorCell(id, self._now)
            self.cells[id] = cell
            self.stats.live += 1
            self.stats.activations += 1
        return cell

    def offer(self, cell: ActorCell, item: Any, *, force: bool = False) -> bool:
        """Enqueue ``item`` unless the mailbox is full (``force``: even then; for journaled
        messages, already committed and paced by the journal's own backpressure)."""
        mailbox = cell.mailbox
        if mailbox is None:
            mailbox = cell.mailbox = deque()
        elif len(mailbox) >= self.capacity and not force:
            return False
        mailbox.append(item)
        self.stats.queued += 1
        if not (cell.scheduled or cell.running or cell.backoff):
            self._schedule(cell)
        return True

    def _schedule(self, cell: ActorCell) -> None:
        cell.scheduled = True
        self._ready.append(cell)
        if self._workers - self._parked - self._blocked > 0:
            return  # an active worker will reach it
        self._add_worker()

    def _add_worker(self) -> None:
        # Count a worker as woken only if one was: a worker whose idle timeout fired in this
        # tick has left the lot but not yet run, and takes itself off ``_parked`` when it
        # does (counting it twice left ``_parked`` short, so a later message found "an
        # active worker" while the only one slept, and waited forever).
        if self._parked and self._lot.unpark():
            self._parked -= 1
        elif self._nursery is not None and self._workers < self.spec.max_workers:
            try:
                self._nursery.start_soon(self._worker)
            except RuntimeError:
                # The runtime is stopping or restarting (its nursery takes no new task): the
                # cell stays in the ready queue, which the next generation's worker drains.
                return
            self._workers += 1

    # ---- workers ----

    async def _worker(self) -> None:
        # What this task runs is actors' work: their tells pass while the router drains.
        IN_ACTOR.set(True)
        try:
            while True:
                handled = 0
                ready = self._ready
                # One clock read per batch: last_active only needs idle-timeout precision.
                self._now = trio.current_time()
                while ready:
                    handled += await self._run_cell(ready.popleft())
                    if handled >= _YIELD_EVERY:
                        handled = 0
                        await trio.lowlevel.checkpoint()
                        self._now = trio.current_time()
                self._parked += 1
                with trio.move_on_after(_WORKER_IDLE_SECONDS) as idle:
                    await self._lot.park()
                if idle.cancelled_caught:
                    self._parked -= 1
                    if self._workers > _MIN_WORKERS and not self._ready:
                        return
        finally:
            self._workers -= 1

    async def _run_cell(self, cell: ActorCell) -> int:
        cell.scheduled = False
        if cell.backoff:  # a restart delay started after it was queued
            return 0
        cell.running = True
        self._running_cells += 1
        handled = 0
        stats = self.stats
        try:
            if cell.actor is None and not await self._activate(cell):
                return 0
            mailbox = cell.mailbox
            batch = self.spec.batch
            unstructure = converter.unstructure
            durable = self.router.store.durable
            while mailbox and handled < batch:
                item = mailbox[0]
                kind_of_item = type(item)
                if kind_of_item is Journaled:
                    if item.journal_id <= cell.journal:  # already in the state: a replay
                        mailbox.popleft()
                        stats.queued -= 1
                        stats.duplicates += 1
                        continue
                    message = item.message
                    cell.actor.replaying = item.replayed
                elif kind_of_item is Ask:
                    message = item.message
                    cell.actor.replaying = False
                else:
                    message = item
                    cell.actor.replaying = False
                started = time.perf_counter()
                coro = cell.actor.receive(message)
                try:
                    try:
                        yielded = coro.send(None)
                    except StopIteration as stop:
                        reply = stop.value
                    else:
                        reply = await self._finish_blocking(coro, yielded)
                except Exception as exc:
                    if await self._crash(cell, item, message, exc):
                        continue
                    return handled
                mailbox.popleft()
                stats.queued -= 1
                handled += 1
                cell.seq += 1
                cell.committed = unstructure(cell.actor.state)
                if kind_of_item is Journaled:
                    cell.journal = item.journal_id
                cell.head_attempts = 0
                if durable:
                    self._dirty.add(cell)
                if kind_of_item is Ask:
                    item.resolve(reply)
                stats.handled += 1
                stats.observe(time.perf_counter() - started)
                if cell.senders is not None and cell.senders:
                    cell.senders.unpark()
            return handled
        except BaseException:
            # Cancelled (shutdown, escalation) mid-handler: forget the half-applied message.
            self._rebuild(cell)
            raise
        finally:
            cell.running = False
            self._running_cells -= 1
            cell.last_active = self._now
            lru = self._lru
            if cell.id in lru:
                lru.move_to_end(cell.id)
            elif self.cells.get(cell.id) is cell:
                lru[cell.id] = cell
                if len(lru) == 1:
                    self._wake_housekeeper(cell.last_active + self.spec.idle_timeout)
            if cell.mailbox:
                if not (cell.backoff or cell.scheduled):
                    self._schedule(cell)
            else:
                cell.mailbox = None

    async def _finish_blocking(self, coro: Any, yielded: Any) -> Any:
        self._blocked += 1
        try:
            if self._ready and self._workers - self._parked - self._blocked <= 0:
                self._add_worker()
            return await resume(coro, yielded)
        finally:
            self._blocked -= 1

    # ---- activation, crashes, restarts ----

    async def _activate(self, cell: ActorCell) -> bool:
        cls = self.cls
        try:
            snap = await self.router.store.load(self.name, cell.id)
            if snap is None:
                state = cls.initial_state(cell.id)
                cell.committed = None  # nothing to restore to but the initial state
            else:
                data = snap.data
                if snap.schema_version != cls.state_version:
                    data = cls.upgrade_snapshot(data, snap.schema_version)
                state = converter.structure(data, cls.state_type)
                cell.committed = data
                cell.seq = snap.seq
                cell.saved_seq = snap.seq
                cell.journal = snap.journal
        except Exception:
            log.exception("activating %s/%s failed; retrying after back-off", self.name, cell.id)
            self.stats.crashes += 1
            cell.head_attempts += 1
            self._start_backoff(cell, cell.head_attempts - 1)
            # Activation failures are retried indefinitely: the messages stay queued.
            cell.head_attempts = min(cell.head_attempts, 16)
            return False
        cell.actor = cls(cell.id, state, self.router, self.spec.services)
        cell.head_attempts = 0
        return True

    def _rebuild(self, cell: ActorCell) -> None:
        """Replace the actor instance by one built from its last committed snapshot."""
        if cell.actor is None:
            return
        if cell.committed is None:
            state = self.cls.initial_state(cell.id)
        else:
            state = converter.structure(cell.committed, self.cls.state_type)
        cell.actor = self.cls(cell.id, state, self.router, self.spec.services)

    async def _crash(self, cell: ActorCell, item: Any, message: Any, exc: Exception) -> bool:
        """Handle a handler's exception.  True: the message was dead-lettered, carry on."""
        stats = self.stats
        stats.crashes += 1
        stats.restarts += 1
        cell.restarts += 1
        cell.head_attempts += 1
        self._rebuild(cell)
        threshold = self.spec.poison_threshold
        log.warning(
            "actor %s/%s crashed on %s (attempt %d of %d)",
            self.name, cell.id, type(message).__name__, cell.head_attempts, threshold,
            exc_info=exc,
        )
        if cell.head_attempts < threshold:
            self._start_backoff(cell, cell.head_attempts - 1)
            self._count_restart(exc)
            return False
        assert cell.mailbox is not None
        cell.mailbox.popleft()
        stats.queued -= 1
        if type(item) is Journaled:
            # Set aside for good: a replay must not bring it back.
            cell.journal = item.journal_id
            cell.seq += 1
            if self.router.store.durable:
                self._dirty.add(cell)
        attempts, cell.head_attempts = cell.head_attempts, 0
        letter = DeadLetter(
            kind=self.name,
            id=cell.id,
            message_type=type(message).__name__,
            message=repr(message)[:2000],
            error=f"{type(exc).__name__}: {exc}",
            traceback="".join(traceback.format_exception(exc)),
            attempts=attempts,
            at=time.time(),
            payload=message,
        )
        stats.dead_letters += 1
        if type(item) is Ask:
            item.fail(MessageDeadLettered(self.name, cell.id, letter.message_type, attempts))
        try:
            await self.router.dead_letters.add(letter)
        except Exception:
            log.exception("could not store dead letter %r", letter)
        log.error("moved %s to dead letters of %s/%s", letter.message_type, self.name, cell.id)
        # Counted last, so that an escalation cannot undo the dead-lettering decision.
        self._count_restart(exc)
        return True

    def _count_restart(self, exc: Exception) -> None:
        now = trio.current_time()
        window = self._restart_times
        window.append(now)
        period = self.spec.intensity.period
        while window and window[0] < now - period:
            window.popleft()
        if len(window) > self.spec.intensity.max_restarts:
            window.clear()
            self.stats.escalations += 1
            self.escalations += 1
            intensity = self.spec.intensity
            raise SupervisorEscalation(
                f"actor kind {self.name}", intensity.max_restarts, intensity.period, cause=exc
            ) from exc

    def _start_backoff(self, cell: ActorCell, attempt: int) -> None:
        cell.backoff = True
        delay = self.spec.backoff.delay(attempt, self._random)
        self._timer_seq += 1
        deadline = trio.current_time() + delay
        heapq.heappush(self._timers, (deadline, self._timer_seq, cell))
        self._wake_housekeeper(deadline)

    # ---- housekeeping: back-off timers and idle passivation ----

    def _wake_housekeeper(self, deadline: float) -> None:
        scope = self._hk_scope
        if scope is not None and deadline < scope.deadline:
            scope.deadline = deadline

    def _next_deadline(self) -> float:
        deadline = math.inf
        if self._timers:
            deadline = self._timers[0][0]
        if self._lru and not math.isinf(self.spec.idle_timeout):
            head = next(iter(self._lru.values()))
            deadline = min(deadline, head.last_active + self.spec.idle_timeout)
        return deadline

    async def _housekeeper(self) -> None:
        while True:
            now = self._now = trio.current_time()
            timers = self._timers
            while timers and timers[0][0] <= now:
                _, _, cell = heapq.heappop(timers)
                cell.backoff = False
                if cell.mailbox and not (cell.scheduled or cell.running):
                    self._schedule(cell)
            await self._passivate_idle(now)
            with trio.CancelScope(deadline=self._next_deadline()) as scope:
                self._hk_scope = scope
                await trio.sleep_forever()
            self._hk_scope = None

    async def passivate_idle(self, idle_for: float = 0.0) -> int:
        """Passivate now every actor idle for at least ``idle_for`` seconds (operators use it
        to free memory; tests to force a restore from the store).  Returns how many."""
        before = self.stats.passivations
        await self._passivate_idle(trio.current_time(), idle_for)
        return self.stats.passivations - before

    async def _passivate_idle(self, now: float, timeout: float | None = None) -> None:
        if timeout is None:
            timeout = self.spec.idle_timeout
        if math.isinf(timeout):
            return
        lru = self._lru
        candidates: list[ActorCell] = []
        limit = len(lru) if timeout < self.spec.idle_timeout else 1000
        # Each cell is looked at once: busy ones go to the back and must not come round again.
        for _ in range(len(lru)):
            if len(candidates) >= limit:
                break
            cell = next(iter(lru.values()))
            if cell.last_active + timeout > now:
                break
            del lru[cell.id]
            if cell.busy() or cell.actor is None:
                cell.last_active = now
                lru[cell.id] = cell
                continue
            cell.passivating = True
            candidates.append(cell)
        if not candidates:
            return
        try:
            await self.save(candidates)
        except Exception:
            log.exception("passivating %d %s actors failed; keeping them", len(candidates),
                          self.name)
            saved = False
        else:
            saved = True
        for cell in candidates:
            cell.passivating = False
            if saved and not cell.busy() and cell.seq == cell.saved_seq and cell.id not in lru:
                del self.cells[cell.id]
                self._dirty.discard(cell)
                cell.actor = None
                self.stats.live -= 1
                self.stats.passivations += 1
            elif cell.id not in lru:
                cell.last_active = trio.current_time()
                lru[cell.id] = cell

    async def discard(self, id: str, timeout: float) -> bool:
        """Forget the live actor ``id`` without storing its state: for state that must not
        outlive this call (a customer's erasure).  Waits, up to ``timeout`` seconds, until no
        handler of it runs and no snapshot of it is being written (a write under way would
        land after the caller deleted the stored copy); messages still queued for it are
        dropped (an ``ask`` among them fails with `ActorStopped`).  Returns whether it was
        live; raises ``trio.TooSlowError`` if it stayed busy past ``timeout``.

        A later message activates it again from whatever the store then holds."""
        with trio.fail_after(timeout):
            while True:
                cell = self.cells.get(id)
                if cell is None:
                    return False
                if not (cell.running or cell.saving or cell.passivating):
                    break
                await trio.sleep(0.005)
        del self.cells[id]
        self._lru.pop(id, None)
        self._dirty.discard(cell)
        if cell.scheduled:
            cell.scheduled = False
            self._ready.remove(cell)
        for item in cell.mailbox or ():
            self.stats.queued -= 1
            if type(item) is Ask:
                item.fail(ActorStopped(self.name, id))
        cell.mailbox = None
        cell.actor = None
        cell.committed = None
        self.stats.live -= 1
        self.stats.passivations += 1
        if cell.senders is not None:
            cell.senders.unpark_all()  # they look the address up again: a new cell
        return True

    # ---- snapshots ----

    def _snapshot(self, cell: ActorCell) -> Snapshot:
        return Snapshot(
            self.name, cell.id, self.cls.state_version, cell.seq, cell.committed, cell.journal
        )

    async def save(self, cells: Sequence[ActorCell]) -> None:
        """Store the committed snapshot of every given cell that changed since its last save."""
        pending = [c for c in cells if c.seq > c.saved_seq and c.committed is not None]
        if not pending:
            return
        snaps = [self._snapshot(c) for c in pending]
        for cell in pending:
            cell.saving += 1
        try:
            await self.router.store.save_many(snaps)
        finally:
            for cell in pending:
                cell.saving -= 1
        for cell, snap in zip(pending, snaps, strict=True):
            cell.saved_seq = max(cell.saved_seq, snap.seq)
            if cell.seq == cell.saved_seq:
                self._dirty.discard(cell)

    async def flush(self) -> None:
        """Write behind: save every changed snapshot now, in chunks, so that thousands of
        changed actors do not hold the event loop (encoding) or the writer in one piece."""
        if self._dirty and self.router.store.durable:
            cells = list(self._dirty)
            for start in range(0, len(cells), FLUSH_CHUNK):
                await self.save(cells[start:start + FLUSH_CHUNK])

    async def _flusher(self) -> None:
        while True:
            await trio.sleep(self.spec.snapshot_interval)
            try:
                await self.flush()
            except Exception:
                log.exception("writing %s snapshots behind failed; will retry", self.name)

    # ---- lifecycle ----

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve this kind until cancelled (the supervisor's child entry point)."""
        self._generation += 1
        if self._generation > 1:
            # Restarted after an escalation: rebuild every actor from its snapshot.
            for cell in self.cells.values():
                self._rebuild(cell)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self._workers = self._parked = self._blocked = 0
                self._lot = trio.lowlevel.ParkingLot()
                nursery.start_soon(self._housekeeper)
                nursery.start_soon(self._flusher)
                self._workers += 1
                nursery.start_soon(self._worker)
                task_status.started()
        finally:
            self._nursery = None
            self._hk_scope = None

    def idle(self) -> bool:
        return self.stats.queued == 0 and self._running_cells == 0

    def describe(self, actor_limit: int) -> TreeNode:
        children = []
        for n, cell in enumerate(self.cells.values()):
            if n >= actor_limit:
                break
            children.append(
                TreeNode(
                    kind="actor",
                    id=f"{self.name}/{cell.id}",
                    state=cell.state_word(),
                    restarts=cell.restarts,
                    mailbox_depth=cell.depth(),
                )
            )
        return TreeNode(
            kind="actor-kind",
            id=self.name,
            state="running" if self._nursery is not None else "restarting",
            restarts=self.escalations,
            mailbox_depth=self.stats.queued,
            children=children,
            truncated=max(0, len(self.cells) - actor_limit),
        )
