"""The operations dashboard's numbers: sampled from the engine, aggregated over the last hour.

- ``_aggregate``: pure. `Reading` (counters, gauges, histograms at an instant) → `Aggregator`
  → `Point` (per-second rates, gauges, latency quantiles per window); `quantile`.
- ``_reading``: `read_registry`, the dashboard's names mapped to the Prometheus metrics.
- ``_pulse``: `ConversationPulse`, service levels (first response, handle time, resolutions)
  from the conversation log as it commits.
- ``_probes``: `Probes`, gauges the engine did not export (queues, agents, outbox backlog),
  read from the live queues' committed state (`queue_numbers`) and one count.
- ``_summary``: `summarise`, the supervision tree per actor kind with mailbox hot spots.
- ``_sampler``: `Sampler`, the task that ties them together every tick.

docs/operations.md describes what the dashboard shows and where each number comes from.
"""

from ._aggregate import Aggregator, Histogram, Latency, Point, Reading, between, quantile
from ._probes import Probes, QueueNumbers, queue_numbers
from ._pulse import ConversationPulse
from ._reading import COUNTERS, GAUGES, HISTOGRAMS, read_registry
from ._sampler import Sampler
from ._summary import child_crashes, summarise

__all__ = [
    "COUNTERS",
    "GAUGES",
    "HISTOGRAMS",
    "Aggregator",
    "ConversationPulse",
    "Histogram",
    "Latency",
    "Point",
    "Probes",
    "QueueNumbers",
    "Reading",
    "Sampler",
    "between",
    "child_crashes",
    "quantile",
    "queue_numbers",
    "read_registry",
    "summarise",
]
