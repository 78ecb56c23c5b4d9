"""Reading a Prometheus `CollectorRegistry` into a `Reading`: the same numbers /metrics shows.

Each dashboard number names the metric it comes from (`COUNTERS`, `GAUGES`, `HISTOGRAMS`)
and, optionally, the labels it keeps; every other label set is summed.  A metric not
registered (a component not running) reads as absent: a gauge ``None``, a counter 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Final

from prometheus_client import CollectorRegistry

from ._aggregate import Histogram, Reading

#: ``(sample name, labels it must have)`` per dashboard name.
Selector = tuple[str, Mapping[str, str]]

COUNTERS: Final[Mapping[str, Selector]] = {
    "messages_in": ("pytake_inbound_messages_total", {"outcome": "stored"}),
    "messages_out": ("pytake_outbox_sent_total", {}),
    "outbox_failed": ("pytake_outbox_failed_total", {}),
    "webhook_requests": ("pytake_webhook_requests_total", {}),
    "module_calls": ("pytake_module_call_seconds_count", {}),
    "module_failures": ("pytake_module_failures_total", {}),
    "resolved_bot": ("pytake_conversations_resolved_total", {"by": "bot"}),
    "resolved_agent": ("pytake_conversations_resolved_total", {"by": "agent"}),
    "actor_messages": ("pytake_actor_messages_handled_total", {}),
    "actor_crashes": ("pytake_actor_crashes_total", {}),
    "actor_restarts": ("pytake_actor_restarts_total", {}),
    "dead_letters": ("pytake_actor_dead_letters_total", {}),
    "service_crashes": ("pytake_supervisor_child_crashes_total", {}),
}

GAUGES: Final[Mapping[str, Selector]] = {
    "queue_waiting": ("pytake_queue_waiting", {}),
    "queue_offered": ("pytake_queue_offered", {}),
    "queue_assigned": ("pytake_queue_assigned", {}),
    "queue_oldest_wait": ("pytake_queue_oldest_wait_seconds", {}),
    "agents_online": ("pytake_agents_online", {}),
    "agents_busy": ("pytake_agents_busy", {}),
    "agents_connected": ("pytake_agents_connected", {}),
    "outbox_backlog": ("pytake_outbox_backlog", {}),
    "mailbox_depth": ("pytake_actor_mailbox_depth", {}),
    "actors_live": ("pytake_actors_live", {}),
    "module_circuits_open": ("pytake_module_circuit_open", {}),
}

#: Histogram families (their ``_bucket``/``_sum`` samples).
HISTOGRAMS: Final[Mapping[str, Selector]] = {
    "first_response": ("pytake_first_response_seconds", {}),
    "handle_time": ("pytake_handle_seconds", {}),
    "module_call": ("pytake_module_call_seconds", {}),
    "webhook_ack": ("pytake_webhook_ack_seconds", {}),
}


def _matches(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in wanted.items())


def read_registry(registry: CollectorRegistry, at: float) -> Reading:
    """Every dashboard number from one pass over ``registry``'s collectors."""
    samples: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in registry.collect():
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))

    def total(selector: Selector) -> float | None:
        name, wanted = selector
        found = [v for labels, v in samples.get(name, ()) if _matches(labels, wanted)]
        return sum(found) if found else None

    counters = {key: total(sel) or 0.0 for key, sel in COUNTERS.items()}
    gauges = {key: total(sel) for key, sel in GAUGES.items()}
    histograms = {}
    for key, (histogram, wanted) in HISTOGRAMS.items():
        buckets: dict[float, float] = defaultdict(float)
        for labels, value in samples.get(f"{histogram}_bucket", ()):
            if _matches(labels, wanted):
                buckets[float(labels["le"])] += value
        if not buckets:
            continue
        bounds = tuple(sorted(buckets))
        if not math.isinf(bounds[-1]):
            continue  # not a histogram as Prometheus writes them
        total_sum = total((f"{histogram}_sum", wanted)) or 0.0
        histograms[key] = Histogram(bounds, tuple(buckets[b] for b in bounds), total_sum)
    return Reading(at=at, counters=counters, gauges=gauges, histograms=histograms)
