"""Per-kind counters, kept as plain ints on the hot path and exported at scrape time.

Prometheus client metrics take a lock per update; at millions of messages per second that
would cost more than the message itself, so the runtime counts into :class:`KindStats` and
:class:`ActorMetricsCollector` turns the numbers into metric families when scraped.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

#: Upper bounds (seconds) of the handling-time histogram.
HANDLING_BUCKETS: tuple[float, ...] = (
    0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
)


class KindStats:
    __slots__ = (
        "activations",
        "buckets",
        "crashes",
        "dead_letters",
        "duplicates",
        "escalations",
        "handled",
        "handling_sum",
        "live",
        "passivations",
        "queued",
        "restarts",
    )

    def __init__(self) -> None:
        self.live = 0
        self.queued = 0
        self.activations = 0
        self.passivations = 0
        self.handled = 0
        self.crashes = 0
        self.restarts = 0
        self.escalations = 0
        self.dead_letters = 0
        self.duplicates = 0
        self.handling_sum = 0.0
        self.buckets = [0] * (len(HANDLING_BUCKETS) + 1)

    def observe(self, seconds: float) -> None:
        self.handling_sum += seconds
        self.buckets[bisect_left(HANDLING_BUCKETS, seconds)] += 1


class ActorMetricsCollector:
    """A prometheus collector over the router's kinds (register it in a CollectorRegistry)."""

    def __init__(self, source: Callable[[], Iterable[tuple[str, KindStats]]]) -> None:
        self._source = source

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        kinds = list(self._source())
        gauges = {
            "live": GaugeMetricFamily(
                "pytake_actors_live", "Live (activated) actors", labels=["kind"]
            ),
            "queued": GaugeMetricFamily(
                "pytake_actor_mailbox_depth", "Messages waiting in mailboxes", labels=["kind"]
            ),
        }
        counters = {
            name: CounterMetricFamily(f"pytake_actor_{name}", text, labels=["kind"])
            for name, text in (
                ("activations", "Actor activations"),
                ("passivations", "Actors passivated after idling"),
                ("messages_handled", "Messages handled"),
                ("crashes", "Messages whose handler raised"),
                ("restarts", "Actor restarts from snapshot"),
                ("escalations", "Kind supervisor escalations to its parent"),
                ("dead_letters", "Poison messages moved to dead letters"),
                ("journal_duplicates", "Journaled messages skipped as already applied"),
            )
        }
        hist = HistogramMetricFamily(
            "pytake_actor_handling_seconds", "Time to handle one message", labels=["kind"]
        )
        for kind, s in kinds:
            gauges["live"].add_metric([kind], s.live)
            gauges["queued"].add_metric([kind], s.queued)
            counters["activations"].add_metric([kind], s.activations)
            counters["passivations"].add_metric([kind], s.passivations)
            counters["messages_handled"].add_metric([kind], s.handled)
            counters["crashes"].add_metric([kind], s.crashes)
            counters["restarts"].add_metric([kind], s.restarts)
            counters["escalations"].add_metric([kind], s.escalations)
            counters["dead_letters"].add_metric([kind], s.dead_letters)
            counters["journal_duplicates"].add_metric([kind], s.duplicates)
            cumulative, acc = [], 0
            for bound, count in zip((*HANDLING_BUCKETS, float("inf")), s.buckets, strict=True):
                acc += count
                cumulative.append((_bound(bound), acc))
            hist.add_metric([kind], cumulative, sum_value=s.handling_sum)
        yield from gauges.values()
        yield from counters.values()
        yield hist


def _bound(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(value)
