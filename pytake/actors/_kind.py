"""How one kind of actor is run: its class and its limits."""

from __future__ import annotations

import math
from typing import Any

import attrs

from ..supervisor import Backoff, Intensity

DEFAULT_BACKOFF = Backoff(initial=0.05, maximum=5.0, multiplier=2.0, jitter=0.2)
DEFAULT_INTENSITY = Intensity(max_restarts=1000, period=10.0)


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


@attrs.frozen
class ActorKind:
    """Registration of an actor class with the router.

    - ``idle_timeout``: seconds without messages after which a live actor snapshots itself and
      stops (``math.inf`` keeps it forever).
    - ``mailbox_size``: bound of each actor's mailbox; senders wait (or get ``MailboxFull``)
      beyond it.
    - ``poison_threshold``: how many times one message may crash the actor before it is moved
      to dead letters.
    - ``backoff``: delay before an actor crashed by a message retries it.
    - ``intensity``: restarts across the whole kind that make the kind's supervisor give up and
      escalate to its parent.
    - ``batch``: messages one actor may handle before yielding its worker to others (fairness).
    - ``max_workers``: bound of the kind's elastic worker pool (concurrently *running* actors).
    - ``services``: what every actor of the kind gets as ``self.services`` (its collaborators:
      an outbox, a log, timers, ...), typed by the actor class; given by the composition root.
    """

    actor_class: type[Any]
    idle_timeout: float = 300.0
    mailbox_size: int = attrs.field(default=1000, validator=_positive)
    poison_threshold: int = attrs.field(default=3, validator=_positive)
    backoff: Backoff = DEFAULT_BACKOFF
    intensity: Intensity = DEFAULT_INTENSITY
    batch: int = attrs.field(default=64, validator=_positive)
    max_workers: int = attrs.field(default=1024, validator=_positive)
    snapshot_interval: float = attrs.field(default=1.0, validator=_positive)
    services: Any = attrs.field(default=None, eq=False)

    @property
    def name(self) -> str:
        name: str = self.actor_class.kind
        return name

    def __attrs_post_init__(self) -> None:
        if not getattr(self.actor_class, "kind", ""):
            raise ValueError(f"{self.actor_class.__name__} must set a class attribute `kind`")
        if not (self.idle_timeout > 0 or math.isinf(self.idle_timeout)):
            raise ValueError(f"idle_timeout must be > 0, got {self.idle_timeout!r}")
