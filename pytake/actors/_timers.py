"""Timers: a deadline, delivered later as a message to an actor.

Actors have no tasks of their own, so "tell me at T" is a service: :class:`Timers` keeps one
timer per ``(kind, id, name)`` (scheduling again replaces it) and, when one is due, tells the
actor its message through the router.  Timers live in memory: an actor whose deadlines must
survive a restart re-arms them when it is woken (its deadlines are part of its state).

Time is wall-clock epoch seconds, read through :meth:`Timers.now`, which follows trio's clock
from the moment the service first reads it: real time in production, and under trio's
``MockClock`` in tests, where deadlines fire as the mock clock jumps.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from typing import TYPE_CHECKING, Any

import trio

from ..errors import ActorStopped, MailboxFull

if TYPE_CHECKING:
    from ._router import Router

log = logging.getLogger("pytake.actors")

_Key = tuple[str, str, str]


class Timers:
    def __init__(self, router: Router) -> None:
        self._router = router
        self._heap: list[tuple[float, int, _Key]] = []
        self._live: dict[_Key, tuple[int, Any, float]] = {}
        self._counter = itertools.count()
        self._wake = trio.Event()
        self._origin: tuple[float, float] | None = None

    def now(self) -> float:
        """Epoch seconds, advancing with trio's clock."""
        trio_now = trio.current_time()
        if self._origin is None:
            self._origin = (time.time(), trio_now)
        wall, base = self._origin
        return wall + (trio_now - base)

    def schedule(self, kind: str, id: str, name: str, at: float, message: Any) -> None:
        """Tell ``(kind, id)`` ``message`` at epoch ``at``; replaces its timer ``name``."""
        key = (kind, id, name)
        count = next(self._counter)
        self._live[key] = (count, message, at)
        heapq.heappush(self._heap, (at, count, key))
        if len(self._heap) > 2 * len(self._live) + 1024:
            # Replaced and cancelled timers are dropped lazily; re-armed waits would let them
            # pile up until their old deadlines, so the heap is rebuilt from the live ones.
            self._heap = [(when, c, k) for k, (c, _, when) in self._live.items()]
            heapq.heapify(self._heap)
        self._wake.set()

    def cancel(self, kind: str, id: str, name: str) -> None:
        self._live.pop((kind, id, name), None)

    def cancel_all(self, kind: str, id: str) -> int:
        """Cancel every timer of ``(kind, id)``; how many there were."""
        keys = [key for key in self._live if key[0] == kind and key[1] == id]
        for key in keys:
            del self._live[key]
        return len(keys)

    def pending(self) -> int:
        return len(self._live)

    def _pop_due(self, now: float) -> list[tuple[_Key, Any]]:
        due: list[tuple[_Key, Any]] = []
        while self._heap and self._heap[0][0] <= now:
            _, count, key = heapq.heappop(self._heap)
            live = self._live.get(key)
            if live is not None and live[0] == count:
                del self._live[key]
                due.append((key, live[1]))
        return due

    def _next_at(self) -> float | None:
        while self._heap:
            at, count, key = self._heap[0]
            live = self._live.get(key)
            if live is not None and live[0] == count:
                return at
            heapq.heappop(self._heap)  # replaced or cancelled
        return None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            for (kind, id, _), message in self._pop_due(self.now()):
                try:
                    self._router.tell_nowait(kind, id, message)
                except MailboxFull:
                    log.debug("timer for %s/%s waits for room in its mailbox", kind, id)
                    await self._router.tell(kind, id, message)
                except ActorStopped:
                    return  # shutting down
            self._wake = trio.Event()
            at = self._next_at()
            with trio.move_on_after(max(0.0, at - self.now()) if at is not None else 3600):
                await self._wake.wait()
