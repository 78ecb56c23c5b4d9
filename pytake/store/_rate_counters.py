"""Rate-limit counters: how many hits a key had in its current window.

A window is fixed and starts at a key's first hit (not at a wall-clock boundary), so nodes
sharing one Redis need no synchronised clocks: Redis keeps the window's remaining time
(``PTTL``). Two implementations of one small interface, `RateCounters`:

- `MemoryRateCounters`: this process only (one node, or the fallback of the next one);
- `RedisRateCounters`: one budget for every node through Redis, a Lua script doing
  ``INCR`` and, on the first hit, ``PEXPIRE`` atomically in one round trip.  While Redis is
  unreachable it counts in process instead, and only tries Redis again after a short pause,
  so a dead Redis neither fails a request nor adds its timeout to every one.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

import attrs

from pytake.errors import StorageUnavailable
from pytake.store._redis import RedisConnection

__all__ = ["MemoryRateCounters", "RateCounters", "RedisRateCounters", "WindowCount"]

log = logging.getLogger("pytake.store")


@attrs.frozen
class WindowCount:
    """A key's hits in its current window, this one included, and the window's seconds left."""

    count: int
    reset: float


class RateCounters(Protocol):
    async def hit(self, key: str, window: float) -> WindowCount:
        """Count one hit of ``key`` in its window of ``window`` seconds."""
        ...


class MemoryRateCounters:
    """Counters in this process; past ``max_keys`` keys the expired ones are dropped, then
    the oldest, so a flood of made-up keys (addresses, accounts) cannot grow it without end."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.clock = clock
        self._max_keys = max_keys
        #: key → [hits, when its window ends]
        self._windows: dict[str, list[float]] = {}

    async def hit(self, key: str, window: float) -> WindowCount:
        return self.hit_now(key, window)

    def hit_now(self, key: str, window: float) -> WindowCount:
        now = self.clock()
        entry = self._windows.get(key)
        if entry is None or entry[1] <= now:
            if entry is None and len(self._windows) >= self._max_keys:
                self._prune(now)
            entry = self._windows[key] = [0, now + window]
        entry[0] += 1
        return WindowCount(int(entry[0]), entry[1] - now)

    def _prune(self, now: float) -> None:
        for key in [k for k, (_, ends) in self._windows.items() if ends <= now]:
            del self._windows[key]
        excess = len(self._windows) - self._max_keys // 2
        for key in list(self._windows)[: max(0, excess)]:
            del self._windows[key]

    def __len__(self) -> int:
        return len(self._windows)


# KEYS[1]: the counter; ARGV[1]: the window in milliseconds.  Returns {hits, ms left}.
_HIT = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""


class RedisRateCounters:
    """Counters in Redis under ``<prefix>rl:<key>``; in process while Redis is unreachable.

    ``retry_pause``: seconds after a Redis failure during which the in-process counters are
    used without asking Redis (a partitioned Redis would otherwise cost every request the
    client's timeout).
    """

    def __init__(
        self,
        redis: RedisConnection,
        *,
        fallback: MemoryRateCounters | None = None,
        retry_pause: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.fallback = fallback or MemoryRateCounters()
        self._retry_pause = retry_pause
        self._clock = clock
        self._down_until = -math.inf
        self.fallbacks = 0

    async def hit(self, key: str, window: float) -> WindowCount:
        if self._clock() >= self._down_until:
            window_ms = max(1, math.ceil(window * 1000))
            name = self.redis.key("rl", key)
            try:
                reply = await self.redis.call(
                    lambda c: c.eval(_HIT, keys=[name], args=[window_ms])
                )
            except StorageUnavailable as exc:
                if self._down_until == -math.inf:  # once per outage, not per request
                    log.warning("rate limits count in process while Redis is down: %s", exc)
                self._down_until = self._clock() + self._retry_pause
            else:
                if self._down_until != -math.inf:
                    log.info("rate limits count in Redis again")
                self._down_until = -math.inf
                count, ttl_ms = (int(x) for x in reply)
                return WindowCount(count, max(0, ttl_ms) / 1000)
        self.fallbacks += 1
        return self.fallback.hit_now(key, window)
