"""The router: the only way to reach, and the only place that spawns, actors."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import trio

from ..errors import ActorStopped, AskTimeout, MailboxFull, UnknownActorKind
from ..supervisor import (
    Backoff,
    ChildSpec,
    Intensity,
    Restart,
    Strategy,
    Supervisor,
    SupervisorObserver,
    TreeNode,
)
from ._cell import Ask
from ._deadletter import DeadLetterStore, InMemoryDeadLetters
from ._handling import IN_ACTOR
from ._journal import Journal, Journaled
from ._kind import ActorKind
from ._ref import ActorRef
from ._runtime import KindRuntime
from ._snapshot import InMemorySnapshotStore, SnapshotStore
from ._stats import ActorMetricsCollector, KindStats

log = logging.getLogger("pytake.actors")

_ROUTER_INTENSITY = Intensity(max_restarts=10, period=10.0)
_ROUTER_BACKOFF = Backoff(initial=0.1, maximum=10.0, multiplier=2.0, jitter=0.2)


class Router:
    """Maps ``(kind, id)`` to live actors, activating them on their first message.

    Register every kind with :meth:`register`, then run :meth:`run` (normally as a child of
    the application's supervisor, via :meth:`as_child`).  Exactly one activation exists per
    address at a time: lookup and creation happen with no checkpoint in between.
    """

    def __init__(
        self,
        store: SnapshotStore | None = None,
        dead_letters: DeadLetterStore | None = None,
        *,
        intensity: Intensity = _ROUTER_INTENSITY,
        backoff: Backoff = _ROUTER_BACKOFF,
        observer: SupervisorObserver | None = None,
    ) -> None:
        self._observer = observer
        self._intensity = intensity
        self._backoff = backoff
        self.store: SnapshotStore = store if store is not None else InMemorySnapshotStore()
        self.dead_letters: DeadLetterStore = (
            dead_letters if dead_letters is not None else InMemoryDeadLetters()
        )
        self._kinds: dict[str, KindRuntime] = {}
        self.journal: Journal | None = None
        self._supervisor: Supervisor | None = None
        self.accepting = True
        #: From `stop_accepting` on: outsiders are refused, actors' own tells still pass so
        #: that the turns under way complete while the router drains.
        self.draining = False
        self.actor_limit = 100  # actors per kind rendered by describe(); see supervision_tree

    # ---- registration and addressing ----

    def register(self, kind: ActorKind) -> None:
        if self._supervisor is not None:
            raise RuntimeError("register every actor kind before the router runs")
        if kind.name in self._kinds:
            raise ValueError(f"actor kind {kind.name!r} is already registered")
        self._kinds[kind.name] = KindRuntime(self, kind)

    def ref(self, kind: str, id: str) -> ActorRef:
        if kind not in self._kinds:
            raise UnknownActorKind(kind, list(self._kinds))
        return ActorRef(self, kind, id)

    def runtime(self, kind: str) -> KindRuntime:
        try:
            return self._kinds[kind]
        except KeyError:
            raise UnknownActorKind(kind, list(self._kinds)) from None

    def kinds(self) -> Iterable[tuple[str, KindStats]]:
        return [(name, rt.stats) for name, rt in self._kinds.items()]

    def metrics_collector(self) -> ActorMetricsCollector:
        return ActorMetricsCollector(self.kinds)

    # ---- sending ----

    def _inside_drain(self) -> bool:
        # Draining: actors still tell each other (see _handling); outsiders are refused.
        return self.draining and IN_ACTOR.get()

    def _accepts(self) -> bool:
        return self.accepting or self._inside_drain()

    def tell_nowait(self, kind: str, id: str, message: Any) -> None:
        rt = self.runtime(kind)
        if not self._accepts():
            raise ActorStopped(kind, id)
        cell = rt.cell_for(id, even_if_stopping=self._inside_drain())
        if not rt.offer(cell, message):
            raise MailboxFull(kind, id, rt.capacity)

    async def tell(self, kind: str, id: str, message: Any, *, timeout: float | None = None) -> None:
        rt = self.runtime(kind)
        if not self._accepts():
            raise ActorStopped(kind, id)
        cell = rt.cell_for(id, even_if_stopping=self._inside_drain())
        if rt.offer(cell, message):
            return
        await self._wait_for_room(rt, kind, id, message, timeout)

    async def _wait_for_room(
        self, rt: KindRuntime, kind: str, id: str, item: Any, timeout: float | None
    ) -> None:
        deadline = math.inf if timeout is None else trio.current_time() + timeout
        with trio.move_on_at(deadline):
            while True:
                if not self._accepts():
                    raise ActorStopped(kind, id)
                cell = rt.cell_for(id, even_if_stopping=self._inside_drain())
                if rt.offer(cell, item):
                    return
                if cell.senders is None:
                    cell.senders = trio.lowlevel.ParkingLot()
                await cell.senders.park()
        raise MailboxFull(kind, id, rt.capacity)

    async def tell_durable(self, kind: str, id: str, message: Any) -> int:
        """Store ``message`` in the journal, then enqueue it; return its journal id.

        When this returns the message is durable and will be applied exactly once, even if
        the process dies before the actor handles it (the journal replays it at start-up).
        Raises ``StorageUnavailable`` if it could not be stored: then it was not accepted."""
        rt = self.runtime(kind)
        if not self.accepting:
            raise ActorStopped(kind, id)
        if self.journal is None:
            raise RuntimeError("this router has no journal (Router.journal is unset)")
        rt.cell_for(id)  # fail now, not after the commit, for an unknown kind
        return await self.journal.append(kind, id, message)

    def deliver_journaled(
        self, kind: str, id: str, journal_id: int, message: Any, *, replayed: bool = False
    ) -> None:
        """Enqueue a committed journal row (the journal calls this, in commit order;
        ``replayed`` when its start-up replay does, see `Actor.replaying`)."""
        rt = self.runtime(kind)
        rt.offer(rt.cell_for(id, even_if_stopping=True), Journaled(journal_id, message, replayed),
                 force=True)

    async def ask(self, kind: str, id: str, message: Any, *, timeout: float = 5.0) -> Any:
        rt = self.runtime(kind)
        if not self._accepts():
            raise ActorStopped(kind, id)
        request = Ask(message)
        deadline = trio.current_time() + timeout
        cell = rt.cell_for(id, even_if_stopping=self._inside_drain())
        if not rt.offer(cell, request):
            await self._wait_for_room(rt, kind, id, request, timeout)
        with trio.move_on_at(deadline):
            await request.done.wait()
        if not request.done.is_set():
            raise AskTimeout(kind, id, type(message).__name__, timeout)
        if request.error is not None:
            raise request.error
        return request.reply

    # ---- running and stopping ----

    def child_specs(self) -> list[ChildSpec]:
        specs = []
        for rt in self._kinds.values():
            specs.append(
                ChildSpec(
                    id=rt.name,
                    start=rt.run,
                    restart=Restart.PERMANENT,
                    kind="actor-kind",
                    describe=functools.partial(self._describe, rt),
                )
            )
        return specs

    def _describe(self, rt: KindRuntime) -> TreeNode:
        return rt.describe(self.actor_limit)

    def supervisor(self) -> Supervisor:
        if self._supervisor is None:
            self._supervisor = Supervisor(
                "actors",
                self.child_specs(),
                strategy=Strategy.ONE_FOR_ONE,
                intensity=self._intensity,
                backoff=self._backoff,
                observer=self._observer,
            )
        return self._supervisor

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run every kind's runtime under the ``actors`` supervisor until cancelled."""
        await self.supervisor().run(task_status=task_status)

    def as_child(self) -> ChildSpec:
        return self.supervisor().as_child("actors")

    def stop_accepting(self) -> None:
        self.accepting = False
        self.draining = True
        for rt in self._kinds.values():
            rt.accepting = False

    def idle(self) -> bool:
        """No message is queued and no handler runs, in any kind."""
        return all(rt.idle() for rt in self._kinds.values())

    async def drain(self, deadline: float) -> int:
        """Wait until every mailbox is empty and no handler runs, or until ``deadline``
        (trio time).  Returns the number of messages still queued."""
        with trio.move_on_at(deadline):
            while not self.idle():
                await trio.sleep(0.005)
        return sum(rt.stats.queued for rt in self._kinds.values())

    async def discard(self, kind: str, id: str, *, timeout: float = 10.0) -> bool:
        """Forget the live actor ``(kind, id)`` without snapshotting it (see
        `KindRuntime.discard`): its state in memory is gone, what the store holds stays for
        the caller to delete.  Whether it was live."""
        return await self.runtime(kind).discard(id, timeout)

    def is_live(self, kind: str, id: str) -> bool:
        """Whether ``(kind, id)`` has a cell on this node (activated and not passivated)."""
        return id in self.runtime(kind).cells

    async def passivate_idle(self, idle_for: float = 0.0) -> int:
        """Passivate every actor idle for at least ``idle_for`` seconds; return how many."""
        return sum([await rt.passivate_idle(idle_for) for rt in self._kinds.values()])

    async def save_all(self) -> None:
        """Snapshot every live actor whose state changed since it was last stored."""
        for rt in self._kinds.values():
            await rt.save(list(rt.cells.values()))

    def supervision_tree(self) -> TreeNode:
        return self.supervisor().tree()

    async def close_after(self, cancel: trio.CancelScope, drain_seconds: float) -> None:
        """Clean shutdown: stop accepting, drain mailboxes up to ``drain_seconds``, cancel the
        workers (via ``cancel``, the scope the router runs in), snapshot every actor."""
        self.stop_accepting()
        left = await self.drain(trio.current_time() + drain_seconds)
        if left:
            log.warning("shutdown deadline passed with %d messages still queued", left)
        cancel.cancel()
        await trio.lowlevel.checkpoint()
        with trio.CancelScope(shield=True):
            await self.save_all()


@asynccontextmanager
async def open_router(
    kinds: Sequence[ActorKind],
    store: SnapshotStore | None = None,
    dead_letters: DeadLetterStore | None = None,
    drain_seconds: float = 10.0,
    intensity: Intensity | None = None,
) -> AsyncIterator[Router]:
    """Run a router for the duration of the block, then shut it down cleanly.

    For tools, tests and benchmarks; the server runs the router under its root supervisor.
    """
    router = (
        Router(store, dead_letters)
        if intensity is None
        else Router(store, dead_letters, intensity=intensity)
    )
    for kind in kinds:
        router.register(kind)
    async with trio.open_nursery() as nursery:
        scope = trio.CancelScope()

        async def _run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            with scope:
                await router.run(task_status=task_status)

        await nursery.start(_run)
        try:
            yield router
        finally:
            with trio.CancelScope(shield=True):
                await router.close_after(scope, drain_seconds)
