"""How long a supervisor waits before restarting a child: capped exponential backoff."""

from __future__ import annotations

import math
from random import Random
from typing import Any

import attrs


def _non_negative_finite(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


def _at_least_one(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (value >= 1 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number >= 1, got {value!r}")


def _fraction(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value!r}")


@attrs.frozen
class Backoff:
    """Capped exponential backoff with jitter.

    Attempt ``n`` (counting from 0) waits ``min(initial * multiplier**n, maximum)`` seconds,
    scaled by a factor drawn uniformly from ``[1 - jitter, 1 + jitter]``. So a delay is never
    below ``initial * (1 - jitter)`` nor above ``maximum * (1 + jitter)``; ``jitter=0`` makes
    the delays exact. Jitter keeps many children that failed together (say, on a lost database
    connection) from all retrying at the same instant.
    """

    initial: float = attrs.field(default=0.1, validator=_non_negative_finite)
    maximum: float = attrs.field(default=10.0, validator=_non_negative_finite)
    multiplier: float = attrs.field(default=2.0, validator=_at_least_one)
    jitter: float = attrs.field(default=0.1, validator=_fraction)

    def __attrs_post_init__(self) -> None:
        if self.maximum < self.initial:
            raise ValueError(f"maximum ({self.maximum!r}) must be >= initial ({self.initial!r})")

    def delay(self, attempt: int, random: Random) -> float:
        """Seconds to wait before restart number ``attempt`` (0 for the first).

        Deterministic for a given ``random`` state: it draws exactly one number from it when
        ``jitter`` is non-zero, and none otherwise.
        """
        if attempt < 0:
            raise ValueError(f"attempt must be >= 0, got {attempt!r}")
        try:
            base = min(self.initial * self.multiplier**attempt, self.maximum)
        except OverflowError:
            # multiplier**attempt outgrew a float: far past the cap anyway.
            base = self.maximum
        if not self.jitter:
            return base
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)
