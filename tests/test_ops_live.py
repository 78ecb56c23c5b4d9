"""The operations dashboard's server side: aggregation (pure, then on MockClock), the stats
route, the live socket, and the dead letters' retry and discard (docs/operations.md)."""

from __future__ import annotations

import json
import math
import secrets
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client import Histogram as PromHistogram
from trio_websocket import ConnectionClosed, open_websocket_url

from pytake.actors import converter
from pytake.config import Settings
from pytake.engine import Engine, actor_kind
from pytake.ops import (
    Aggregator,
    ConversationPulse,
    Histogram,
    QueueNumbers,
    Reading,
    Sampler,
    between,
    quantile,
    queue_numbers,
    read_registry,
)
from pytake.queues import QueueActorState
from pytake.routing import AgentSlot, AgentStatus, Assignment, Offer, QueueState, WaitingEntry
from pytake.store import UserRole
from pytake.web import create_app

from ._support import admin_headers, brief, serving
from .actor_fixtures import Apply, CrashOn, LogActor

# --- pure aggregation ------------------------------------------------------------------------

INF = math.inf


def test_quantiles_interpolate_inside_their_bucket_as_prometheus_does() -> None:
    # 10 observations: 4 at most 1 s, 4 more at most 2 s, 2 more at most 4 s.
    h = Histogram((1.0, 2.0, 4.0, INF), (4, 8, 10, 10), 20.0)
    assert quantile(0.5, h) == pytest.approx(1.25)  # rank 5: a quarter into (1, 2]
    assert quantile(0.2, h) == pytest.approx(0.5)  # rank 2: half into (0, 1]
    assert quantile(0.95, h) == pytest.approx(3.5)
    assert quantile(0.5, Histogram((1.0, INF), (0, 0), 0.0)) is None
    # In the +Inf bucket: the highest finite bound is all one can say.
    assert quantile(0.99, Histogram((1.0, INF), (1, 10), 50.0)) == 1.0


def test_a_point_has_rates_from_counter_deltas_and_latency_from_bucket_deltas() -> None:
    before = Reading(at=100.0, counters={"messages_in": 10, "resets": 50},
                     histograms={"ack": Histogram((0.1, 1.0, INF), (5, 5, 5), 0.2)})
    after = Reading(at=110.0, counters={"messages_in": 40, "resets": 3},
                    gauges={"queue_waiting": 7.0},
                    histograms={"ack": Histogram((0.1, 1.0, INF), (5, 9, 9), 2.2)})
    point = between(before, after)
    assert point.at == 110.0 and point.seconds == 10.0
    assert point.rates == {"messages_in": 3.0, "resets": 0.0}  # a reset is not negative
    assert point.gauges == {"queue_waiting": 7.0}
    ack = point.latency["ack"]
    assert ack.count == 4 and ack.mean == pytest.approx(0.5)
    assert ack.p50 is not None and 0.1 < ack.p50 <= 1.0


def test_the_aggregator_keeps_one_point_per_window_for_the_last_hour() -> None:
    agg = Aggregator(window=10.0, keep=60.0)
    assert agg.current() is None
    closed = [agg.add(Reading(at=float(t), counters={"n": 2.0 * t})) for t in range(0, 101)]
    assert sum(p is not None for p in closed) == 10
    series = agg.series()
    assert len(series) == 6  # keep / window: the oldest dropped first
    assert [p.at for p in series] == [50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
    assert all(p.rates["n"] == pytest.approx(2.0) for p in series)
    current = agg.current()
    assert current is not None and current.seconds == 10.0
    assert current.rates["n"] == pytest.approx(2.0)
    assert agg.newest() == series[-1]
    with pytest.raises(ValueError, match="time order"):
        agg.add(Reading(at=5.0))


def test_registry_readings_sum_label_sets_and_keep_wanted_labels() -> None:
    registry = CollectorRegistry()
    inbound = Counter("pytake_inbound_messages", "", ["outcome"], registry=registry)
    inbound.labels("stored").inc(3)
    inbound.labels("duplicate").inc(100)
    Gauge("pytake_outbox_backlog", "", registry=registry).set(4)
    ack = PromHistogram("pytake_webhook_ack_seconds", "", buckets=(0.01, 0.1), registry=registry)
    ack.observe(0.005)
    ack.observe(0.05)
    reading = read_registry(registry, 1.0)
    assert reading.counters["messages_in"] == 3.0
    assert reading.counters["messages_out"] == 0.0  # not registered: nothing sent
    assert reading.gauges["outbox_backlog"] == 4.0
    assert reading.gauges["queue_waiting"] is None
    h = reading.histograms["webhook_ack"]
    assert h.bounds == (0.01, 0.1, INF) and h.counts == (1.0, 2.0, 2.0)


def test_the_pulse_measures_first_response_handle_time_and_resolutions() -> None:
    registry = CollectorRegistry()
    pulse = ConversationPulse(registry)

    def event(type: str, at: float, **payload: Any) -> None:
        pulse.observe(f"conversation.{type}", {"conversation_id": 1, "at": at, **payload})

    event("handoff", 100.0, **{"from": "flow", "to": "queued"})
    event("offer", 102.0, **{"from": "queued", "to": "offered", "agent": "7"})
    event("accept", 105.0, **{"from": "offered", "to": "assigned", "agent": "7"})
    event("agent_message", 130.0)
    event("agent_message", 140.0)  # only the first answers the hand-off
    event("resolve", 200.0, **{"from": "assigned", "to": "resolved"})
    pulse.observe("conversation.resolve", {"conversation_id": 2, "at": 1.0, "from": "flow",
                                           "to": "resolved"})
    reading = read_registry(registry, 0.0)
    frt = reading.histograms["first_response"]
    assert frt.count == 1 and frt.sum == 30.0
    handle = reading.histograms["handle_time"]
    assert handle.count == 1 and handle.sum == 95.0
    assert reading.counters["resolved_agent"] == 1 and reading.counters["resolved_bot"] == 1


def test_queue_numbers_come_from_the_queues_state_as_the_queue_counts_them() -> None:
    def slot(agent: str, active: int, status: AgentStatus = AgentStatus.ONLINE) -> AgentSlot:
        return AgentSlot(agent=agent, status=status, capacity=3, active=active)

    sales = QueueState(
        team="1",
        waiting={"a": WaitingEntry(conversation="a", enqueued_at=900.0),
                 "b": WaitingEntry(conversation="b", enqueued_at=990.0)},
        offers={"b": Offer(conversation="b", agent="7", offered_at=995.0, expires_at=1025.0)},
        assigned={"c": Assignment(conversation="c", agent="7", assigned_at=950.0,
                                  enqueued_at=940.0)},
        agents={"7": slot("7", 1), "8": slot("8", 0), "9": slot("9", 2, AgentStatus.OFFLINE)},
    )
    support = QueueState(team="2", agents={"7": slot("7", 1)})  # agent 7 in both teams
    assert queue_numbers([sales, support], now=1000.0) == QueueNumbers(
        waiting=1, offered=1, assigned=1, oldest_wait=100.0, busy=1)
    assert queue_numbers([], now=0.0) == QueueNumbers()
    # As the probes read it: the actor's committed (unstructured) state, round trip.
    committed = converter.unstructure(QueueActorState(queue=sales))
    assert converter.structure(committed, QueueActorState).queue == sales


# --- the sampler on trio's mock clock ---------------------------------------------------------


async def test_the_sampler_turns_counters_into_rates_every_tick(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = CollectorRegistry()
    inbound = Counter("pytake_inbound_messages", "", ["outcome"], registry=registry)
    sampler = Sampler(registry, interval=1.0, window=10.0, keep=60.0, clock=trio.current_time,
                      summary=lambda: {"tree": {}, "kinds": []})

    async def load() -> None:
        while True:  # five messages a second
            await trio.sleep(0.2)
            inbound.labels("stored").inc()

    async with trio.open_nursery() as nursery:
        await nursery.start(sampler.run)
        nursery.start_soon(load)
        seen = await sampler.wait_tick(0)
        await trio.sleep(95.0)
        assert sampler.ticks >= 90 and seen >= 1
        stats = sampler.stats()
        nursery.cancel_scope.cancel()
    assert stats["current"]["rates"]["messages_in"] == pytest.approx(5.0, rel=0.15)
    assert len(stats["series"]) == 6  # keep=60 s of 10 s windows
    assert all(p["rates"]["messages_in"] == pytest.approx(5.0, rel=0.15)
               for p in stats["series"])
    assert stats["supervision"] == {"tree": {}, "kinds": []}
    json.dumps(stats)  # what the route sends


# --- over HTTP and WebSocket, on a real engine ------------------------------------------------


async def _headers(engine: Engine, role: UserRole) -> tuple[dict[str, str], str]:
    headers, token, _ = await _user(engine, role)
    return headers, token


async def _user(engine: Engine, role: UserRole) -> tuple[dict[str, str], str, int]:
    email = f"{role}-{secrets.token_hex(4)}@example.com"
    password = "correct horse battery staple"
    info = await engine.identity.create_user(email, role.title(), role, password)
    token = (await engine.identity.authenticate(email, password)).access_token
    return {"Authorization": f"Bearer {token}"}, token, info.id


def _fast(settings: Settings) -> Settings:
    return attrs.evolve(settings, ops_sample_interval=0.1)


async def test_stats_and_the_live_socket_move_and_show_a_crashed_actor(
    settings: Settings,
) -> None:
    engine = Engine(_fast(settings), kinds=[actor_kind(settings, LogActor, poison_threshold=3)])
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        async with serving(create_app(engine)) as client:
            supervisor, token = await _headers(engine, UserRole.SUPERVISOR)
            agent, agent_token = await _headers(engine, UserRole.AGENT)
            assert (await client.get("/api/v1/ops/stats")).status_code == 401
            assert (await client.get("/api/v1/ops/stats", headers=agent)).status_code == 403
            with trio.fail_after(10):
                while engine.ops.ticks < 3:
                    await trio.sleep(0.05)
            stats = (await client.get("/api/v1/ops/stats", headers=supervisor)).json()
            assert set(stats) >= {"at", "interval", "window", "current", "series",
                                  "supervision"}
            assert stats["interval"] == 0.1
            assert "messages_in" in stats["current"]["rates"]
            tree = stats["supervision"]["tree"]
            assert tree["id"] == "pytake"
            assert "ops-sampler" in [c["id"] for c in tree["children"]]

            base = str(client.base_url).replace("http://", "ws://")
            for bad, code in (("", 4401), ("nonsense", 4401), (agent_token, 4403)):
                with pytest.raises(ConnectionClosed) as closed:
                    async with open_websocket_url(f"{base}/api/v1/ops/live?token={bad}") as ws:
                        await ws.get_message()
                assert closed.value.reason.code == code, bad

            async with open_websocket_url(f"{base}/api/v1/ops/live?token={token}") as ws:
                welcome = json.loads(await ws.get_message())
                assert welcome["type"] == "welcome" and welcome["role"] == "supervisor"
                await ws.send_message(json.dumps({"type": "ping", "id": 1}))

                async def frames_until(check: Any) -> dict[str, Any]:
                    with trio.fail_after(15):
                        while True:
                            frame = json.loads(await ws.get_message())
                            if frame["type"] == "tick" and check(frame):
                                return frame

                # The numbers move under load: inbound messages counted as the inbox does.
                async def load() -> None:
                    for _ in range(100):
                        engine.webhook_metrics.inbound.labels("stored").inc(3)
                        await trio.sleep(0.02)

                nursery.start_soon(load)
                moving = await frames_until(
                    lambda f: (f["current"] or {}).get("rates", {}).get("messages_in", 0) > 1)
                assert moving["supervision"]["kinds"]

                # An actor crashed on purpose shows its crashes and restarts in the tree.
                await engine.router.tell("log", "crashy", CrashOn(1, times=1))
                await engine.router.tell("log", "crashy", Apply(2))

                def crashed(f: dict[str, Any]) -> bool:
                    kinds = {k["kind"]: k for k in f["supervision"]["kinds"]}
                    return kinds["log"]["crashes"] >= 1 and kinds["log"]["restarts"] >= 1

                frame = await frames_until(crashed)
                log_kind = next(k for k in frame["supervision"]["kinds"] if k["kind"] == "log")
                assert log_kind["live"] == 1 and log_kind["state"] == "running"

            # An account deactivated while watching: the feed stops, as the agent socket does.
            admin = await admin_headers(engine)
            _, watcher, watcher_id = await _user(engine, UserRole.SUPERVISOR)
            with pytest.raises(ConnectionClosed) as closed:
                async with open_websocket_url(f"{base}/api/v1/ops/live?token={watcher}") as ws:
                    assert json.loads(await ws.get_message())["type"] == "welcome"
                    answer = await client.post(f"/api/v1/users/{watcher_id}/deactivate",
                                               headers=admin)
                    assert answer.status_code == 200, answer.text
                    with trio.fail_after(10):
                        while True:
                            await ws.get_message()
            assert closed.value.reason is not None
            assert closed.value.reason.code == 4401
            assert closed.value.reason.reason.startswith("account_inactive")
        await engine.aclose()
        nursery.cancel_scope.cancel()


async def test_admins_retry_and_discard_dead_letters(settings: Settings) -> None:
    engine = Engine(_fast(settings), kinds=[actor_kind(settings, LogActor, poison_threshold=2)])
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        async with serving(create_app(engine)) as client:
            admin = await admin_headers(engine)
            supervisor, _ = await _headers(engine, UserRole.SUPERVISOR)
            actor = f"dl-{secrets.token_hex(3)}"
            # Crashes twice (the poison threshold), then would succeed: a retry delivers it.
            await engine.router.tell("log", actor, CrashOn(5, times=2))
            await engine.router.tell("log", actor, CrashOn(6, times=99))
            with trio.fail_after(10):
                while engine.router.runtime("log").stats.dead_letters < 2:
                    await trio.sleep(0.01)

            listed = (await client.get("/api/v1/ops/dead-letters?kind=log",
                                       headers=admin)).json()["dead_letters"]
            by_type = {d["message"]: d for d in listed}
            five, six = by_type["CrashOn(n=5, times=2)"], by_type["CrashOn(n=6, times=99)"]
            assert five["retryable"] and five["letter_id"] != six["letter_id"]
            shown = (await client.get("/api/v1/ops/dead-letters?kind=log",
                                      headers=supervisor)).json()["dead_letters"]
            assert {d["message"] for d in shown} == {"[redacted: only admins see dead "
                                                     "letters' payloads]"}

            retry = f"/api/v1/ops/dead-letters/{five['letter_id']}/retry"
            discard = f"/api/v1/ops/dead-letters/{six['letter_id']}"
            assert (await client.post(retry)).status_code == 401
            refused = await client.post(retry, headers=supervisor)
            assert refused.status_code == 403, refused.text
            assert (await client.delete(discard, headers=supervisor)).status_code == 403
            missing = await client.post("/api/v1/ops/dead-letters/999999/retry", headers=admin)
            assert brief(missing) == {"error": "no dead letter 999999"}
            assert missing.status_code == 404
            gone = await client.delete("/api/v1/ops/dead-letters/999999", headers=admin)
            assert gone.status_code == 404

            answer = await client.post(retry, headers=admin)
            assert answer.status_code == 200, answer.text
            assert answer.json()["retried"]["letter_id"] == five["letter_id"]
            applied = await engine.router.ask("log", actor, Apply(0))
            assert applied == 5  # 5 applied by the retry, then 0
            assert (await client.delete(discard, headers=admin)).status_code == 204
            left = (await client.get("/api/v1/ops/dead-letters?kind=log",
                                     headers=admin)).json()["dead_letters"]
            assert [d for d in left if d["id"] == actor] == []
            assert (await client.post(retry, headers=admin)).status_code == 404

            # Every change an admin made is in the audit trail.
            audit = (await client.get("/api/v1/audit", headers=admin)).json()
            actions = [row["action"] for row in audit["entries"]]
            assert "ops.retry_dead_letter" in actions and "ops.discard_dead_letter" in actions
        await engine.aclose()
        nursery.cancel_scope.cancel()


async def test_a_letter_from_before_a_restart_cannot_be_retried(settings: Settings) -> None:
    """Its message is not held in memory any more: 409, and a discard still works."""
    engine = Engine(_fast(settings), kinds=[actor_kind(settings, LogActor, poison_threshold=1)])
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        async with serving(create_app(engine)) as client:
            admin = await admin_headers(engine)
            await engine.router.tell("log", "old", CrashOn(9, times=99))
            with trio.fail_after(10):
                while engine.router.runtime("log").stats.dead_letters < 1:
                    await trio.sleep(0.01)
            (letter,) = (await client.get("/api/v1/ops/dead-letters?kind=log",
                                          headers=admin)).json()["dead_letters"]
            assert letter["retryable"]
            engine.dead_letter_store.held.drop(letter["letter_id"])  # as after a restart
            (listed,) = (await client.get("/api/v1/ops/dead-letters?kind=log",
                                          headers=admin)).json()["dead_letters"]
            assert not listed["retryable"]
            answer = await client.post(
                f"/api/v1/ops/dead-letters/{letter['letter_id']}/retry", headers=admin)
            assert answer.status_code == 409
            assert "not held in memory" in answer.json()["error"]
        await engine.aclose()
        nursery.cancel_scope.cancel()
