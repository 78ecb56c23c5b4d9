"""The Redis connection, kept open by a supervised task and usable while Redis comes and goes.

coredis (anyio-based, so it runs under trio) needs its client entered as an async context
manager, which fails if Redis is down at that moment; once entered, a lost server only fails
individual commands and the client reconnects by itself.  :class:`RedisConnection` therefore
enters the client in a service task, retrying with back-off until Redis answers, and turns
every Redis failure into :class:`~pytake.errors.StorageUnavailable` for its callers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import coredis
import coredis.exceptions
import trio

from pytake.errors import StorageUnavailable

log = logging.getLogger("pytake.store")

T = TypeVar("T")

#: Errors that mean "Redis is unreachable or misbehaving", not "your command is wrong".
REDIS_ERRORS: tuple[type[BaseException], ...] = (
    coredis.exceptions.ConnectionError,
    coredis.exceptions.BusyLoadingError,
    TimeoutError,
    OSError,
)

_CAUGHT: tuple[type[BaseException], ...] = (trio.TooSlowError, *REDIS_ERRORS)


class RedisConnection:
    """``await call(lambda client: client.get(key))``; run :meth:`run` as a service."""

    def __init__(self, url: str, *, prefix: str = "pytake:", timeout: float = 1.0) -> None:
        self.url = url
        self.prefix = prefix
        self._timeout = timeout
        self._client: Any = None
        self.connected = trio.Event()
        self.failures = 0

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def call(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        client = self._client
        if client is None:
            raise StorageUnavailable("Redis is not connected", retry_after=1.0)
        try:
            with trio.fail_after(self._timeout * 2):
                return await fn(client)
        except _CAUGHT as exc:
            self.failures += 1
            raise StorageUnavailable(f"Redis is unavailable: {exc}", retry_after=1.0) from exc
        except BaseExceptionGroup as group:
            self.failures += 1
            raise StorageUnavailable(f"Redis is unavailable: {group}", retry_after=1.0) from group

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep a client open until cancelled.  Reports started at once: the rest of PyTake
        works (more slowly) without Redis, so a down Redis must not block start-up."""
        task_status.started()
        delay = 0.1
        while True:
            client = coredis.Redis.from_url(
                self.url,
                stream_timeout=self._timeout,
                connect_timeout=self._timeout,
                decode_responses=False,
            )
            try:
                async with client:
                    await client.ping()
                    self._client = client
                    self.connected.set()
                    log.info("connected to Redis")
                    delay = 0.1
                    await trio.sleep_forever()
            except (Exception, BaseExceptionGroup) as exc:
                log.warning("Redis unavailable (%s); retrying in %.1fs", exc, delay)
            finally:
                self._client = None
                self.connected = trio.Event()
            await trio.sleep(delay)
            delay = min(delay * 2, 5.0)
