"""How many restarts are too many: the restart intensity and its sliding window."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import attrs


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number > 0, got {value!r}")


@attrs.frozen
class Intensity:
    """A supervisor gives up after more than ``max_restarts`` restarts within ``period`` s.

    ``max_restarts=0`` means the first failure escalates. Restarts forced on siblings by
    one-for-all or rest-for-one count once, as one restart of the child that failed.
    """

    max_restarts: int = attrs.field(default=3, validator=_non_negative)
    period: float = attrs.field(default=5.0, validator=_positive)


@attrs.define
class RestartWindow:
    """The restarts of the last ``intensity.period`` seconds.

    Times are whatever clock the caller uses (the supervisor passes ``trio.current_time()``),
    and must not go backwards. A restart exactly ``period`` seconds old no longer counts.
    """

    intensity: Intensity
    _times: deque[float] = attrs.field(factory=deque, init=False)

    def count(self, now: float) -> int:
        """How many restarts happened in the window ending at ``now``."""
        self._forget(now)
        return len(self._times)

    def record(self, now: float) -> bool:
        """Record a restart at ``now``; return whether the intensity is now exceeded."""
        self._forget(now)
        self._times.append(now)
        return len(self._times) > self.intensity.max_restarts

    def _forget(self, now: float) -> None:
        while self._times and now - self._times[0] >= self.intensity.period:
            self._times.popleft()
