"""Prometheus counters fed by every supervisor of the application."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from ._supervisor import Supervisor


class SupervisionMetrics:
    """A :class:`pytake.supervisor.SupervisorObserver` that counts into a registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["supervisor", "child"]
        self.crashes = Counter(
            "pytake_supervisor_child_crashes", "Children that exited with an error", labels,
            registry=registry,
        )
        self.restarts = Counter(
            "pytake_supervisor_child_restarts", "Children started again", labels,
            registry=registry,
        )
        self.escalations = Counter(
            "pytake_supervisor_escalations", "Supervisors that gave up and escalated", labels,
            registry=registry,
        )

    def on_crash(self, supervisor: Supervisor, child_id: str, exc: BaseException) -> None:
        self.crashes.labels(supervisor.name, child_id).inc()

    def on_restart(self, supervisor: Supervisor, child_id: str) -> None:
        self.restarts.labels(supervisor.name, child_id).inc()

    def on_escalation(self, supervisor: Supervisor, child_id: str) -> None:
        self.escalations.labels(supervisor.name, child_id).inc()
