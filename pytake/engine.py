"""The composition root: settings in, a running PyTake out.

``Engine`` builds the stores, the actor router and the root supervisor from
:class:`pytake.config.Settings`; the CLI and the tests run it, and the web edge reads from it
(readiness, metrics, the supervision tree).  Nothing else constructs these pieces.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import trio
from prometheus_client import CollectorRegistry

from ._supervision_metrics import SupervisionMetrics
from .actors import ActorKind, DeadLetter, InMemoryDeadLetters, InMemorySnapshotStore, Router
from .config import Settings
from .supervisor import Backoff, Intensity, Supervisor, TreeNode

log = logging.getLogger("pytake.engine")


def backoff_from(settings: Settings) -> Backoff:
    actor = settings.actors
    return Backoff(
        initial=actor.backoff_initial, maximum=actor.backoff_max, multiplier=2.0, jitter=0.2
    )


def actor_kind(settings: Settings, actor_class: type, **overrides: Any) -> ActorKind:
    """An :class:`ActorKind` for ``actor_class`` with the configured defaults."""
    actor = settings.actors
    options: dict[str, Any] = {
        "idle_timeout": actor.idle_timeout,
        "mailbox_size": actor.mailbox_size,
        "poison_threshold": actor.poison_threshold,
        "backoff": backoff_from(settings),
    }
    options.update(overrides)
    return ActorKind(actor_class, **options)


class Engine:
    """Settings, stores, the actor router and the root supervisor.

    Lifecycle: ``await nursery.start(engine.run)`` (returns once ready), then
    ``await engine.aclose()`` for a clean shutdown: stop accepting, drain mailboxes up to
    ``actors.drain_deadline`` seconds, snapshot every actor, stop.
    """

    def __init__(self, settings: Settings, kinds: Sequence[ActorKind] = ()) -> None:
        self.settings = settings
        self.registry = CollectorRegistry()
        self._supervision_metrics = SupervisionMetrics(self.registry)
        actor = settings.actors
        self.backoff = backoff_from(settings)
        self.intensity = Intensity(max_restarts=actor.max_restarts, period=actor.restart_period)
        self.router = Router(
            InMemorySnapshotStore(),
            InMemoryDeadLetters(),
            intensity=self.intensity,
            backoff=self.backoff,
            observer=self._supervision_metrics,
        )
        for kind in kinds:
            self.router.register(kind)
        self.registry.register(self.router.metrics_collector())
        self.root = Supervisor(
            "pytake",
            [self.router.as_child()],
            intensity=self.intensity,
            backoff=self.backoff,
            observer=self._supervision_metrics,
        )
        self.ready = False
        self._scope = trio.CancelScope()
        self._stopped = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the root supervisor until :meth:`aclose` (or cancellation)."""
        engine = self

        class _Started:
            def started(self, value: object = None) -> None:
                engine.ready = True
                task_status.started()

        try:
            with self._scope:
                await self.root.run(task_status=_Started())
        finally:
            self.ready = False
            self._stopped.set()

    def supervision_tree(self, actor_limit: int = 100) -> TreeNode:
        self.router.actor_limit = actor_limit
        return self.root.tree()

    async def dead_letters(self, limit: int = 100, kind: str | None = None) -> Sequence[DeadLetter]:
        """The newest poison messages (see ``GET /api/v1/ops/dead-letters``)."""
        return await self.router.dead_letters.list(limit, kind)

    async def aclose(self) -> None:
        """Clean shutdown (idempotent)."""
        self.ready = False
        if self._scope.cancel_called:
            await self._stopped.wait()
            return
        await self.router.close_after(self._scope, self.settings.actors.drain_deadline)
        await self._stopped.wait()
        log.info("engine stopped")
