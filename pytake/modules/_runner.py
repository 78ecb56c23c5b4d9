"""`ModuleRunner`: calls module actions so that a failing or hanging module costs the flow one
``error`` edge, never a stuck or crashed conversation.

What `ModuleRunner.call` guarantees, whatever the module does:

- **It returns a `ModuleResponse`; it never raises** (except trio's own cancellation of the
  caller, which propagates as it must). Unknown actions, invalid inputs, exceptions, timeouts,
  an open circuit and malformed answers all come back as ``outcome="error"`` with a reason in
  which no configured secret appears.
- **Every attempt has a timeout**: the action's own (`Action.timeout`) or the runner's.
- **Retries only where safe**: a *transient* failure (exception, timeout, or a module's own
  ``failure(..., transient=True)`` such as a 5xx) is retried, with capped exponential backoff
  and jitter, only when the module says the call is retry-safe (`Module.retry_safe`: the
  action is ``idempotent``). Everything else is answered after one attempt.
- **A circuit breaker per (module, tenant)**: after ``failure_threshold`` consecutive transient
  failures the circuit opens and calls fail at once, without touching the module, for
  ``cooldown`` seconds; then one trial call goes through (half-open) and its result closes
  the circuit or opens it again. Answers that are not transient failures (``ok``,
  ``not_found``, a 4xx the module reported as permanent) count as successes: the service is up.

Time is trio's (`trio.current_time`), so timeouts, backoff and the breaker's cool-down are
tested on `trio.testing.MockClock`. `CircuitBreaker` itself is pure: time is passed in.
"""

from __future__ import annotations

import enum
import logging
import traceback
from collections.abc import Mapping
from random import Random
from typing import Any, Protocol

import attrs
import trio

from pytake.errors import ModuleError
from pytake.modules._contract import (
    ERROR,
    Action,
    ModuleContext,
    ModuleLike,
    ModuleResponse,
)
from pytake.supervisor import Backoff

__all__ = [
    "BreakerPolicy",
    "CircuitBreaker",
    "CircuitState",
    "CountingMetrics",
    "ModuleMetrics",
    "ModuleRunner",
    "NullMetrics",
    "PrometheusModuleMetrics",
    "RetryPolicy",
]

log = logging.getLogger("pytake.modules")


# --- policies --------------------------------------------------------------------------------


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _at_least_one(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How retry-safe calls are retried: at most ``attempts`` attempts in all, waiting
    ``backoff.delay(n)`` before retry ``n`` (0 for the first retry)."""

    attempts: int = attrs.field(default=3, validator=_at_least_one)
    backoff: Backoff = attrs.field(
        factory=lambda: Backoff(initial=0.5, maximum=8.0, multiplier=2.0, jitter=0.2)
    )


@attrs.frozen(kw_only=True)
class BreakerPolicy:
    """When a circuit opens (``failure_threshold`` consecutive transient failures) and how
    long it stays open before a trial call (``cooldown`` seconds)."""

    failure_threshold: int = attrs.field(default=5, validator=_at_least_one)
    cooldown: float = attrs.field(default=30.0, validator=_positive)


# --- the circuit breaker (pure) --------------------------------------------------------------


class CircuitState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """closed → open after ``failure_threshold`` consecutive failures → half-open once
    ``cooldown`` has passed (one trial call at a time) → closed on the trial's success, open
    again on its failure.

    The caller asks `allow` before a call and reports the call with `record_success`,
    `record_failure`, or `release` (the call ended without a verdict, e.g. cancelled).
    """

    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self.state = CircuitState.CLOSED
        #: Consecutive failures counted while closed.
        self.failures = 0
        self.opened_at: float | None = None
        self._trial_running = False

    def allow(self, now: float) -> bool:
        """Whether a call may go through now; in half-open, only one (the trial) at a time."""
        if self.state is CircuitState.OPEN:
            assert self.opened_at is not None
            if now < self.opened_at + self.policy.cooldown:
                return False
            self.state = CircuitState.HALF_OPEN
        if self.state is CircuitState.HALF_OPEN:
            if self._trial_running:
                return False
            self._trial_running = True
        return True

    def retry_in(self, now: float) -> float:
        """Seconds until an open circuit lets a trial through (0 if it is not open)."""
        if self.state is not CircuitState.OPEN or self.opened_at is None:
            return 0.0
        return max(0.0, self.opened_at + self.policy.cooldown - now)

    def record_success(self) -> None:
        self.state = CircuitState.CLOSED
        self.failures = 0
        self.opened_at = None
        self._trial_running = False

    def record_failure(self, now: float) -> None:
        self._trial_running = False
        if self.state is CircuitState.HALF_OPEN:
            self._open(now)
            return
        self.failures += 1
        if self.state is CircuitState.CLOSED and self.failures >= self.policy.failure_threshold:
            self._open(now)

    def release(self) -> None:
        """The call allowed last ended without a verdict: let another trial through."""
        self._trial_running = False

    def _open(self, now: float) -> None:
        self.state = CircuitState.OPEN
        self.opened_at = now


# --- metrics ---------------------------------------------------------------------------------


class ModuleMetrics(Protocol):
    """Hooks the runner feeds. ``kind`` of a failure is one of ``timeout``, ``exception``,
    ``malformed``, ``circuit_open``, ``invalid`` (unknown action, bad inputs) or ``error``
    (the module reported it)."""

    def observe(self, module: str, action: str, outcome: str, seconds: float) -> None:
        """One call finished with ``outcome`` after ``seconds`` (retries included)."""

    def failure(self, module: str, action: str, kind: str) -> None:
        """One attempt failed (or was refused) for ``kind``."""

    def circuit(self, module: str, tenant_key: str, state: CircuitState) -> None:
        """The circuit of (``module``, ``tenant_key``) changed to ``state``."""


class NullMetrics:
    """Metrics that go nowhere (the default)."""

    def observe(self, module: str, action: str, outcome: str, seconds: float) -> None:
        pass

    def failure(self, module: str, action: str, kind: str) -> None:
        pass

    def circuit(self, module: str, tenant_key: str, state: CircuitState) -> None:
        pass


@attrs.define
class CountingMetrics:
    """Metrics kept in plain dicts: for tests, and a process that has no Prometheus."""

    #: ``(module, outcome)`` → calls.
    calls: dict[tuple[str, str], int] = attrs.field(factory=dict)
    #: ``(module, kind)`` → failed attempts.
    failures: dict[tuple[str, str], int] = attrs.field(factory=dict)
    #: ``module`` → seconds of every call, in order.
    latencies: dict[str, list[float]] = attrs.field(factory=dict)
    #: ``(module, tenant_key)`` → the circuit's last state.
    circuits: dict[tuple[str, str], CircuitState] = attrs.field(factory=dict)

    def observe(self, module: str, action: str, outcome: str, seconds: float) -> None:
        self.calls[module, outcome] = self.calls.get((module, outcome), 0) + 1
        self.latencies.setdefault(module, []).append(seconds)

    def failure(self, module: str, action: str, kind: str) -> None:
        self.failures[module, kind] = self.failures.get((module, kind), 0) + 1

    def circuit(self, module: str, tenant_key: str, state: CircuitState) -> None:
        self.circuits[module, tenant_key] = state


class PrometheusModuleMetrics:
    """Prometheus metrics in ``registry``: ``pytake_module_call_seconds`` (histogram by
    module, action, outcome), ``pytake_module_failures_total`` (counter by module, action, kind)
    and ``pytake_module_circuit_open`` (1 while a circuit is open or half-open)."""

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.latency = Histogram(
            "pytake_module_call_seconds",
            "Module calls by outcome, retries included",
            ["module", "action", "outcome"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=registry,
        )
        self.failures = Counter(
            "pytake_module_failures",
            "Failed or refused module call attempts",
            ["module", "action", "kind"],
            registry=registry,
        )
        self.open = Gauge(
            "pytake_module_circuit_open",
            "1 while the module's circuit for a tenant is not closed",
            ["module", "tenant"],
            registry=registry,
        )

    def observe(self, module: str, action: str, outcome: str, seconds: float) -> None:
        self.latency.labels(module, action, outcome).observe(seconds)

    def failure(self, module: str, action: str, kind: str) -> None:
        self.failures.labels(module, action, kind).inc()

    def circuit(self, module: str, tenant_key: str, state: CircuitState) -> None:
        self.open.labels(module, tenant_key).set(0 if state is CircuitState.CLOSED else 1)


# --- the runner ------------------------------------------------------------------------------


def _secret_values(module: ModuleLike, context: ModuleContext) -> list[str]:
    values: list[str] = []
    for name in module.manifest.secret_fields:
        value = context.config.get(name)
        if isinstance(value, str) and len(value) >= 4:
            values.append(value)
        elif isinstance(value, Mapping):
            values.extend(str(v) for v in value.values() if len(str(v)) >= 4)
    return sorted(values, key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = text.replace(value, "***")
    return text


@attrs.frozen
class _Attempt:
    response: ModuleResponse
    #: Failure kind for metrics, or None for an answer that is not a failure.
    kind: str | None


class ModuleRunner:
    """Calls module actions with a timeout, retries where safe, and a circuit breaker.

    ``timeout`` is the default per attempt (an action's own ``timeout`` wins). ``random``
    draws the backoff jitter (pass a seeded one for reproducible tests). One runner is meant
    to be shared by the whole process, so that circuits see every call.
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        metrics: ModuleMetrics | None = None,
        random: Random | None = None,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0, got {timeout!r}")
        self.timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy()
        self.breaker_policy = breaker if breaker is not None else BreakerPolicy()
        self.metrics: ModuleMetrics = metrics if metrics is not None else NullMetrics()
        self._random = random if random is not None else Random()
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}

    def circuit(self, module: str, tenant_key: str = "default") -> CircuitState:
        """The state of the circuit of (``module``, ``tenant_key``) as of its last call."""
        breaker = self._breakers.get((module, tenant_key))
        return CircuitState.CLOSED if breaker is None else breaker.state

    def _breaker(self, module: str, tenant_key: str) -> CircuitBreaker:
        key = (module, tenant_key)
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = self._breakers[key] = CircuitBreaker(self.breaker_policy)
        return breaker

    async def call(self, module: ModuleLike, context: ModuleContext) -> ModuleResponse:
        """Run ``context.action`` of ``module``; see the module docstring for the guarantees."""
        started = trio.current_time()
        name = module.name
        secrets = _secret_values(module, context)
        try:
            action = module.manifest.action(context.action, module=name)
            inputs = action.validate_inputs(context.inputs, module=name)
            context = attrs.evolve(context, inputs=inputs)
        except ModuleError as exc:
            self.metrics.failure(name, context.action, "invalid")
            return self._done(
                module, context.action, ModuleResponse.failure(str(exc), transient=False),
                started, 0, secrets,
            )
        timeout = action.timeout if action.timeout is not None else self.timeout
        attempts_allowed = self.retry.attempts if self._retry_safe(module, context) else 1
        breaker = self._breaker(name, context.tenant_key)
        attempt = 0
        while True:
            before = breaker.state
            if not breaker.allow(trio.current_time()):
                self.metrics.failure(name, action.name, "circuit_open")
                if breaker.state is CircuitState.HALF_OPEN:
                    why = "half-open, a trial call is under way"
                else:
                    why = f"open, next trial in {breaker.retry_in(trio.current_time()):.1f}s"
                response = ModuleResponse.failure(
                    f"{name}: circuit for tenant {context.tenant_key!r} is {why} "
                    "(the module failed repeatedly)",
                    transient=True,
                )
                break
            attempt += 1
            try:
                result = await self._attempt(module, action, context, timeout, secrets)
            except BaseException:
                breaker.release()  # cancelled from outside: no verdict on the module
                raise
            if result.kind is not None and result.response.transient:
                breaker.record_failure(trio.current_time())
            else:
                breaker.record_success()
            self._report_circuit(name, context.tenant_key, before, breaker.state)
            if result.kind is not None:
                self.metrics.failure(name, action.name, result.kind)
            response = result.response
            transient_failure = response.failed and response.transient
            if not transient_failure or attempt >= attempts_allowed:
                break
            if breaker.state is CircuitState.OPEN:
                break
            delay = self.retry.backoff.delay(attempt - 1, self._random)
            log.info(
                "module %s.%s attempt %d failed (%s); retrying in %.2fs",
                name, action.name, attempt, _scrub(response.error or "", secrets), delay,
            )
            await trio.sleep(delay)
        return self._done(module, action.name, response, started, attempt, secrets)

    def _retry_safe(self, module: ModuleLike, context: ModuleContext) -> bool:
        hook = getattr(module, "retry_safe", None)
        try:
            if callable(hook):
                return bool(hook(context))
            return module.manifest.action(context.action).idempotent
        except Exception:
            log.exception("module %s: retry_safe failed; not retrying", module.name)
            return False

    async def _attempt(
        self,
        module: ModuleLike,
        action: Action,
        context: ModuleContext,
        timeout: float,
        secrets: list[str],
    ) -> _Attempt:
        where = f"{module.name}.{action.name}"
        try:
            with trio.move_on_after(timeout) as scope:
                raw = await module.execute(context)
        except Exception as exc:
            detail = _scrub("".join(traceback.format_exception(exc)), secrets)
            log.warning("module %s raised %s:\n%s", where, type(exc).__name__, detail)
            reason = _scrub(f"{where} failed: {type(exc).__name__}: {exc}", secrets)
            return _Attempt(ModuleResponse.failure(reason, transient=True), "exception")
        if scope.cancelled_caught:
            log.warning("module %s gave no answer within %gs", where, timeout)
            return _Attempt(
                ModuleResponse.failure(f"{where}: no answer within {timeout:g}s", transient=True),
                "timeout",
            )
        problem = _malformed(raw, action)
        if problem is not None:
            log.warning("module %s answered malformed: %s", where, problem)
            return _Attempt(
                ModuleResponse.failure(f"{where}: malformed answer: {problem}", transient=False),
                "malformed",
            )
        assert isinstance(raw, ModuleResponse)
        return _Attempt(raw, "error" if raw.failed else None)

    def _report_circuit(
        self, module: str, tenant_key: str, before: CircuitState, after: CircuitState
    ) -> None:
        if before is after:
            return
        if after is CircuitState.OPEN:
            log.warning("module %s: circuit for tenant %r is open", module, tenant_key)
        elif after is CircuitState.CLOSED:
            log.info("module %s: circuit for tenant %r is closed again", module, tenant_key)
        self.metrics.circuit(module, tenant_key, after)

    def _done(
        self,
        module: ModuleLike,
        action: str,
        response: ModuleResponse,
        started: float,
        attempts: int,
        secrets: list[str],
    ) -> ModuleResponse:
        elapsed = trio.current_time() - started
        error = response.error
        if response.failed:
            error = _scrub(error or "the module reported an error without a reason", secrets)
        result = attrs.evolve(response, attempts=attempts, elapsed=elapsed, error=error)
        self.metrics.observe(module.name, action, result.outcome, elapsed)
        return result


def _malformed(raw: object, action: Action) -> str | None:
    """Why ``raw`` is not an acceptable answer to ``action``, or ``None``."""
    if not isinstance(raw, ModuleResponse):
        return f"expected a ModuleResponse, got {type(raw).__name__}"
    if raw.outcome not in action.outcomes:
        return f"outcome {raw.outcome!r} is not one of {', '.join(action.outcomes)}"
    if raw.outcome == ERROR and not raw.error:
        return "an error without a reason"
    for group in ("outputs", "customer_attributes"):
        if not all(isinstance(k, str) for k in getattr(raw, group)):
            return f"{group} keys must be strings"
    for message in raw.messages:
        if not isinstance(message.get("type"), str):
            return "a message without a type"
    return None
