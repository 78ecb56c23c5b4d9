"""Conversation metrics, computed (and recomputed) from the event log."""

from __future__ import annotations

import json
import random

import pytest

from pytake.actors import converter
from pytake.routing import (
    Accept,
    ConversationEvent,
    CustomerMessage,
    Decline,
    Handoff,
    Offered,
    Owner,
    Ownership,
    OwnershipEvent,
    Resolve,
    TransferToAgent,
    TransferToTeam,
    compute_metrics,
    message_event,
    transition,
    transition_event,
)


class Conversation:
    """Drives the state machine and keeps the log, as the ConversationActor does."""

    def __init__(self) -> None:
        self.state = Ownership()
        self.log: list[ConversationEvent] = []

    def apply(self, event: OwnershipEvent) -> None:
        after, _ = transition(self.state, event, reopen_window=3600)
        self.log.append(transition_event(event, self.state, after))
        self.state = after

    def say(self, sender: str, at: float) -> None:
        self.log.append(message_event(sender, at, text="..."))


def full_conversation() -> Conversation:
    c = Conversation()
    c.say("customer", 0)
    c.say("bot", 1)
    c.apply(Handoff(team="sales", at=10))
    c.apply(Offered(agent="ana", at=12))
    c.apply(Decline(agent="ana", at=15))
    c.apply(Offered(agent="bob", at=16))
    c.apply(Accept(agent="bob", at=40))  # waited 30 s
    c.apply(CustomerMessage(at=41))
    c.say("agent", 70)  # first human response 60 s after the hand-off
    c.apply(TransferToTeam(team="billing", at=100))  # bob handled 60 s
    c.apply(Offered(agent="cy", at=110))
    c.apply(Accept(agent="cy", at=120))  # waited 20 s more
    c.apply(TransferToAgent(agent="dee", at=150))
    c.say("agent", 160)
    c.apply(Resolve(by="dee", at=200))  # cy 30 s + dee 50 s
    return c


def test_metrics_of_a_conversation() -> None:
    m = compute_metrics(full_conversation().log)
    assert m.first_response_time == 60
    assert m.wait_time == pytest.approx(30 + 20)
    assert m.handle_time == pytest.approx(60 + 30 + 50)
    assert m.transfers == 2
    assert m.reassignments == 0
    assert m.resolved_by == "agent" and m.resolved_at == 200
    assert m.agents == ("bob", "cy", "dee")
    assert m.reopens == 0


def test_recomputed_from_the_stored_log_in_any_order() -> None:
    log = full_conversation().log
    stored = json.loads(json.dumps(converter.unstructure(log)))
    restored = converter.structure(stored, list[ConversationEvent])
    assert compute_metrics(restored) == compute_metrics(log)
    shuffled = list(log)
    random.Random(7).shuffle(shuffled)
    assert compute_metrics(shuffled) == compute_metrics(log)


def test_reopen_clears_the_resolution_and_counts() -> None:
    c = full_conversation()
    c.apply(CustomerMessage(at=300))  # within the hour: back to billing's queue
    m = compute_metrics(c.log, now=330)
    assert m.reopens == 1 and m.resolved_by is None and m.resolved_at is None
    assert m.wait_time == pytest.approx(50 + 30)  # the open wait runs to `now`


def test_bot_only_conversation() -> None:
    c = Conversation()
    c.say("customer", 0)
    c.say("bot", 1)
    c.apply(Resolve(by="bot", at=5))
    m = compute_metrics(c.log)
    assert (m.first_response_time, m.wait_time, m.handle_time) == (None, None, None)
    assert m.resolved_by == "bot" and m.transfers == 0


def test_empty_log_and_bad_sender() -> None:
    assert compute_metrics([]).resolved_by is None
    with pytest.raises(ValueError, match="sender"):
        message_event("robot", 0)


def test_transition_events_carry_from_to_and_fields() -> None:
    before = Ownership()
    event = Handoff(team="sales", skills=("es",), at=3)
    after, _ = transition(before, event)
    logged = transition_event(event, before, after)
    assert logged.type == "handoff" and logged.at == 3
    assert logged.payload == {
        "from": "flow",
        "to": "queued",
        "team": "sales",
        "agent": None,
        "event": {"team": "sales", "priority": 0, "skills": ["es"]},
    }
    declined = Ownership(owner=Owner.OFFERED, team="sales", agent="ana")
    event2 = Decline(agent="ana", at=4)
    after2, _ = transition(declined, event2)
    assert transition_event(event2, declined, after2).payload["event"] == {"agent": "ana"}
