"""From readings of monotonic counters, gauges and histograms to rates, means and quantiles.

Pure: no clock, no task, no registry.  A `Reading` is what the engine's numbers were at one
instant; an `Aggregator` fed one reading per tick answers "what is happening now" (over the
last window) and keeps the last hour as one `Point` per window.  Rates come from counter
deltas, latencies from histogram bucket deltas, so a reading costs what a scrape costs and
nothing on the hot path counts twice.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

import attrs


@attrs.frozen
class Histogram:
    """A cumulative histogram: ``counts[i]`` observations were at most ``bounds[i]`` (the last
    bound is ``inf``), and they added up to ``sum``."""

    bounds: tuple[float, ...]
    counts: tuple[float, ...]
    sum: float

    @property
    def count(self) -> float:
        return self.counts[-1] if self.counts else 0.0

    def minus(self, earlier: Histogram) -> Histogram:
        """The observations made since ``earlier`` (nothing, if the buckets changed shape or
        went backwards: a reset is not a negative number of observations)."""
        if earlier.bounds != self.bounds:
            return self
        counts = tuple(max(0.0, a - b) for a, b in zip(self.counts, earlier.counts, strict=True))
        return Histogram(self.bounds, counts, max(0.0, self.sum - earlier.sum))


@attrs.frozen
class Reading:
    """The engine's numbers at ``at`` (seconds; any clock, as long as it is one clock)."""

    at: float
    counters: Mapping[str, float] = attrs.Factory(dict)
    gauges: Mapping[str, float | None] = attrs.Factory(dict)
    histograms: Mapping[str, Histogram] = attrs.Factory(dict)


@attrs.frozen
class Latency:
    """What a histogram's delta says: how many, their mean, median and 95th percentile
    (``None`` when there was nothing to measure)."""

    count: float
    mean: float | None
    p50: float | None
    p95: float | None


@attrs.frozen
class Point:
    """One window (``at`` is its end): per-second rates, gauges as last read, latencies."""

    at: float
    seconds: float
    rates: dict[str, float]
    gauges: dict[str, float | None]
    latency: dict[str, Latency]


def quantile(q: float, histogram: Histogram) -> float | None:
    """The ``q`` quantile, interpolated inside its bucket as Prometheus'
    ``histogram_quantile`` does: linearly, from the bucket's lower bound (0 for the first).
    An answer in the ``+Inf`` bucket is the highest finite bound: all one can say."""
    total = histogram.count
    if total <= 0 or not histogram.bounds:
        return None
    rank = q * total
    below, lower = 0.0, 0.0
    for bound, cumulative in zip(histogram.bounds, histogram.counts, strict=True):
        if cumulative >= rank:
            if math.isinf(bound):
                finite = [b for b in histogram.bounds if not math.isinf(b)]
                return finite[-1] if finite else None
            inside = cumulative - below
            if inside <= 0:
                return bound
            return lower + (bound - lower) * (rank - below) / inside
        below, lower = cumulative, bound
    return None


def latency(histogram: Histogram) -> Latency:
    count = histogram.count
    return Latency(
        count=count,
        mean=histogram.sum / count if count > 0 else None,
        p50=quantile(0.5, histogram),
        p95=quantile(0.95, histogram),
    )


def between(earlier: Reading, later: Reading) -> Point:
    """What happened from ``earlier`` to ``later``.  A counter that went down (a label set
    that disappeared, a component restarted) counts as nothing, not as a negative rate."""
    seconds = later.at - earlier.at
    rates = {}
    for name, value in later.counters.items():
        delta = max(0.0, value - earlier.counters.get(name, value))
        rates[name] = delta / seconds if seconds > 0 else 0.0
    histograms = {}
    for name, histogram in later.histograms.items():
        before = earlier.histograms.get(name)
        histograms[name] = latency(histogram if before is None else histogram.minus(before))
    return Point(at=later.at, seconds=seconds, rates=rates, gauges=dict(later.gauges),
                 latency=histograms)


class Aggregator:
    """Readings in, ``current()`` and ``series()`` out.

    ``window`` seconds make one point of the series and the span ``current()`` looks back
    over (a one-second rate of a few messages jumps between 0 and 5; ten seconds read
    steadily); ``keep`` seconds of points are kept, the oldest dropped first.
    """

    def __init__(self, window: float = 10.0, keep: float = 3600.0) -> None:
        if window <= 0 or keep < window:
            raise ValueError("window must be positive and keep at least one window")
        self.window = window
        self.keep = keep
        self._points: deque[Point] = deque(maxlen=int(keep // window))
        self._recent: deque[Reading] = deque()
        self._window_start: Reading | None = None

    def add(self, reading: Reading) -> Point | None:
        """Take a reading (times must not go backwards); return the point it closed, if any."""
        recent = self._recent
        if recent and reading.at < recent[-1].at:
            raise ValueError("readings must come in time order")
        recent.append(reading)
        # Keep exactly one reading at or before the window's start: current() measures from it.
        while len(recent) > 2 and recent[1].at <= reading.at - self.window:
            recent.popleft()
        start = self._window_start
        if start is None:
            self._window_start = reading
            return None
        if reading.at - start.at < self.window:
            return None
        point = between(start, reading)
        self._points.append(point)
        self._window_start = reading
        return point

    def current(self) -> Point | None:
        """The last ``window`` seconds (less, while fewer were read); ``None`` before two
        readings."""
        if len(self._recent) < 2:
            return None
        return between(self._recent[0], self._recent[-1])

    def newest(self) -> Point | None:
        return self._points[-1] if self._points else None

    def series(self) -> list[Point]:
        """Closed windows, oldest first, at most ``keep`` seconds of them."""
        return list(self._points)
