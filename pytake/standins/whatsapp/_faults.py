"""Fault injection for the Cloud API stand-in: what the next send request gets.

`Faults` is plain mutable configuration (tests set fields directly, ``POST /_sim/faults``
updates them from JSON). `Faults.decide` is the pure rule that turns it into one `Decision`
per ``POST /{version}/{phone_number_id}/messages``; it consumes the "next N" counters and
draws the probabilities from the random generator it is given, so it is tested without I/O.

Precedence, first match wins: dropped connection, server error, rate limit (130429),
recipient's forced synchronous error. Independently, a send is slowed by ``latency_ms``
(always) plus ``slow_ms`` when a slow counter or probability hits. Recipient failures that
Meta reports only by webhook (``fail_by_webhook``) are accepted here and surface as a
``failed`` status posted by the customer simulator.
"""

from __future__ import annotations

import enum
import random
from typing import Any

import attrs
import cattrs

from pytake.standins._countdowns import Countdowns


def digits(number: str) -> str:
    """``number`` without ``+``, spaces, dashes and parentheses: the wa_id Meta would report."""
    return "".join(c for c in number if c.isdigit())


class Outcome(enum.Enum):
    ACCEPT = "accept"
    DROP = "drop"
    SERVER_ERROR = "server_error"
    RATE_LIMIT = "rate_limit"
    RECIPIENT_ERROR = "recipient_error"


@attrs.frozen
class Decision:
    """What the stand-in does with one send request."""

    outcome: Outcome
    #: Seconds to wait before answering (or before dropping the connection).
    delay: float = 0.0
    #: Error code for RATE_LIMIT / RECIPIENT_ERROR / a Meta-shaped SERVER_ERROR.
    code: int | None = None
    #: HTTP status for SERVER_ERROR (500 carries a 131000 body; 502/503 a bare body).
    http_status: int = 200
    #: For an accepted send: the code of a ``failed`` status to report later by webhook.
    webhook_failure: int | None = None


@attrs.define
class Faults(Countdowns):
    """Knobs of the stand-in's misbehaviour; all off by default.

    Counters (``*_next``) affect the next N send requests and count down. Probabilities
    (``*_probability``, 0..1) apply to every send, for load tests. Recipient maps are keyed
    by number in any format (``"+55 11 99999-0000"`` and ``"551199990000"`` match alike).
    """

    #: Answer the next N sends with HTTP 429, code 130429 "(#130429) Rate limit hit".
    rate_limit_next: int = 0
    rate_limit_probability: float = 0.0
    #: Answer the next N sends with ``server_error_status``.
    server_error_next: int = 0
    server_error_probability: float = 0.0
    #: 500 answers with a Meta body (code 131000); 502 and 503 with a bare proxy-style body.
    server_error_status: int = 500
    #: Close the connection without a complete answer on the next N sends.
    drop_next: int = 0
    drop_probability: float = 0.0
    #: When True, a dropped send was accepted anyway (the reply was lost, not the message):
    #: it is recorded in ``sent`` and its statuses follow, like the ambiguous real case.
    drop_after_accept: bool = False
    #: Added to every send answer, in milliseconds.
    latency_ms: float = 0.0
    #: Slow the next N sends (or this fraction of sends) by ``slow_ms`` more.
    slow_next: int = 0
    slow_probability: float = 0.0
    slow_ms: float = 1000.0
    #: Recipient → error code answered synchronously (e.g. 131047, 131026, 131056, 190).
    recipient_errors: dict[str, int] = attrs.field(factory=dict)
    #: Recipient → error code reported only by a ``failed`` status webhook after a 200.
    fail_by_webhook: dict[str, int] = attrs.field(factory=dict)

    def decide(self, to: str, rng: random.Random) -> Decision:
        """The fate of one send to ``to``; consumes the counters that apply."""
        delay = self.latency_ms / 1000.0
        if self._take("slow_next") or _hit(rng, self.slow_probability):
            delay += self.slow_ms / 1000.0
        if self._take("drop_next") or _hit(rng, self.drop_probability):
            return Decision(Outcome.DROP, delay=delay)
        if self._take("server_error_next") or _hit(rng, self.server_error_probability):
            status = self.server_error_status
            code = 131000 if status == 500 else None
            return Decision(Outcome.SERVER_ERROR, delay=delay, code=code, http_status=status)
        if self._take("rate_limit_next") or _hit(rng, self.rate_limit_probability):
            return Decision(Outcome.RATE_LIMIT, delay=delay, code=130429, http_status=429)
        wa_id = digits(to)
        forced = _lookup(self.recipient_errors, wa_id)
        if forced is not None:
            return Decision(Outcome.RECIPIENT_ERROR, delay=delay, code=forced)
        failure = _lookup(self.fail_by_webhook, wa_id)
        return Decision(Outcome.ACCEPT, delay=delay, webhook_failure=failure)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a JSON object of field changes (``POST /_sim/faults``).

        Raises ``ValueError`` for unknown fields or values of the wrong type, changing nothing.
        """
        names = {field.name for field in attrs.fields(Faults)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(unknown)}")
        merged = {**_converter.unstructure(self), **changes}
        try:
            new = _converter.structure(merged, Faults)
        except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
            raise ValueError(f"invalid fault values: {exc}") from None
        for name in names:
            setattr(self, name, getattr(new, name))

    def reset(self) -> None:
        """Turn every fault off."""
        self.update(_converter.unstructure(Faults()))

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = _converter.unstructure(self)
        return result


def _hit(rng: random.Random, probability: float) -> bool:
    return probability > 0 and rng.random() < probability


def _lookup(table: dict[str, int], wa_id: str) -> int | None:
    for number, code in table.items():
        if digits(number) == wa_id:
            return code
    return None


def _strict_int(value: Any, _type: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _strict_float(value: Any, _type: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _strict_bool(value: Any, _type: type) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _strict_str(value: Any, _type: type) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


_converter = cattrs.Converter(forbid_extra_keys=True)
_converter.register_structure_hook(int, _strict_int)
_converter.register_structure_hook(float, _strict_float)
_converter.register_structure_hook(bool, _strict_bool)
_converter.register_structure_hook(str, _strict_str)
