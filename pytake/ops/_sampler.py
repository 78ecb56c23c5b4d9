"""The sampler: a task that reads the engine's numbers every tick and keeps the last hour.

`Sampler.run` is a service under the root supervisor (``ops-sampler``).  Each tick it lets the
probes refresh their gauges, reads the registry (`read_registry`), feeds the `Aggregator`,
takes the supervision summary, and wakes whoever waits for the next tick (the live socket).
Time is trio's, so tests drive it with ``trio.testing.MockClock``; timestamps shown to people
come from ``clock`` (wall-clock seconds by default).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio
from prometheus_client import CollectorRegistry

from ._aggregate import Aggregator, Point
from ._reading import read_registry

log = logging.getLogger("pytake.ops")


def point_json(point: Point | None) -> dict[str, Any] | None:
    return None if point is None else attrs.asdict(point)


class Sampler:
    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        interval: float = 1.0,
        window: float = 10.0,
        keep: float = 3600.0,
        refresh: Callable[[], Awaitable[None]] | None = None,
        summary: Callable[[], dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval <= 0:
            raise ValueError("the sampling interval must be positive")
        self.registry = registry
        self.interval = interval
        self.aggregator = Aggregator(window=max(window, interval), keep=keep)
        self._refresh = refresh
        self._summary = summary
        self._clock = clock
        self._last_at = float("-inf")
        #: ticks taken since the start (a live client compares it with the last one it sent)
        self.ticks = 0
        self.tree: dict[str, Any] | None = None
        self._ticked = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        due = trio.current_time()
        while True:
            await self.tick()
            # A late tick is not caught up on with a burst: the next one is a whole interval on.
            due = max(due + self.interval, trio.current_time())
            await trio.sleep_until(due)

    async def tick(self) -> None:
        # The dashboard must never take the engine down: a failing probe or summary would
        # crash this service again and again until the root supervisor gave up on all of it.
        # It keeps the last numbers instead, and the log says why.
        if self._refresh is not None:
            try:
                await self._refresh()
            except Exception:
                log.warning("ops probes failed; the gauges keep their last values",
                            exc_info=True)
        # A clock set back (NTP) must not reorder readings: time stands still instead.
        at = self._last_at = max(self._last_at, self._clock())
        self.aggregator.add(read_registry(self.registry, at))
        if self._summary is not None:
            try:
                self.tree = self._summary()
            except Exception:
                log.warning("supervision summary failed; showing the last one", exc_info=True)
        self.ticks += 1
        ticked, self._ticked = self._ticked, trio.Event()
        ticked.set()

    async def wait_tick(self, seen: int) -> int:
        """Return once a tick after the ``seen``-th was taken; the number of ticks taken."""
        while self.ticks <= seen:
            await self._ticked.wait()
        return self.ticks

    def current(self) -> dict[str, Any]:
        """What the live socket sends each tick: the numbers now and the supervision summary."""
        return {
            "at": self._last_at if self.ticks else None,
            "interval": self.interval,
            "window": self.aggregator.window,
            "current": point_json(self.aggregator.current()),
            "supervision": self.tree,
        }

    def newest_point(self) -> dict[str, Any] | None:
        """The newest closed window (the live socket sends it with every tick; a client adds
        it to its chart when its ``at`` is new)."""
        return point_json(self.aggregator.newest())

    def stats(self) -> dict[str, Any]:
        """`current` plus the last hour, one point per window, oldest first."""
        return {
            **self.current(),
            "series": [point_json(p) for p in self.aggregator.series()],
        }
