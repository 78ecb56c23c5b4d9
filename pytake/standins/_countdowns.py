"""What the stand-ins' fault knobs share: "next N" counters that the next requests use up."""

from __future__ import annotations

__all__ = ["Countdowns"]


class Countdowns:
    """Base of a stand-in's fault knobs (an attrs class): an int field counts how many of
    the next requests a fault still hits."""

    __slots__ = ()

    def _take(self, counter: str) -> bool:
        """Use up one of the requests ``counter`` still hits; whether there was one."""
        left: int = getattr(self, counter)
        if left <= 0:
            return False
        setattr(self, counter, left - 1)
        return True
