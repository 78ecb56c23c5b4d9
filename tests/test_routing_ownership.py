"""The conversation owner state machine: the whole table, its guards, and its invariants."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytake.actors import converter
from pytake.errors import PyTakeError
from pytake.routing import (
    INBOUND_HANDLER,
    QUEUE_ORIGINATED,
    TRANSITIONS,
    Accept,
    CustomerMessage,
    Decline,
    DeliverTo,
    DequeueFrom,
    EnqueueIn,
    Handoff,
    InvalidTransition,
    NotifyAssigned,
    Offered,
    OfferExpired,
    Owner,
    Ownership,
    OwnershipEvent,
    Reassign,
    ReleaseAgent,
    Reopened,
    Requeue,
    Resolve,
    Resolved,
    ReturnToFlow,
    RoutingError,
    StartFlow,
    TransferToAgent,
    TransferToTeam,
    event_kind,
    transition,
    who_handles_inbound,
)

HOUR = 3600.0

# One conversation in each state, reached through the machine itself.
FLOW = Ownership()
QUEUED, _ = transition(FLOW, Handoff(team="sales", priority=2, skills=("es",), at=10.0))
OFFERED, _ = transition(QUEUED, Offered(agent="ana", at=20.0))
ASSIGNED, _ = transition(OFFERED, Accept(agent="ana", at=30.0))
RESOLVED, _ = transition(ASSIGNED, Resolve(by="ana", at=100.0))
STATES = {
    Owner.FLOW: FLOW,
    Owner.QUEUED: QUEUED,
    Owner.OFFERED: OFFERED,
    Owner.ASSIGNED: ASSIGNED,
    Owner.RESOLVED: RESOLVED,
}

# The allowed event kinds of each state, written out by hand: the table must say the same.
EXPECTED: dict[Owner, set[str]] = {
    Owner.FLOW: {"customer_message", "handoff", "reassign", "resolve"},
    Owner.QUEUED: {
        "customer_message",
        "offer",
        "transfer_to_team",
        "transfer_to_agent",
        "reassign",
        "return_to_flow",
        "resolve",
    },
    Owner.OFFERED: {
        "customer_message",
        "accept",
        "decline",
        "offer_expired",
        "requeue",
        "transfer_to_team",
        "transfer_to_agent",
        "reassign",
        "return_to_flow",
        "resolve",
    },
    Owner.ASSIGNED: {
        "customer_message",
        "requeue",
        "transfer_to_team",
        "transfer_to_agent",
        "reassign",
        "return_to_flow",
        "resolve",
    },
    Owner.RESOLVED: {"customer_message_reopen", "customer_message_restart"},
}


def sample_events(at: float) -> list[OwnershipEvent]:
    """One event of every kind, plus the variants the guards tell apart."""
    return [
        Handoff(team="support", at=at),
        Offered(agent="ana", at=at),
        Offered(agent="bob", at=at),
        Accept(agent="ana", at=at),
        Accept(agent="bob", at=at),
        Decline(agent="ana", at=at),
        Decline(agent="bob", at=at),
        OfferExpired(agent="ana", at=at),
        OfferExpired(agent="bob", at=at),
        Requeue(at=at),
        TransferToTeam(team="support", at=at),
        TransferToTeam(team="sales", at=at),
        TransferToAgent(agent="bob", at=at),
        TransferToAgent(agent="ana", at=at),
        Reassign(agent="bob", by="sup", at=at),
        Reassign(agent="ana", by="sup", at=at),
        ReturnToFlow(at=at),
        Resolve(at=at),
        CustomerMessage(at=at),
        CustomerMessage(at=at + 2 * 24 * HOUR),
    ]


def test_the_table_is_what_the_docs_say() -> None:
    actual: dict[Owner, set[str]] = {state: set() for state in Owner}
    for state, kind in TRANSITIONS:
        actual[state].add(kind)
    assert actual == EXPECTED


@pytest.mark.parametrize("state", list(Owner), ids=lambda s: s.name)
@pytest.mark.parametrize("event", sample_events(200.0), ids=lambda e: f"{e.kind}-{e!r}"[:60])
def test_every_state_and_event_is_a_transition_or_invalid(
    state: Owner, event: OwnershipEvent
) -> None:
    before = STATES[state]
    kind = event_kind(before, event)
    rule = TRANSITIONS.get((state, kind))
    if rule is None:
        with pytest.raises(InvalidTransition) as info:
            transition(before, event)
        assert info.value.state is state
        assert info.value.event is event
        assert info.value.kind == kind
        assert state.name in str(info.value)
        assert isinstance(info.value, RoutingError | PyTakeError)
    else:
        after, effects = transition(before, event)
        assert after.owner is rule.next
        assert len(effects) == len(rule.effects)
        check_invariants(after)


def check_invariants(o: Ownership) -> None:
    if o.owner is Owner.FLOW:
        assert o.team is None and o.agent is None
    elif o.owner is Owner.QUEUED:
        assert o.team is not None and o.agent is None
    elif o.owner is Owner.OFFERED:
        assert o.team is not None and o.agent is not None
    elif o.owner is Owner.ASSIGNED:
        assert o.agent is not None
    else:
        assert o.team is None and o.agent is None
        assert o.resolved_at is not None and o.resolved_by is not None


def test_guards_refine_stale_and_pointless_events() -> None:
    assert event_kind(OFFERED, Accept(agent="bob", at=1)) == "accept_other_agent"
    assert event_kind(OFFERED, Decline(agent="bob", at=1)) == "decline_other_agent"
    assert event_kind(OFFERED, OfferExpired(agent="bob", at=1)) == "offer_expired_other_agent"
    assert event_kind(QUEUED, TransferToTeam(team="sales", at=1)) == "transfer_to_same_team"
    # An agent may put its conversation back in its own team's queue.
    assert event_kind(ASSIGNED, TransferToTeam(team="sales", at=1)) == "transfer_to_team"
    same = event_kind(ASSIGNED, TransferToAgent(agent="ana", at=1))
    assert same == "transfer_to_agent_same_agent"
    with pytest.raises(InvalidTransition, match="accept_other_agent"):
        transition(OFFERED, Accept(agent="bob", at=1))


def test_happy_path_effects() -> None:
    queued, effects = transition(FLOW, Handoff(team="sales", priority=2, skills=("es",), at=1))
    assert effects == (
        EnqueueIn(team="sales", priority=2, skills=("es",), sticky_agent=None, sticky_at=None),
    )
    offered, effects = transition(queued, Offered(agent="ana", at=2))
    assert (offered.owner, offered.agent, effects) == (Owner.OFFERED, "ana", ())
    assigned, effects = transition(offered, Accept(agent="ana", at=3))
    assert (assigned.owner, assigned.agent, effects) == (Owner.ASSIGNED, "ana", ())
    same, effects = transition(assigned, CustomerMessage(at=4))
    assert same == assigned
    assert effects == (DeliverTo(handler="agent", agent="ana"),)
    resolved, effects = transition(assigned, Resolve(by="ana", at=5))
    assert effects == (ReleaseAgent(agent="ana", team="sales"), Resolved(by="agent"))
    assert (resolved.last_team, resolved.last_agent, resolved.resolved_by) == (
        "sales",
        "ana",
        "agent",
    )


def test_decline_and_expiry_go_back_to_the_same_queue() -> None:
    for event in (Decline(agent="ana", at=25), OfferExpired(agent="ana", at=50)):
        after, effects = transition(OFFERED, event)
        assert (after.owner, after.team, after.agent, effects) == (
            Owner.QUEUED,
            "sales",
            None,
            (),
        )
        assert after.priority == 2 and after.skills == ("es",)


def test_transfers() -> None:
    to_team, effects = transition(ASSIGNED, TransferToTeam(team="billing", at=40))
    assert to_team.owner is Owner.QUEUED and to_team.team == "billing"
    assert to_team.last_agent == "ana" and to_team.priority == 2
    assert effects == (
        ReleaseAgent(agent="ana", team="sales"),
        EnqueueIn(team="billing", priority=2, skills=("es",), sticky_agent="ana", sticky_at=40),
    )
    to_agent, effects = transition(ASSIGNED, TransferToAgent(agent="bob", at=40))
    assert (to_agent.owner, to_agent.agent, to_agent.team) == (Owner.ASSIGNED, "bob", "sales")
    assert effects == (
        ReleaseAgent(agent="ana", team="sales"),
        NotifyAssigned(agent="bob", team="sales"),
    )
    from_queue, effects = transition(QUEUED, TransferToAgent(agent="bob", team="vip", at=40))
    assert (from_queue.agent, from_queue.team) == ("bob", "vip")
    assert effects == (DequeueFrom(team="sales"), NotifyAssigned(agent="bob", team="vip"))


def test_supervisor_takes_over_from_the_bot() -> None:
    taken, effects = transition(FLOW, Reassign(agent="sup", by="sup", at=5))
    assert (taken.owner, taken.agent, taken.team) == (Owner.ASSIGNED, "sup", None)
    assert effects == (NotifyAssigned(agent="sup", team=None),)
    assert who_handles_inbound(taken) == "agent"
    # resolved by an agent, but no team ever had it: a new message restarts the flow
    resolved, _ = transition(taken, Resolve(at=6))
    again, effects = transition(resolved, CustomerMessage(at=7))
    assert again.owner is Owner.FLOW
    assert effects == (StartFlow(restart=True), DeliverTo(handler="bot"))


def test_reopen_within_the_window_goes_to_the_last_team_with_the_last_agent_sticky() -> None:
    reopened, effects = transition(RESOLVED, CustomerMessage(at=100 + HOUR), reopen_window=HOUR)
    assert (reopened.owner, reopened.team) == (Owner.QUEUED, "sales")
    assert reopened.resolved_at is None
    assert effects == (
        Reopened(team="sales"),
        EnqueueIn(team="sales", priority=2, skills=("es",), sticky_agent="ana", sticky_at=100),
        DeliverTo(handler="queue"),
    )
    assert who_handles_inbound(RESOLVED, 100 + HOUR, reopen_window=HOUR) == "queue"


def test_after_the_window_the_flow_starts_over() -> None:
    later, effects = transition(RESOLVED, CustomerMessage(at=100 + HOUR + 1), reopen_window=HOUR)
    assert later.owner is Owner.FLOW and later.team is None
    assert effects == (StartFlow(restart=True), DeliverTo(handler="bot"))
    assert who_handles_inbound(RESOLVED, 100 + HOUR + 1, reopen_window=HOUR) == "bot"


def test_bot_resolved_conversations_restart_in_the_flow() -> None:
    resolved, effects = transition(FLOW, Resolve(by="bot", at=5))
    assert effects == (Resolved(by="bot"),)
    assert resolved.resolved_by == "bot"
    again, _ = transition(resolved, CustomerMessage(at=6))
    assert again.owner is Owner.FLOW


def test_resolved_while_waiting_is_unassigned() -> None:
    _, effects = transition(OFFERED, Resolve(at=50))
    assert effects == (DequeueFrom(team="sales"), Resolved(by="unassigned"))


def test_inbound_handler() -> None:
    assert who_handles_inbound(Owner.FLOW) == "bot"
    assert who_handles_inbound(Owner.QUEUED) == "queue"
    assert who_handles_inbound(Owner.OFFERED) == "queue"
    assert who_handles_inbound(Owner.ASSIGNED) == "agent"
    assert INBOUND_HANDLER[Owner.RESOLVED] is None
    with pytest.raises(ValueError, match="resolved"):
        who_handles_inbound(Owner.RESOLVED)


def test_ownership_snapshots_through_cattrs_and_json() -> None:
    for state in STATES.values():
        data = json.loads(json.dumps(converter.unstructure(state)))
        assert converter.structure(data, Ownership) == state


events = st.one_of(
    st.builds(Handoff, team=st.sampled_from(["sales", "support"]), at=st.just(0.0)),
    *(
        st.builds(cls, agent=st.sampled_from(["ana", "bob"]), at=st.just(0.0))
        for cls in (Offered, Accept, Decline, OfferExpired, TransferToAgent, Reassign)
    ),
    st.builds(TransferToTeam, team=st.sampled_from(["sales", "support"]), at=st.just(0.0)),
    st.builds(Requeue, at=st.just(0.0)),
    st.builds(ReturnToFlow, at=st.just(0.0)),
    st.builds(Resolve, at=st.just(0.0)),
    st.builds(CustomerMessage, at=st.just(0.0)),
)


@settings(max_examples=300)
@given(st.lists(st.tuples(events, st.floats(0, 2 * 24 * HOUR)), max_size=40))
def test_random_walks_keep_one_owner_and_the_effect_rules(
    steps: list[tuple[OwnershipEvent, float]],
) -> None:
    state = Ownership()
    now = 0.0
    for template, gap in steps:
        now += gap
        event = attrs.evolve(template, at=now)
        try:
            after, effects = transition(state, event)
        except InvalidTransition:
            continue
        check_invariants(after)
        kind = event_kind(state, event)
        names = [type(e) for e in effects]
        # rule 5: capacity is freed by the event that ends an agent's ownership ...
        if state.owner is Owner.ASSIGNED and (
            after.owner is not Owner.ASSIGNED or after.agent != state.agent
        ):
            assert ReleaseAgent in names
        else:
            assert ReleaseAgent not in names
        if kind not in QUEUE_ORIGINATED:
            # ... and queues hear about every entry and exit they did not cause themselves.
            waiting = (Owner.QUEUED, Owner.OFFERED)
            left_queue = state.owner in waiting and (
                after.owner not in waiting or after.team != state.team
            )
            assert (DequeueFrom in names) == left_queue
            entered = after.owner is Owner.QUEUED and (
                state.owner not in waiting or after.team != state.team
            )
            assert (EnqueueIn in names) == entered
        else:
            assert DequeueFrom not in names and EnqueueIn not in names
        # a bot never answers a conversation an agent owns
        for effect in effects:
            if isinstance(effect, DeliverTo):
                assert effect.handler == INBOUND_HANDLER[after.owner]
        if after.owner is Owner.ASSIGNED:
            assert who_handles_inbound(after) == "agent"
        state = after

