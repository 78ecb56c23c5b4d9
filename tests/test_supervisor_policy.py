"""The pure parts of supervision: backoff, restart window, restart types and strategies."""

from __future__ import annotations

import math
from random import Random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytake.supervisor import Backoff, Intensity, Restart, RestartWindow, Strategy

# -- Backoff -------------------------------------------------------------------------------


def test_backoff_grows_exponentially_then_caps() -> None:
    backoff = Backoff(initial=0.5, maximum=5.0, multiplier=2.0, jitter=0.0)
    delays = [backoff.delay(n, Random(0)) for n in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_backoff_multiplier_one_is_constant() -> None:
    backoff = Backoff(initial=0.3, maximum=9.0, multiplier=1.0, jitter=0.0)
    assert {backoff.delay(n, Random(0)) for n in range(10)} == {0.3}


def test_backoff_huge_attempt_is_capped_not_overflowing() -> None:
    backoff = Backoff(initial=1.0, maximum=30.0, multiplier=10.0, jitter=0.0)
    assert backoff.delay(100_000, Random(0)) == 30.0


def test_backoff_jitter_is_seeded_and_bounded() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0, multiplier=2.0, jitter=0.25)
    first = [backoff.delay(n, Random(42)) for n in range(8)]
    again = [backoff.delay(n, Random(42)) for n in range(8)]
    assert first == again
    for n, delay in enumerate(first):
        base = min(2.0**n, 8.0)
        assert base * 0.75 <= delay <= base * 1.25
    # Jitter is really applied: the delays are not the exact exponential sequence.
    assert first != [min(2.0**n, 8.0) for n in range(8)]


def test_backoff_without_jitter_draws_nothing() -> None:
    random = Random(7)
    state = random.getstate()
    Backoff(jitter=0.0).delay(3, random)
    assert random.getstate() == state


@given(
    initial=st.floats(0, 100),
    extra=st.floats(0, 1000),
    multiplier=st.floats(1, 10),
    jitter=st.floats(0, 1),
    attempt=st.integers(0, 10_000),
    seed=st.integers(0, 2**32),
)
def test_backoff_delay_bounds(
    initial: float, extra: float, multiplier: float, jitter: float, attempt: int, seed: int
) -> None:
    backoff = Backoff(
        initial=initial, maximum=initial + extra, multiplier=multiplier, jitter=jitter
    )
    delay = backoff.delay(attempt, Random(seed))
    assert math.isfinite(delay)
    assert initial * (1 - jitter) - 1e-9 <= delay <= backoff.maximum * (1 + jitter) + 1e-9


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": -1.0},
        {"initial": 2.0, "maximum": 1.0},
        {"multiplier": 0.5},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"maximum": math.inf},
    ],
)
def test_backoff_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_backoff_rejects_negative_attempt() -> None:
    with pytest.raises(ValueError):
        Backoff().delay(-1, Random(0))


# -- Intensity and RestartWindow -----------------------------------------------------------


def test_window_exceeded_after_more_than_max_restarts_in_period() -> None:
    window = RestartWindow(Intensity(max_restarts=2, period=10.0))
    assert window.record(0.0) is False
    assert window.record(1.0) is False
    assert window.count(2.0) == 2
    assert window.record(9.9) is True


def test_window_forgets_restarts_older_than_period() -> None:
    window = RestartWindow(Intensity(max_restarts=2, period=10.0))
    window.record(0.0)
    window.record(5.0)
    # The restart at 0.0 is exactly one period old at 10.0: it no longer counts.
    assert window.count(10.0) == 1
    assert window.record(10.0) is False
    assert window.record(14.0) is True
    assert window.count(100.0) == 0


def test_zero_max_restarts_escalates_on_first_restart() -> None:
    assert RestartWindow(Intensity(max_restarts=0, period=1.0)).record(0.0) is True


@pytest.mark.parametrize("kwargs", [{"max_restarts": -1}, {"period": 0.0}, {"period": math.inf}])
def test_intensity_rejects_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Intensity(**kwargs)


# -- decision tables ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("restart", "after_error", "after_return"),
    [
        (Restart.PERMANENT, True, True),
        (Restart.TRANSIENT, True, False),
        (Restart.TEMPORARY, False, False),
    ],
)
def test_restart_types(restart: Restart, after_error: bool, after_return: bool) -> None:
    assert restart.restarts_after(ValueError("boom")) is after_error
    assert restart.restarts_after(None) is after_return


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (Strategy.ONE_FOR_ONE, ["b"]),
        (Strategy.ONE_FOR_ALL, ["a", "b", "c", "d"]),
        (Strategy.REST_FOR_ONE, ["b", "c", "d"]),
    ],
)
def test_strategies(strategy: Strategy, expected: list[str]) -> None:
    assert strategy.affected(["a", "b", "c", "d"], 1) == expected
