"""Fault injection for the module stand-ins: what the next API request gets.

`ApiFaults` is plain mutable configuration (tests set fields directly, ``POST /_sim/faults``
changes them from JSON); `ApiFaults.decide` is the pure rule that turns it into one
`Decision` per API request, consuming the "next N" counters.

Precedence, first match wins: dropped connection, server error, malformed answer.
Independently, an answer is delayed by ``latency`` (always) plus ``slow_seconds`` when
``slow_next`` is counting or ``slow_always`` is on.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from pytake.standins._countdowns import Countdowns


class Fault(enum.Enum):
    NONE = "none"
    DROP = "drop"
    SERVER_ERROR = "server_error"
    MALFORMED = "malformed"


@attrs.frozen
class Decision:
    fault: Fault
    #: Seconds to wait before answering.
    delay: float = 0.0


_INT_FIELDS = ("slow_next", "server_error_next", "server_error_status", "malformed_next",
               "drop_next")  # fmt: skip
_FLOAT_FIELDS = ("slow_seconds", "latency")
_BOOL_FIELDS = ("slow_always", "server_error_always", "malformed_always")


@attrs.define
class ApiFaults(Countdowns):
    """Knobs of a stand-in's misbehaviour; all off by default."""

    #: Delay the next N answers (or every answer) by ``slow_seconds`` more.
    slow_next: int = 0
    slow_always: bool = False
    slow_seconds: float = 5.0
    #: Answer the next N requests (or every one) with ``server_error_status``, plain text.
    server_error_next: int = 0
    server_error_always: bool = False
    server_error_status: int = 503
    #: Answer the next N requests (or every one) 200 with JSON cut short.
    malformed_next: int = 0
    malformed_always: bool = False
    #: Close the connection without a complete answer on the next N requests.
    drop_next: int = 0
    #: Added to every answer, in seconds.
    latency: float = 0.0

    def decide(self) -> Decision:
        """The fate of one request; consumes the counters that apply."""
        delay = self.latency
        if self._take("slow_next") or self.slow_always:
            delay += self.slow_seconds
        if self._take("drop_next"):
            return Decision(Fault.DROP, delay)
        if self._take("server_error_next") or self.server_error_always:
            return Decision(Fault.SERVER_ERROR, delay)
        if self._take("malformed_next") or self.malformed_always:
            return Decision(Fault.MALFORMED, delay)
        return Decision(Fault.NONE, delay)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a JSON object of field changes; ``ValueError`` (changing nothing) for unknown
        fields or values of the wrong type."""
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name in _INT_FIELDS and isinstance(value, int) and not isinstance(value, bool):
                checked[name] = value
            elif name in _FLOAT_FIELDS and isinstance(value, int | float) and not isinstance(
                value, bool
            ):
                checked[name] = float(value)
            elif name in _BOOL_FIELDS and isinstance(value, bool):
                checked[name] = value
            else:
                raise ValueError(f"unknown fault field or wrong type: {name}={value!r}")
        for name, value in checked.items():
            setattr(self, name, value)

    def reset(self) -> None:
        """Turn every fault off."""
        for field in attrs.fields(ApiFaults):
            setattr(self, field.name, field.default)

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)
