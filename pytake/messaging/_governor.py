"""`SendGovernor`: how fast one business number may send, and what each error means.

One governor per business phone number. It keeps three kinds of pacing, all on the trio
clock (so tests run on `trio.testing.MockClock`):

- a **token bucket** of ``rate`` messages per second (Meta's default 80 mps; 20 for
  coexistence numbers), holding at most ``burst`` tokens (one second's worth by default);
- **pair pacing**: at least ``pair_interval`` seconds between two messages to one recipient
  (Meta's pair limit is about one every 6 s; 0 relies on backing off on 131056 instead);
- **pauses** that errors impose: on the whole number (130429 throughput, 4/80007 API rate,
  131057 maintenance, 190 token expired) or on one recipient (131056 pair rate).

`SendGovernor.on_error` is the pure reaction table (docs/whatsapp.md, "Cloud API facts PyTake
relies on") that turns a `CloudApiError` into a `Decision`:

==========================  ===============================================================
130429 throughput           retry; pause the **number**, exponential backoff with jitter
4, 80007 API rate limits    retry; pause the number likewise
131057 maintenance          retry; pause the number likewise (Meta: up to a minute)
131056 pair rate            retry; pause that **recipient** 4^n seconds (1, 4, 16, ...)
131047 window closed        ``needs_template``: final, the conversation must use a template
131026 undeliverable        ``unreachable``: final
131049 ecosystem cap        ``wait_24h``: final for this message
131050 marketing opt-out    ``opted_out``: final
190 (and auth code 0)       ``token_expired``: alert (ERROR log, counter), pause the number
                            until `token_changed` or ``token_pause`` seconds; the message is
                            kept and retried then
other retryable (5xx,       retry after exponential backoff with jitter, at most
network, 1, 2, 131000, …)   ``max_attempts`` attempts
anything else               ``failed``: final
==========================  ===============================================================

Rate-limit retries (130429, 131056, 4, 80007, 131057) do not say anything is wrong with the
message, so they are allowed more attempts (``max_rate_limited_attempts``).
"""

from __future__ import annotations

import enum
import logging
import math
import random
from collections import Counter
from typing import Final

import attrs
import trio

from pytake.errors import CloudApiError

__all__ = ["FINAL_OUTCOMES", "Decision", "Outcome", "SendGovernor"]

log = logging.getLogger("pytake.whatsapp")


class Outcome(enum.StrEnum):
    """What became of one send attempt."""

    SENT = "sent"
    RETRY = "retry"
    NEEDS_TEMPLATE = "needs_template"
    UNREACHABLE = "unreachable"
    WAIT_24H = "wait_24h"
    OPTED_OUT = "opted_out"
    TOKEN_EXPIRED = "token_expired"
    FAILED = "failed"
    #: The process died mid-send: Meta may or may not have the message (see the outbox).
    UNKNOWN = "unknown"


FINAL_OUTCOMES: Final = frozenset(Outcome) - {Outcome.RETRY}

_FINAL_BY_CODE: Final = {
    131047: Outcome.NEEDS_TEMPLATE,
    131026: Outcome.UNREACHABLE,
    131049: Outcome.WAIT_24H,
    131050: Outcome.OPTED_OUT,
}
_NUMBER_WIDE: Final = frozenset({130429, 4, 80007, 131057})
_PAIR: Final = 131056
_TOKEN: Final = 190


@attrs.frozen
class Decision:
    """The reaction to one failed attempt: ``outcome``, and for `Outcome.RETRY` (or a
    not-yet-final `Outcome.TOKEN_EXPIRED`) ``retry_at``, the trio time to try again."""

    outcome: Outcome
    retry_at: float | None = None
    reason: str = ""

    @property
    def final(self) -> bool:
        return self.retry_at is None


class SendGovernor:
    """Pacing and error reactions for one business number; see the module docstring."""

    def __init__(
        self,
        phone_number_id: str = "",
        *,
        rate: float = 80.0,
        burst: float | None = None,
        pair_interval: float = 0.0,
        max_attempts: int = 8,
        max_rate_limited_attempts: int = 30,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        pair_backoff_unit: float = 1.0,
        pair_backoff_max: float = 1024.0,
        token_pause: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.phone_number_id = phone_number_id
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self.pair_interval = pair_interval
        self.max_attempts = max_attempts
        self.max_rate_limited_attempts = max_rate_limited_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.pair_backoff_unit = pair_backoff_unit
        self.pair_backoff_max = pair_backoff_max
        self.token_pause = token_pause
        self._rng = rng or random.Random()
        self._tokens = self.burst
        self._refilled_at: float | None = None
        self._last_send: dict[str, float] = {}
        self._recipient_pause: dict[str, float] = {}
        self._pair_strikes: Counter[str] = Counter()
        self._number_pause = -math.inf
        self._number_strikes = 0
        #: Set while the number is paused for an expired/invalid token.
        self.token_expired = False
        # Counters for metrics.
        self.alerts = 0
        self.errors: Counter[int] = Counter()
        self.sent = 0

    # --- pacing ------------------------------------------------------------------------------

    def _refill(self, now: float) -> None:
        if self._refilled_at is not None and now > self._refilled_at:
            self._tokens = min(self.burst, self._tokens + (now - self._refilled_at) * self.rate)
        if self._refilled_at is None or now > self._refilled_at:
            self._refilled_at = now

    def paused_until(self, now: float) -> float | None:
        """The trio time until which the whole number is paused, or ``None``."""
        return self._number_pause if self._number_pause > now else None

    def ready_at(self, recipient: str, now: float) -> float:
        """The earliest trio time a message to ``recipient`` may start (``<= now``: at once)."""
        self._refill(now)
        at = now
        if self._tokens < 1:
            at = max(at, now + (1 - self._tokens) / self.rate)
        at = max(at, self._number_pause, self._recipient_pause.get(recipient, -math.inf))
        last = self._last_send.get(recipient)
        if last is not None and self.pair_interval > 0:
            at = max(at, last + self.pair_interval)
        return at

    def take(self, recipient: str, now: float) -> None:
        """Record that a message to ``recipient`` starts now (spends a token)."""
        self._refill(now)
        self._tokens -= 1
        self._last_send[recipient] = now
        if len(self._last_send) > 100_000:  # forget the oldest pairs (insertion order)
            for key in list(self._last_send)[:50_000]:
                del self._last_send[key]

    async def acquire(self, recipient: str, *, max_wait: float = math.inf) -> bool:
        """Wait until a message to ``recipient`` may go, then take it and return True; return
        False at once (taking nothing) if that would mean waiting more than ``max_wait``."""
        while True:
            now = trio.current_time()
            at = self.ready_at(recipient, now)
            if at <= now:
                self.take(recipient, now)
                return True
            if at - now > max_wait:
                return False
            await trio.sleep_until(at)

    # --- reactions ---------------------------------------------------------------------------

    def _jittered(self, delay: float) -> float:
        # Jitter between half and all of the delay: senders that failed together spread out.
        return delay * (0.5 + 0.5 * self._rng.random())

    def _backoff(self, n: int) -> float:
        return self._jittered(min(self.backoff_max, self.backoff_base * 2.0 ** max(0, n - 1)))

    def on_success(self, recipient: str, now: float) -> None:
        """The Cloud API accepted a message to ``recipient``."""
        self.sent += 1
        self._number_strikes = 0
        self._pair_strikes.pop(recipient, None)
        self._recipient_pause.pop(recipient, None)
        if self.token_expired:
            log.warning("number %s: sending again (the token works)", self.phone_number_id)
            self.token_expired = False

    def token_changed(self) -> None:
        """The access token was replaced: lift a token pause at once."""
        if self.token_expired:
            self.token_expired = False
            self._number_pause = -math.inf

    def on_error(
        self, recipient: str, error: CloudApiError, attempts: int, now: float
    ) -> Decision:
        """React to a failed attempt (the ``attempts``-th for this message) at ``now``."""
        code = error.code
        self.errors[code] += 1
        final = _FINAL_BY_CODE.get(code)
        if final is not None:
            return Decision(final, reason=str(error))
        if code == _TOKEN or (code == 0 and error.http_status == 401):
            self.alerts += 1
            self.token_expired = True
            self._number_pause = max(self._number_pause, now + self.token_pause)
            log.error(
                "number %s: the access token was refused (%s); sending paused for %gs or "
                "until the token changes", self.phone_number_id, error, self.token_pause,
            )
            if attempts >= self.max_attempts:
                return Decision(Outcome.TOKEN_EXPIRED, reason=str(error))
            return Decision(Outcome.TOKEN_EXPIRED, self._number_pause, str(error))
        if code in _NUMBER_WIDE:
            if attempts >= self.max_rate_limited_attempts:
                return Decision(Outcome.FAILED, reason=f"gave up after {attempts} attempts: "
                                f"{error}")
            self._number_strikes += 1
            pause = now + self._backoff(self._number_strikes)
            self._number_pause = max(self._number_pause, pause)
            return Decision(Outcome.RETRY, self._number_pause, str(error))
        if code == _PAIR:
            if attempts >= self.max_rate_limited_attempts:
                return Decision(Outcome.FAILED, reason=f"gave up after {attempts} attempts: "
                                f"{error}")
            n = self._pair_strikes[recipient]
            self._pair_strikes[recipient] += 1
            until = now + min(self.pair_backoff_max, self.pair_backoff_unit * 4.0**n)
            self._recipient_pause[recipient] = until
            return Decision(Outcome.RETRY, until, str(error))
        if error.retryable:
            if attempts >= self.max_attempts:
                return Decision(Outcome.FAILED, reason=f"gave up after {attempts} attempts: "
                                f"{error}")
            return Decision(Outcome.RETRY, now + self._backoff(attempts), str(error))
        return Decision(Outcome.FAILED, reason=str(error))
