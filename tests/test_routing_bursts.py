"""Burst coalescing: quick customer messages become one turn."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytake.actors import converter
from pytake.routing import BurstCoalescer, Turn


def test_messages_within_the_gap_are_one_turn() -> None:
    b = BurstCoalescer[str](gap=3.0)
    assert b.deadline() is None
    b, deadline = b.add("hi", 100.0)
    assert deadline == 103.0
    b, deadline = b.add("my order", 102.0)
    b, deadline = b.add("didn't arrive", 104.5)
    assert deadline == 107.5
    b, turn = b.due(107.4)
    assert turn is None
    b, turn = b.due(107.5)
    assert turn == Turn(messages=("hi", "my order", "didn't arrive"), first_at=100.0, last_at=104.5)
    assert b.deadline() is None
    assert b.due(1000.0) == (b, None)


def test_a_message_after_the_gap_starts_a_new_turn_and_turns_keep_their_order() -> None:
    b = BurstCoalescer[int](gap=2.0)
    b, _ = b.add(1, 0.0)
    b, _ = b.add(2, 1.0)
    b, deadline = b.add(3, 3.0)  # exactly gap after the previous one: a new turn
    assert deadline == 1.0 + 2.0  # the first turn is already due (the timer was late)
    b, first = b.due(3.0)
    assert first is not None and first.messages == (1, 2)
    assert b.deadline() == 5.0
    b, second = b.due(5.0)
    assert second is not None and second.messages == (3,)


def test_max_hold_answers_a_customer_who_keeps_typing() -> None:
    b = BurstCoalescer[str](gap=5.0, max_hold=10.0)
    deadline = 0.0
    for i in range(4):
        b, deadline = b.add(f"m{i}", i * 3.0)  # 0, 3, 6, 9: each within the gap
    assert deadline == 10.0
    b, deadline = b.add("m4", 11.0)  # past max_hold: a new turn
    b, turn = b.due(11.0)
    assert turn is not None and turn.messages == ("m0", "m1", "m2", "m3")
    assert b.pending == ("m4",)


def test_out_of_order_times_join_the_current_turn() -> None:
    b = BurstCoalescer[str](gap=2.0)
    b, _ = b.add("a", 10.0)
    b, deadline = b.add("b", 9.0)
    assert deadline == 12.0 and b.pending == ("a", "b")


def test_flush_hands_out_the_pending_turn_now() -> None:
    b = BurstCoalescer[str](gap=60.0)
    assert b.flush() == (b, None)
    b, _ = b.add("a", 0.0)
    b, turn = b.flush()
    assert turn is not None and turn.messages == ("a",) and b.deadline() is None


def test_validation() -> None:
    with pytest.raises(ValueError, match="gap"):
        BurstCoalescer[str](gap=-1)
    with pytest.raises(ValueError, match="max_hold"):
        BurstCoalescer[str](gap=1, max_hold=0)


def test_snapshots_through_cattrs_and_json() -> None:
    b = BurstCoalescer[str](gap=2.0, max_hold=30.0)
    b, _ = b.add("a", 0.0)
    b, _ = b.add("b", 5.0)
    data = json.loads(json.dumps(converter.unstructure(b)))
    assert converter.structure(data, BurstCoalescer[str]) == b


@given(st.lists(st.floats(0, 10), max_size=30), st.floats(0.1, 5))
def test_every_message_comes_out_once_in_order_split_only_at_gaps(
    gaps: list[float], gap: float
) -> None:
    b = BurstCoalescer[int](gap=gap)
    now = 0.0
    turns: list[Turn[int]] = []
    for i, step in enumerate(gaps):
        now += step
        b, _ = b.add(i, now)
        while True:
            b, turn = b.due(now)
            if turn is None:
                break
            turns.append(turn)
    while True:
        b, turn = b.flush()
        if turn is None:
            break
        turns.append(turn)
    assert [m for t in turns for m in t.messages] == list(range(len(gaps)))
    for t in turns:
        assert t.last_at - t.first_at < gap * max(1, len(t.messages))
