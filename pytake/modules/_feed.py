"""The event feed: conversation and message events handed to the outbound webhook module in
the background, so delivering to a slow subscriber never slows a conversation.

`EventFeed.publish` never waits: events queue in a bounded buffer; past it they are dropped
and counted (the conversation's own log in the database keeps them).  Deliveries run with a
concurrency limit; each has its retries and its row in ``webhook_deliveries``.

`EventFeed.forget` drops the events still waiting about conversations whose customer was
erased (their log rows are gone: nothing about them is delivered, or logged, afterwards).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import trio

from ..errors import ModuleError
from .builtin.webhook import WebhookEvent

log = logging.getLogger("pytake.modules")


class EventFeed:
    def __init__(
        self,
        deliver: Callable[[WebhookEvent], Awaitable[Any]] | None,
        *,
        size: int = 10_000,
        concurrency: int = 8,
    ) -> None:
        self._deliver = deliver
        self._send, self._receive = trio.open_memory_channel[WebhookEvent](size)
        self._limit = trio.Semaphore(concurrency)
        self.published = 0
        self.dropped = 0
        #: conversations whose events are no longer delivered (their customer was erased)
        self._forgotten: set[int] = set()

    @property
    def enabled(self) -> bool:
        return self._deliver is not None

    def publish(self, type: str, data: dict[str, Any]) -> None:
        if self._deliver is None:
            return
        try:
            self._send.send_nowait(WebhookEvent(type=type, data=data))
            self.published += 1
        except trio.WouldBlock:
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                log.warning("webhook event feed full: %d events dropped", self.dropped)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            task_status.started()
            async for event in self._receive:
                await self._limit.acquire()
                nursery.start_soon(self._one, event)

    def forget(self, conversation_ids: Iterable[int]) -> None:
        """Deliver nothing more about these conversations (events still waiting included)."""
        self._forgotten.update(conversation_ids)

    async def _one(self, event: WebhookEvent) -> None:
        if self._forgotten and event.data.get("conversation_id") in self._forgotten:
            self._limit.release()
            return
        try:
            assert self._deliver is not None
            await self._deliver(event)
        except ModuleError as exc:
            log.warning("webhook event %s not delivered: %s", event.type, exc)
        except Exception:
            log.exception("delivering webhook event %s failed", event.type)
        finally:
            self._limit.release()
