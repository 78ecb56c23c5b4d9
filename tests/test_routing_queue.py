"""One team's queue: order, strategies, stickiness, offers and timeouts, presence, estimates."""

from __future__ import annotations

import json
from collections.abc import Iterable

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytake.actors import converter
from pytake.routing import (
    AgentStatus,
    Assignment,
    Offer,
    OfferAccepted,
    OfferNotFound,
    OfferWithdrawn,
    OfflinePolicy,
    QueueEffect,
    QueueError,
    QueuePolicy,
    QueueState,
    Requeued,
    Strategy,
)

ONLINE, AWAY, OFFLINE = AgentStatus.ONLINE, AgentStatus.AWAY, AgentStatus.OFFLINE
HOUR = 3600.0
T0 = 1_700_000_000.0  # a realistic epoch, so float precision is exercised


def team(
    agents: Iterable[tuple[str, int]] = (("ana", 1), ("bob", 1)),
    *,
    skills: dict[str, tuple[str, ...]] | None = None,
    **policy: object,
) -> QueueState:
    q = QueueState(team="sales", policy=QueuePolicy(**policy))  # type: ignore[arg-type]
    for name, capacity in agents:
        q, _ = q.upsert_agent(
            name,
            T0,
            status=ONLINE,
            capacity=capacity,
            skills=(skills or {}).get(name, ()),
        )
    return q


def offers(effects: Iterable[QueueEffect]) -> list[tuple[str, str]]:
    return [(e.conversation, e.agent) for e in effects if isinstance(e, Offer)]


# --- order -------------------------------------------------------------------------------


def test_higher_priority_first_then_oldest() -> None:
    q = team(agents=())
    q, _ = q.enqueue("old", T0)
    q, _ = q.enqueue("new", T0 + 10)
    q, _ = q.enqueue("vip", T0 + 20, priority=5)
    assert [e.conversation for e in q.ranked()] == ["vip", "old", "new"]
    assert [q.position(c) for c in ("vip", "old", "new")] == [1, 2, 3]
    q, effects = q.upsert_agent("ana", T0 + 30, status=ONLINE, capacity=2)
    assert offers(effects) == [("vip", "ana"), ("old", "ana")]


def test_aging_lets_long_waits_overtake_priority() -> None:
    q = team(agents=(), aging_per_minute=1.0)
    q, _ = q.enqueue("patient", T0)
    q, _ = q.enqueue("vip", T0 + 4 * 60, priority=3)  # 4 minutes later: 4 > 3
    q, _ = q.enqueue("vip2", T0 + 2 * 60, priority=3)  # 2 minutes later: 2 < 3
    assert [e.conversation for e in q.ranked()] == ["vip2", "patient", "vip"]
    assert q.effective_priority(q.waiting["patient"], T0 + 600) == pytest.approx(10)
    # equal effective priority: the older one first
    q2 = team(agents=(), aging_per_minute=1.0)
    q2, _ = q2.enqueue("b", T0 + 60, priority=1)
    q2, _ = q2.enqueue("a", T0)
    assert [e.conversation for e in q2.ranked()] == ["a", "b"]


def test_enqueue_twice_is_an_error() -> None:
    q, _ = team().enqueue("c1", T0)
    with pytest.raises(QueueError, match="already"):
        q.enqueue("c1", T0 + 1)
    with pytest.raises(QueueError, match="not waiting"):
        q.position("nope")


# --- strategies --------------------------------------------------------------------------


def test_round_robin_rotates_by_who_was_offered_longest_ago() -> None:
    q = team(agents=(("ana", 9), ("bob", 9), ("cid", 9)), strategy=Strategy.ROUND_ROBIN)
    got = []
    for i in range(6):
        q, effects = q.enqueue(f"c{i}", T0 + i)
        got += [agent for _, agent in offers(effects)]
    assert got == ["ana", "bob", "cid", "ana", "bob", "cid"]


def test_least_busy_picks_the_lowest_load_ratio_then_longest_idle() -> None:
    q = team(agents=(("ana", 4), ("bob", 2)), strategy=Strategy.LEAST_BUSY)
    q, _ = q.upsert_agent("ana", T0, active=2)  # 2/4 = 0.5
    q, _ = q.upsert_agent("bob", T0, active=0)  # 0/2 = 0
    q, effects = q.enqueue("c1", T0 + 1)
    assert offers(effects) == [("c1", "bob")]  # bob: 1/2 now, ana 2/4: tie
    q, effects = q.enqueue("c2", T0 + 2)
    assert offers(effects) == [("c2", "ana")]  # tie broken by longest idle: ana never offered


def test_skills_strategy_needs_every_required_skill() -> None:
    q = team(
        agents=(("ana", 3), ("bob", 3)),
        skills={"ana": ("en",), "bob": ("en", "es")},
        strategy=Strategy.SKILLS,
    )
    q, effects = q.enqueue("spanish", T0, skills=("es", "en"))
    assert offers(effects) == [("spanish", "bob")]
    q, effects = q.enqueue("english", T0 + 1, skills=("en",))
    assert offers(effects) == [("english", "ana")]  # least busy among those able
    q, effects = q.enqueue("french", T0 + 2, skills=("fr",))
    assert offers(effects) == []
    # nobody can take "french": it does not hold up the ones behind it
    q, effects = q.enqueue("more-english", T0 + 3, skills=("en",))
    assert offers(effects) == [("more-english", "bob")]  # tie at 1/3: bob idle longer
    assert q.estimated_wait("french", T0 + 4) is None


def test_other_strategies_ignore_required_skills() -> None:
    q = team(agents=(("ana", 1),), strategy=Strategy.LEAST_BUSY)
    q, effects = q.enqueue("c", T0, skills=("fr",))
    assert offers(effects) == [("c", "ana")]


# --- stickiness --------------------------------------------------------------------------


def test_sticky_prefers_the_last_agent_within_the_window() -> None:
    q = team(agents=(("ana", 5), ("bob", 5)), sticky_hours=2.0)
    q, _ = q.upsert_agent("bob", T0, active=3)  # busier, but the customer's last agent
    q, effects = q.enqueue("c", T0 + HOUR, last_agent="bob", last_agent_at=T0)
    assert offers(effects) == [("c", "bob")]


def test_sticky_expires_and_needs_a_free_online_agent() -> None:
    q = team(agents=(("ana", 5), ("bob", 5)), sticky_hours=2.0)
    q, _ = q.upsert_agent("bob", T0, active=3)
    _, effects = q.enqueue("c", T0 + 3 * HOUR, last_agent="bob", last_agent_at=T0)
    assert offers(effects) == [("c", "ana")]  # too long ago
    q2, _ = q.upsert_agent("bob", T0, active=5)  # full
    q2, effects = q2.enqueue("c", T0 + HOUR, last_agent="bob", last_agent_at=T0)
    assert offers(effects) == [("c", "ana")]
    q3, _ = q.agent_status("bob", AWAY, T0)
    q3, effects = q3.enqueue("c", T0 + HOUR, last_agent="bob", last_agent_at=T0)
    assert offers(effects) == [("c", "ana")]
    off = team(agents=(("ana", 5), ("bob", 5)))  # sticky_hours=None: off
    off, _ = off.upsert_agent("bob", T0, active=3)
    off, effects = off.enqueue("c", T0 + 1, last_agent="bob", last_agent_at=T0)
    assert offers(effects) == [("c", "ana")]


# --- offers, reservation timeout ---------------------------------------------------------


def test_reservation_timeout_moves_the_offer_to_the_next_agent() -> None:
    q = team(reservation_timeout=30.0)
    q, effects = q.enqueue("c", T0)
    assert offers(effects) == [("c", "ana")]
    assert q.next_deadline() == T0 + 30
    same, effects = q.offer_expired("c", T0 + 29)  # an early (stale) timer: nothing
    assert same == q and effects == ()
    q, effects = q.offer_expired("c", T0 + 30)
    assert effects == (
        OfferWithdrawn(conversation="c", agent="ana", reason="expired"),
        Offer(conversation="c", agent="bob", offered_at=T0 + 30, expires_at=T0 + 60),
    )
    assert q.next_deadline() == T0 + 60


def test_accept_after_the_deadline_is_too_late_and_changes_nothing() -> None:
    q = team(reservation_timeout=30.0)
    q, _ = q.enqueue("c", T0)
    with pytest.raises(OfferNotFound, match="expired"):
        q.accept("c", "ana", T0 + 30)
    with pytest.raises(OfferNotFound, match="not offered"):
        q.accept("c", "bob", T0 + 1)
    q2, effects = q.accept("c", "ana", T0 + 10)
    assert effects == (OfferAccepted(conversation="c", agent="ana"),)
    assert "c" not in q2.waiting and q2.assigned["c"].agent == "ana"
    assert q2.agents["ana"].active == 1 and q2.load("ana") == 1
    assert q2.next_deadline() is None


def test_decline_goes_to_the_next_agent_and_stale_declines_are_ignored() -> None:
    q = team()
    q, _ = q.enqueue("c", T0)
    same, effects = q.decline("c", "bob", T0 + 1)  # bob was never offered it
    assert same == q and effects == ()
    q, effects = q.decline("c", "ana", T0 + 1)
    assert offers(effects) == [("c", "bob")]
    assert q.waiting["c"].declined_by == ("ana",)
    # bob declines too: everyone able has declined, so round again rather than strand it
    q, effects = q.decline("c", "bob", T0 + 2)
    assert offers(effects) == [("c", "ana")]


def test_never_two_offers_for_one_conversation_and_never_over_capacity() -> None:
    q = team(agents=(("ana", 2),))
    q, e1 = q.enqueue("c1", T0)
    q, e2 = q.enqueue("c2", T0 + 1)
    q, e3 = q.enqueue("c3", T0 + 2)
    assert offers(e1 + e2 + e3) == [("c1", "ana"), ("c2", "ana")]
    assert q.load("ana") == 2
    q, e = q.next_assignments(T0 + 3)
    assert e == ()


# --- capacity freed by events, never by a sweep ------------------------------------------


def test_release_pulls_the_oldest_waiting_conversation_at_once() -> None:
    q = team(agents=(("ana", 1),))
    q, _ = q.enqueue("c1", T0)
    q, _ = q.accept("c1", "ana", T0 + 5)
    q, _ = q.enqueue("c3", T0 + 7)
    q, _ = q.enqueue("c2", T0 + 6 - 0.5)  # older than c3
    q, effects = q.release("c1", T0 + 65)
    assert offers(effects) == [("c2", "ana")]
    assert q.handle_time_avg == pytest.approx(60)
    assert q.handle_samples == 1


def test_capacity_freed_elsewhere_pulls_too() -> None:
    q = team(agents=(("ana", 1),))
    q, _ = q.upsert_agent("ana", T0, active=1)
    q, effects = q.enqueue("c", T0)
    assert offers(effects) == []
    q, effects = q.capacity_freed("ana", T0 + 1)
    assert offers(effects) == [("c", "ana")]


def test_agent_coming_online_pulls() -> None:
    q = team(agents=(("ana", 1),))
    q, _ = q.agent_status("ana", OFFLINE, T0)
    q, _ = q.enqueue("c", T0)
    q, effects = q.agent_status("ana", ONLINE, T0 + 1)
    assert offers(effects) == [("c", "ana")]
    with pytest.raises(QueueError, match="not in team"):
        q.agent_status("zed", ONLINE, T0)


# --- presence ----------------------------------------------------------------------------


def test_offline_agent_returns_its_offers_at_once() -> None:
    q = team()
    q, _ = q.enqueue("c", T0)
    assert offers(q.offers.values()) == [("c", "ana")]
    q, effects = q.agent_status("ana", OFFLINE, T0 + 1)
    assert effects[0] == OfferWithdrawn(conversation="c", agent="ana", reason="agent_offline")
    assert offers(effects) == [("c", "bob")]


def test_away_agent_returns_offers_but_keeps_conversations() -> None:
    q = team(agents=(("ana", 2), ("bob", 1)))
    q, _ = q.enqueue("mine", T0)
    q, _ = q.accept("mine", "ana", T0 + 1)
    q, _ = q.enqueue("offered", T0 + 2)
    q, _ = q.decline("offered", "bob", T0 + 2)  # whoever holds it, make it ana's
    assert q.offers["offered"].agent == "ana"
    q, effects = q.agent_status("ana", AWAY, T0 + 3)
    assert OfferWithdrawn(conversation="offered", agent="ana", reason="agent_away") in effects
    assert q.assigned["mine"].agent == "ana"


def test_offline_requeue_policy_puts_conversations_back_with_their_age() -> None:
    q = team(offline_policy=OfflinePolicy.REQUEUE)
    q, _ = q.enqueue("c1", T0)
    q, _ = q.accept("c1", "ana", T0 + 1)
    q, _ = q.agent_status("bob", OFFLINE, T0 + 1)
    q, _ = q.enqueue("newcomer", T0 + 2)
    q, effects = q.agent_status("ana", OFFLINE, T0 + 3)
    assert effects == (Requeued(conversation="c1", agent="ana"),)
    assert q.position("c1") == 1  # original enqueued_at: ahead of the newcomer
    assert q.agents["ana"].active == 0
    q, effects = q.agent_status("bob", ONLINE, T0 + 4)
    assert offers(effects) == [("c1", "bob")]


def test_offline_keep_policy_keeps_conversations() -> None:
    q = team(offline_policy=OfflinePolicy.KEEP)
    q, _ = q.enqueue("c1", T0)
    q, _ = q.accept("c1", "ana", T0 + 1)
    q, effects = q.agent_status("ana", OFFLINE, T0 + 3)
    assert effects == ()
    assert q.assigned["c1"].agent == "ana" and q.agents["ana"].active == 1


def test_agent_leaving_the_team_requeues_whatever_the_policy() -> None:
    q = team(offline_policy=OfflinePolicy.KEEP)
    q, _ = q.enqueue("c1", T0)
    q, _ = q.accept("c1", "ana", T0 + 1)
    q, effects = q.remove_agent("ana", T0 + 2)
    assert Requeued(conversation="c1", agent="ana") in effects
    assert offers(effects) == [("c1", "bob")]
    assert "ana" not in q.agents


# --- remove, direct assignment -----------------------------------------------------------


def test_remove_withdraws_the_offer_and_is_idempotent() -> None:
    q = team(agents=(("ana", 1),))
    q, _ = q.enqueue("c1", T0)
    q, _ = q.enqueue("c2", T0 + 1)
    q, effects = q.remove("c1", T0 + 2)
    assert effects[0] == OfferWithdrawn(conversation="c1", agent="ana", reason="removed")
    assert offers(effects) == [("c2", "ana")]
    same, effects = q.remove("c1", T0 + 3)
    assert effects == () and same.waiting == q.waiting


def test_direct_assignment_may_exceed_capacity() -> None:
    q = team(agents=(("ana", 1),))
    q, _ = q.upsert_agent("ana", T0, active=1)
    q, _ = q.enqueue("c", T0)
    q, _ = q.assign_direct("c", "ana", T0 + 1)
    assert q.agents["ana"].active == 2 and "c" not in q.waiting
    q, _ = q.release("c", T0 + 11)
    assert q.agents["ana"].active == 1
    with pytest.raises(QueueError):
        q.assign_direct("c", "zed", T0)


# --- position and estimated wait ---------------------------------------------------------


def test_estimated_wait_formula() -> None:
    q = team(agents=(("ana", 2), ("bob", 2)), handle_time_default=240.0)
    for i in range(7):
        q, _ = q.enqueue(f"c{i}", T0 + i)
    # four slots, four offers outstanding; c4..c6 wait
    assert q.estimated_wait("c0", T0 + 10) == 0.0
    assert q.position("c6") == 7
    # ahead of c4: nobody un-offered; free = 0 -> (0 - 0 + 1) * 240 / 4
    assert q.estimated_wait("c4", T0 + 10) == pytest.approx(60)
    assert q.estimated_wait("c6", T0 + 10) == pytest.approx(180)
    # live data: a measured handle time replaces the default
    q, _ = q.accept("c0", "ana", T0 + 10)
    q, _ = q.release("c0", T0 + 130)  # 120 s; c4 takes the slot
    assert q.handle_time_avg == pytest.approx(120)
    assert q.estimated_wait("c6", T0 + 130) == pytest.approx(2 * 120 / 4)
    # nobody online: no estimate
    for name in ("ana", "bob"):
        q, _ = q.agent_status(name, OFFLINE, T0 + 200)
    assert q.estimated_wait("c6", T0 + 200) is None


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="reservation_timeout"):
        QueuePolicy(reservation_timeout=0)
    with pytest.raises(ValueError, match="aging_per_minute"):
        QueuePolicy(aging_per_minute=-1)
    with pytest.raises(ValueError, match="handle_time_alpha"):
        QueuePolicy(handle_time_alpha=0)


def test_queue_state_snapshots_through_cattrs_and_json() -> None:
    q = team(strategy=Strategy.SKILLS, sticky_hours=4, offline_policy=OfflinePolicy.KEEP)
    q, _ = q.enqueue("c1", T0, skills=("x",), last_agent="ana", last_agent_at=T0 - 5)
    q, _ = q.enqueue("c2", T0 + 1)
    q, _ = q.accept("c2", q.offers["c2"].agent, T0 + 2)
    data = json.loads(json.dumps(converter.unstructure(q)))
    assert converter.structure(data, QueueState) == q


# --- properties --------------------------------------------------------------------------

AGENTS = ["a1", "a2", "a3"]
CONVS = [f"c{i}" for i in range(8)]

operations = st.one_of(
    st.tuples(st.just("enqueue"), st.sampled_from(CONVS), st.integers(0, 3)),
    st.tuples(st.just("accept"), st.sampled_from(CONVS), st.just(0)),
    st.tuples(st.just("decline"), st.sampled_from(CONVS), st.just(0)),
    st.tuples(st.just("release"), st.sampled_from(CONVS), st.just(0)),
    st.tuples(st.just("remove"), st.sampled_from(CONVS), st.just(0)),
    st.tuples(st.just("status"), st.sampled_from(AGENTS), st.integers(0, 2)),
    st.tuples(st.just("freed"), st.sampled_from(AGENTS), st.just(0)),
    st.tuples(st.just("tick"), st.just(""), st.just(0)),
)


@settings(max_examples=250, deadline=None)
@given(
    strategy=st.sampled_from(list(Strategy)),
    offline=st.sampled_from(list(OfflinePolicy)),
    aging=st.sampled_from([0.0, 0.5]),
    capacities=st.lists(st.integers(0, 3), min_size=3, max_size=3),
    skills=st.lists(st.sampled_from([(), ("x",), ("x", "y")]), min_size=3, max_size=3),
    conv_skills=st.lists(st.sampled_from([(), ("x",), ("y",)]), min_size=8, max_size=8),
    ops=st.lists(st.tuples(operations, st.floats(0, 40)), max_size=40),
)
def test_queue_invariants_hold_under_any_sequence_of_events(
    strategy: Strategy,
    offline: OfflinePolicy,
    aging: float,
    capacities: list[int],
    skills: list[tuple[str, ...]],
    conv_skills: list[tuple[str, ...]],
    ops: list[tuple[tuple[str, str, int], float]],
) -> None:
    policy = QueuePolicy(
        strategy=strategy,
        offline_policy=offline,
        aging_per_minute=aging,
        reservation_timeout=30,
        sticky_hours=1,
    )
    q = QueueState(team="t", policy=policy)
    now = T0
    for name, cap, sk in zip(AGENTS, capacities, skills, strict=True):
        q, _ = q.upsert_agent(name, now, status=ONLINE, capacity=cap, skills=sk)
    statuses = [ONLINE, AWAY, OFFLINE]
    for (op, target, arg), dt in ops:
        now += dt
        before = q
        if op == "enqueue":
            if target in q.waiting or target in q.assigned:
                continue
            q, effects = q.enqueue(
                target,
                now,
                priority=arg,
                skills=conv_skills[CONVS.index(target)],
                last_agent=AGENTS[arg % 3],
                last_agent_at=now - 10,
            )
        elif op == "accept":
            offer = q.offers.get(target)
            if offer is None:
                continue
            try:
                q, effects = q.accept(target, offer.agent, now)
            except OfferNotFound:
                assert offer.expires_at <= now  # only ever "too late"
                continue
        elif op == "decline":
            offer = q.offers.get(target)
            if offer is None:
                continue
            q, effects = q.decline(target, offer.agent, now)
        elif op == "release":
            q, effects = q.release(target, now)
        elif op == "remove":
            q, effects = q.remove(target, now)
        elif op == "status":
            q, effects = q.agent_status(target, statuses[arg], now)
        elif op == "freed":
            q, effects = q.capacity_freed(target, now)
        else:
            q, effects = q.next_assignments(now)
        check_step(before, q, effects, now)
    data = json.loads(json.dumps(converter.unstructure(q)))
    assert converter.structure(data, QueueState) == q


def check_step(
    before: QueueState, q: QueueState, effects: tuple[QueueEffect, ...], now: float
) -> None:
    # Offers are keyed by conversation and only for waiting conversations.
    for conv, offer in q.offers.items():
        assert offer.conversation == conv and conv in q.waiting
        assert conv not in q.assigned
        assert offer.expires_at > now  # everything due was expired first
    assert not set(q.waiting) & set(q.assigned)
    # Within one step a conversation is offered at most once more than it is withdrawn.
    for conv in {e.conversation for e in effects}:
        made = sum(1 for e in effects if isinstance(e, Offer) and e.conversation == conv)
        gone = sum(
            1 for e in effects if isinstance(e, OfferWithdrawn | OfferAccepted)
            and e.conversation == conv
        )
        assert made - gone <= (0 if conv in before.offers else 1)
        assert made <= 1
    # Never over capacity, offers only to online agents (offline/away ones have none).
    for slot in q.agents.values():
        mine = [o for o in q.offers.values() if o.agent == slot.agent]
        if mine:
            assert slot.status is ONLINE
            assert q.load(slot.agent) <= slot.capacity
    # Work-conserving and order-respecting: nothing waits un-offered that a free online agent
    # could take.
    loads = {a: q.load(a) for a in q.agents}
    for entry in q.ranked():
        if entry.conversation in q.offers:
            continue
        for slot in q.agents.values():
            if slot.status is not ONLINE or loads[slot.agent] >= slot.capacity:
                continue
            if q.policy.strategy is Strategy.SKILLS and not set(entry.skills) <= set(slot.skills):
                continue
            raise AssertionError(f"{entry.conversation} waits while {slot.agent} is free")
    # New offers are made in queue order.
    ranked = [e.conversation for e in q.ranked()]
    new = [e.conversation for e in effects if isinstance(e, Offer)]
    assert new == sorted(new, key=ranked.index)
    if q.policy.strategy is not Strategy.SKILLS:
        # ... and nobody un-offered is ranked above a conversation offered in this step.
        for conv in new:
            for above in ranked[: ranked.index(conv)]:
                assert above in q.offers
    assert q.next_deadline() == min((o.expires_at for o in q.offers.values()), default=None)


def test_an_agent_new_to_a_rebuilt_queue_counts_the_conversations_it_holds() -> None:
    # After a restart the queue is rebuilt from the conversations' rows (an assignment to
    # ana) before ana's actor restates her presence: her free capacity must count it.
    q = team(agents=())
    q = attrs.evolve(q, assigned={"c1": Assignment(conversation="c1", agent="ana",
                                                   assigned_at=T0, enqueued_at=T0)})
    q, _ = q.enqueue("c2", T0)
    q, _ = q.enqueue("c3", T0 + 1)
    q, effects = q.upsert_agent("ana", T0 + 2, status=ONLINE, capacity=2)
    assert q.load("ana") == 2
    assert offers(effects) == [("c2", "ana")]  # one slot left, not two
