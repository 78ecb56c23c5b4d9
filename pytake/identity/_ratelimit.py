"""In-memory rate limits for sign-in attempts: one token bucket per client address and one
per email, and a back-off per account that grows with its consecutive failed sign-ins.

Each key may make ``limit`` attempts at once, and regains one every ``period / limit`` seconds
(so ``limit`` per ``period`` in the long run). The state lives in this process: with several
nodes each enforces its own limit, which still bounds guessing to ``nodes * limit``.

Memory is bounded: a bucket that has refilled completely is forgotten (it holds nothing a new
bucket wouldn't), and past ``max_keys`` keys the oldest are dropped, so a flood of made-up
emails cannot grow the table without end.

The back-off: after ``backoff_after`` failed sign-ins in a row on one account, each further
attempt waits ``2 ** (failures - backoff_after)`` seconds after the last failure, at most
``backoff_max``; a successful sign-in clears it.  So a guesser gets a few dozen tries, then a
handful per hour, while the owner (who knows the password) waits at most ``backoff_max``.
The web edge reports the outcomes (`failed`, `succeeded`; see pytake/web/_ratelimit.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import attrs

__all__ = ["LoginLimiter", "RateLimiter"]


@attrs.define
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """``limit`` attempts per ``period`` seconds per key, as token buckets."""

    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be at least 1 and period positive")
        self.limit = limit
        self.period = period
        self._rate = limit / period  # tokens regained per second
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(self.limit), now)
        else:
            elapsed = max(0.0, now - bucket.at)
            bucket.tokens = min(float(self.limit), bucket.tokens + elapsed * self._rate)
            bucket.at = now
        return bucket

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.at) * self._rate >= self.limit
        ]
        for key in full:
            del self._buckets[key]
        # Still too many: drop the oldest (dicts keep insertion order).
        excess = len(self._buckets) - self._max_keys // 2
        for key in list(self._buckets)[: max(0, excess)]:
            del self._buckets[key]

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again; 0 if it may now. Consumes nothing."""
        bucket = self._bucket(key, self._clock())
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self._rate

    def hit(self, key: str) -> None:
        """Count one attempt by ``key`` (callers check `retry_after` first)."""
        bucket = self._bucket(key, self._clock())
        bucket.tokens = max(0.0, bucket.tokens - 1)

    def __len__(self) -> int:
        return len(self._buckets)


class LoginLimiter:
    """The sign-in limits: per client address and per email (lower-cased), and the back-off
    per account after failed sign-ins."""

    def __init__(
        self,
        per_ip: int = 30,
        per_email: int = 10,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        backoff_after: int = 10,
        backoff_max: float = 900.0,
        max_keys: int = 100_000,
    ) -> None:
        if backoff_after < 1 or backoff_max <= 0:
            raise ValueError("backoff_after must be at least 1 and backoff_max positive")
        self.by_ip = RateLimiter(per_ip, period, clock=clock)
        self.by_email = RateLimiter(per_email, period, clock=clock)
        self.backoff_after = backoff_after
        self.backoff_max = backoff_max
        self._clock = clock
        self._max_keys = max_keys
        #: email → (consecutive failures, when the last one was)
        self._failures: dict[str, tuple[int, float]] = {}

    @staticmethod
    def _email_key(email: str | None) -> str:
        return (email or "").strip().lower()

    def backoff(self, email: str | None) -> float:
        """Seconds ``email``'s account must still wait after its failed sign-ins; 0: none."""
        failures, at = self._failures.get(self._email_key(email), (0, 0.0))
        if failures < self.backoff_after:
            return 0.0
        delay = min(self.backoff_max, 2.0 ** min(64, failures - self.backoff_after))
        return max(0.0, at + delay - self._clock())

    def failed(self, email: str | None) -> None:
        """A sign-in on ``email`` failed (wrong password or unknown account)."""
        key = self._email_key(email)
        if not key:
            return
        failures, _ = self._failures.pop(key, (0, 0.0))
        if len(self._failures) >= self._max_keys:
            # Drop the oldest half (dicts keep insertion order; a key is re-inserted on
            # every failure, so the front holds the accounts quiet the longest).
            for old in list(self._failures)[: self._max_keys // 2]:
                del self._failures[old]
        self._failures[key] = (failures + 1, self._clock())

    def succeeded(self, email: str | None) -> None:
        """A sign-in on ``email`` succeeded: its back-off starts over."""
        self._failures.pop(self._email_key(email), None)

    def attempt(self, ip: str | None, email: str | None) -> int:
        """Count a sign-in attempt; return 0 if it may proceed, else whole seconds to wait.

        A refused attempt is not counted, so a client that respects ``Retry-After`` gets in
        as soon as it is told it may.
        """
        ip_key = ip or "unknown"
        email_key = self._email_key(email)
        wait = self.by_ip.retry_after(ip_key)
        if email_key:
            wait = max(wait, self.by_email.retry_after(email_key), self.backoff(email_key))
        if wait > 0:
            return max(1, math.ceil(wait))
        self.by_ip.hit(ip_key)
        if email_key:
            self.by_email.hit(email_key)
        return 0
