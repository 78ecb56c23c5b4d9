"""Gauges the engine did not export yet, read where they are cheap, as a Prometheus collector.

`Probes.refresh` runs in the sampler's task once per tick.  Queues are read the way Erlang's
Observer reads a process's state: from each live queue actor's last committed state (what its
next snapshot will hold), never by a message, which would count as work, keep the actor from
passivating and make it write a snapshot for nothing.  Every few ticks the outbox backlog is
counted in the database.  `collect` only returns what the last refresh found, so a scrape of
/metrics never waits for a query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

import attrs
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from pytake.actors import Router, converter
from pytake.errors import PyTakeError
from pytake.queues import QueueActorState
from pytake.routing import AgentStatus, QueueState
from pytake.store import Database

from ._repo import outbox_backlog

log = logging.getLogger("pytake.ops")


class SendCounts(Protocol):
    """What the outbox counts as it sends (`pytake.messaging.OutboxSender`)."""

    sent: int
    failed: int


@attrs.frozen
class QueueNumbers:
    """What the live queues hold, summed over teams."""

    waiting: int = 0
    offered: int = 0
    assigned: int = 0
    #: seconds the longest-waiting conversation has waited (0 with none waiting)
    oldest_wait: float = 0.0
    #: agents owning at least one conversation (counted once across their teams)
    busy: int = 0


def queue_numbers(queues: Iterable[QueueState], now: float) -> QueueNumbers:
    """The numbers of `QueueState` values (pure; as `QueueActor`'s own statistics count)."""
    waiting = offered = assigned = 0
    oldest = 0.0
    busy: set[str] = set()
    for q in queues:
        waiting += len(q.waiting) - len(q.offers)
        offered += len(q.offers)
        assigned += len(q.assigned)
        for entry in q.waiting.values():
            oldest = max(oldest, now - entry.enqueued_at)
        busy.update(slot.agent for slot in q.agents.values()
                    if slot.active > 0 and slot.status is not AgentStatus.OFFLINE)
    return QueueNumbers(waiting, offered, assigned, oldest, len(busy))


def _queue_state(committed: Any) -> QueueState | None:
    if committed is None:
        return None
    state = converter.structure(committed, QueueActorState)
    return state.queue


class Probes:
    def __init__(
        self,
        router: Router,
        db: Database | None = None,
        *,
        now: Callable[[], float],
        outbox: SendCounts | None = None,
        presence: Mapping[str, str] | None = None,
        connected: Callable[[], int] | None = None,
        slow_every: int = 5,
    ) -> None:
        self._router = router
        self._db = db
        self._now = now
        self._outbox = outbox
        self._presence = presence if presence is not None else {}
        self._connected = connected
        self._slow_every = slow_every
        self._ticks = 0
        self.queues: QueueNumbers | None = None
        self.backlog: int | None = None

    async def refresh(self) -> None:
        self._ticks += 1
        self.queues = self._read_queues()
        if self._db is not None and (self._ticks - 1) % self._slow_every == 0:
            try:
                self.backlog = await self._db.run(outbox_backlog, readonly=True)
            except PyTakeError as exc:  # the dashboard keeps its last number meanwhile
                log.debug("outbox backlog not counted now: %s", exc)

    def _read_queues(self) -> QueueNumbers | None:
        try:
            runtime = self._router.runtime("queue")
        except PyTakeError:
            return None  # an engine without queues (tests, tools)
        states = [_queue_state(cell.committed) for cell in list(runtime.cells.values())]
        return queue_numbers([q for q in states if q is not None], self._now())

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("pytake_agents_online", "Agents whose presence is online",
                                value=sum(1 for s in list(self._presence.values())
                                          if s == "online"))
        if self._connected is not None:
            yield GaugeMetricFamily("pytake_agents_connected", "Agents with a desk connection",
                                    value=self._connected())
        q = self.queues
        if q is not None:
            for name, text, value in (
                ("pytake_queue_waiting", "Conversations waiting in live team queues",
                 q.waiting),
                ("pytake_queue_offered", "Conversations offered to an agent, not yet accepted",
                 q.offered),
                ("pytake_queue_assigned", "Conversations assigned to agents in live queues",
                 q.assigned),
                ("pytake_queue_oldest_wait_seconds", "The longest wait in any live queue",
                 q.oldest_wait),
                ("pytake_agents_busy", "Agents owning at least one conversation", q.busy),
            ):
                yield GaugeMetricFamily(name, text, value=value)
        if self.backlog is not None:
            yield GaugeMetricFamily("pytake_outbox_backlog", "Outbound sends pending or "
                                    "in flight", value=self.backlog)
        if self._outbox is not None:
            yield CounterMetricFamily("pytake_outbox_sent", "Outbound sends the Cloud API "
                                      "accepted", value=self._outbox.sent)
            yield CounterMetricFamily("pytake_outbox_failed", "Outbound sends rejected for "
                                      "good", value=self._outbox.failed)
