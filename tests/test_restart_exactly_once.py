"""`pytake serve` killed (SIGKILL, the whole process group) under load, or stopped and started
again: every acknowledged message is applied once, the agent's stream has each once and in
seq order, and a reconnected agent is online to its queue and gets new work (real
PostgreSQL, Redis, SQLite, HTTP and WebSocket)."""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from pytake.modules import SecretBox
from pytake.modules.builtin.webhook import (
    _delete_subscription,
    _insert_subscription,
    new_secret,
)
from pytake.standins.apis import WebhookReceiver, run_app
from pytake.standins.whatsapp import Customer, CustomerSimulator, run_standin
from pytake.standins.whatsapp._customers import RetryPolicy
from pytake.store import SYSTEM, Database, upgrade

from .agent_support import PASSWORD, AgentClient, agent_client, seed_agent
from .process_support import free_port, server_env, server_process, until_ready
from .storage_fixtures import RedisTarget
from .webhook_support import APP_SECRET, wa_id

SECRET_KEY = "k" * 48  # fixed: tokens stay valid across the restart
CAPACITY = 5
# Meta retries an unanswered webhook for hours; a few seconds of down time suffice here.
PATIENT = RetryPolicy(delays=(0.25,) * 400)

# A killed server drops the agent's TCP connection; trio-websocket's client then never
# closes its socket object (its reader stops at EOF without closing the stream).
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


async def _seed(url: str, team_name: str) -> tuple[str, int]:
    """An agent in a new team: (the agent's e-mail, the team's id)."""
    upgrade(url)
    return await seed_agent(url, team_name, SECRET_KEY, capacity=CAPACITY)


async def _login(base: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
        response = await http.post("/api/v1/auth/login",
                                   json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


def _json(value: Any) -> dict[str, Any]:
    """A JSON column as a plain query gives it: a dict on PostgreSQL, text on SQLite."""
    decoded: dict[str, Any] = json.loads(value) if isinstance(value, str) else value
    return decoded


async def _query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    import sqlalchemy as sa

    db = Database(url)
    try:
        return await db.run(lambda s: [tuple(r) for r in s.execute(sa.text(sql), params)],
                            readonly=True)
    finally:
        await db.aclose()


async def _follow(base: str, token: str, frames: list[dict[str, Any]], last_seq: int,
                  done: trio.Event) -> None:
    """Keep an agent connected, as a desk does: reconnect with the last seq seen whenever
    the connection drops (the server was killed), and collect every event in order."""
    while not done.is_set():
        try:
            async with agent_client(base, token, last_seq=last_seq) as agent:
                taken = 0
                while agent.closed is None and not done.is_set():
                    for frame in agent.frames[taken:]:
                        if "seq" in frame:
                            frames.append(frame)
                            last_seq = frame["seq"]
                    taken = len(agent.frames)
                    with trio.move_on_after(0.2):
                        await agent.changed.wait()
                for frame in agent.frames[taken:]:
                    if "seq" in frame:
                        frames.append(frame)
                        last_seq = frame["seq"]
        # The server is down or going down: a desk retries, whatever the socket said.
        except Exception:
            await trio.sleep(0.2)


async def _assign(sim: CustomerSimulator, agent: AgentClient, customer: Customer,
                  text: str) -> None:
    await sim.send_text(customer, text)
    offered = await agent.event("conversation.offered", preview=text, timeout=20)
    await agent.command("accept", conversation_id=offered["data"]["conversation_id"])
    await agent.event("conversation.assigned",
                      conversation_id=offered["data"]["conversation_id"])


async def test_kill_9_of_the_whole_group_under_load_applies_every_message_once(
    db_url: str, redis_target: RedisTarget, tmp_path: Path
) -> None:
    team_name = "team-" + secrets.token_hex(4)
    email, _ = await _seed(db_url, team_name)
    # A random moment each run; printed with any failure, to reproduce it.
    moment = random.uniform(0.15, 0.85)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    customers = [Customer(wa_id(), f"Cliente {i}") for i in range(4)]
    per_customer = 120
    async with run_standin(token="sim-token") as standin, \
            run_app(WebhookReceiver()) as receiver, \
            _subscribed(db_url, receiver, "conversation.customer_message"):
        redis = {} if db_url.startswith("sqlite") else {
            "PYTAKE_REDIS_URL": redis_target.url,
            "PYTAKE_REDIS_PREFIX": redis_target.prefix + "exactly-once:",
        }
        env = server_env(
            db_url, tmp_path,
            **redis,
            PYTAKE_SECRET_KEY=SECRET_KEY,
            PYTAKE_WHATSAPP_APP_SECRET=APP_SECRET,
            PYTAKE_WHATSAPP_ACCESS_TOKEN="sim-token",
            PYTAKE_WHATSAPP_API_BASE=str(standin.base_url),
            PYTAKE_ROUTING_DEFAULT_TEAM=team_name,
            PYTAKE_AGENT_OFFLINE_GRACE="120",
        )
        async with CustomerSimulator(base + "/webhooks/whatsapp", APP_SECRET,
                                     customers=customers, standin=standin,
                                     retry=PATIENT) as sim:
            with server_process(env, port, log, own_group=True) as first:
                await until_ready(base)
                token = await _login(base, email)
                async with agent_client(base, token) as agent:
                    for i, customer in enumerate(customers):
                        await _assign(sim, agent, customer, f"olá {i}")
                    seen = agent.last_seq
                frames: list[dict[str, Any]] = []
                acked: list[str] = []
                done = trio.Event()

                async def write(customer: Customer, name: str) -> None:
                    for n in range(per_customer):
                        acked.append(await sim.send_text(customer, f"{name} #{n}"))

                total = len(customers) * per_customer
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_follow, base, token, frames, seen, done)
                    async with trio.open_nursery() as writers:
                        for i, customer in enumerate(customers):
                            writers.start_soon(write, customer, f"c{i}")
                        with trio.fail_after(60):
                            while len(acked) < total * moment:
                                await trio.sleep(0.01)
                        # The server and its database writer child, at once.
                        os.killpg(first.pid, signal.SIGKILL)
                        first.wait(10)
                        with server_process(env, port, log, own_group=True):
                            await until_ready(base)
                            # The rest arrives; then the desk has caught up with all of it.
                            await _wait_until_all_sent(writers)
                            with trio.move_on_after(60):
                                while not set(acked) <= {f["data"].get("wamid") for f in frames
                                                         if f["type"] == "message.new"}:
                                    await trio.sleep(0.1)
                            done.set()
    missing = set(acked) - {f["data"].get("wamid") for f in frames if f["type"] == "message.new"}
    assert not missing, (len(missing), sorted(missing)[:5], len(frames))

    where = f"killed at {moment:.0%} of the load"
    assert len(acked) == total == len(set(acked)), where
    # The database: one message and one customer_message event per acknowledged message.
    ids = {w: i for i, w in await _query(
        db_url, "SELECT id, whatsapp_message_id FROM messages WHERE direction = 'in'")}
    assert set(acked) <= set(ids), where
    logged = Counter(_json(payload).get("message_id") for (payload,) in await _query(
        db_url, "SELECT payload FROM conversation_events WHERE type = 'customer_message'"))
    assert {w: logged[ids[w]] for w in acked if logged[ids[w]] != 1} == {}, where
    stored_new = Counter(_json(payload).get("wamid") for (payload,) in await _query(
        db_url, "SELECT payload FROM agent_events WHERE type = 'message.new'"))
    assert {w: stored_new[w] for w in acked if stored_new[w] != 1} == {}, where
    # Outbound webhook subscribers: no customer message twice (a replay publishes nothing).
    assert all(d.signature_valid for d in receiver.deliveries)
    events_of: dict[int, set[str | None]] = {}
    for d in receiver.deliveries:  # a retry of one event keeps its id
        if d.event["type"] == "conversation.customer_message":
            events_of.setdefault(d.event["data"]["message_id"], set()).add(d.event_id)
    assert events_of, where
    assert {m: ids for m, ids in events_of.items() if len(ids) != 1} == {}, where
    # The agent's stream: every message once, seqs only going up.
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(set(seqs)), where
    delivered = Counter(f["data"]["wamid"] for f in frames if f["type"] == "message.new")
    assert {w: n for w, n in delivered.items() if n != 1} == {}, where
    assert set(delivered) == set(acked), where


@asynccontextmanager
async def _subscribed(url: str, receiver: WebhookReceiver, *events: str) -> AsyncIterator[None]:
    """``receiver`` subscribed to ``events`` (as an admin would, before the server starts),
    and unsubscribed at the end: later tests share the database."""
    receiver.secret = new_secret()
    db = Database(url)
    try:
        subscription = await db.run(
            _insert_subscription, {"url": receiver.base_url + "/hook", "events": list(events)},
            receiver.secret, SecretBox(SECRET_KEY), SYSTEM)
        yield
        await db.run(_delete_subscription, subscription.id, SYSTEM)
    finally:
        await db.aclose()


async def _wait_until_all_sent(writers: trio.Nursery) -> None:
    with trio.fail_after(120):
        while writers.child_tasks:
            await trio.sleep(0.05)



@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "clean"])
async def test_after_a_restart_a_reconnected_agent_is_online_and_offered_work(
    db_url: str, stop: signal.Signals, tmp_path: Path
) -> None:
    team_name = "team-" + secrets.token_hex(4)
    email, team_id = await _seed(db_url, team_name)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    async with run_standin(token="sim-token") as standin:
        env = server_env(
            db_url, tmp_path,
            PYTAKE_SECRET_KEY=SECRET_KEY,
            PYTAKE_WHATSAPP_APP_SECRET=APP_SECRET,
            PYTAKE_WHATSAPP_ACCESS_TOKEN="sim-token",
            PYTAKE_WHATSAPP_API_BASE=str(standin.base_url),
            PYTAKE_ROUTING_DEFAULT_TEAM=team_name,
            PYTAKE_AGENT_OFFLINE_GRACE="60",
        )
        first_customer, second_customer = Customer(wa_id(), "Ana"), Customer(wa_id(), "Bia")
        async with CustomerSimulator(base + "/webhooks/whatsapp", APP_SECRET,
                                     customers=[first_customer, second_customer],
                                     standin=standin, retry=PATIENT) as sim:
            with server_process(env, port, log) as first:
                await until_ready(base)
                token = await _login(base, email)
                async with agent_client(base, token) as agent:
                    await agent.event("presence", status="online")
                    await _assign(sim, agent, first_customer, "primeira conversa")
                    seen = agent.last_seq
                    first.send_signal(stop)
                    assert first.wait(30) == (0 if stop is signal.SIGTERM else -signal.SIGKILL)
            with server_process(env, port, log):
                await until_ready(base)
                async with agent_client(base, token, last_seq=seen) as again:
                    async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
                        headers = {"authorization": f"Bearer {token}"}
                        stats: dict[str, Any] = {}
                        with trio.move_on_after(15):
                            while stats.get("agents_online") != 1:
                                response = await http.get(f"/api/v1/teams/{team_id}/queue",
                                                          headers=headers)
                                stats = response.json()
                                await trio.sleep(0.1)
                    assert stats.get("agents_online") == 1, stats
                    assert stats["free_slots"] == CAPACITY - 1, stats
                    await sim.send_text(second_customer, "segunda conversa")
                    offered = await again.event("conversation.offered",
                                                preview="segunda conversa", timeout=20)
                    assert offered["seq"] > seen
                    # The conversation it held before the restart is still its own.
                    assert not again.events_of("conversation.released")


async def test_sigterm_to_the_process_group_stops_cleanly_and_loses_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    team_name = "team-" + secrets.token_hex(4)
    await _seed(pg_url, team_name)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    customer = Customer(wa_id(), "Ana")
    acked: list[str] = []
    async with run_standin(token="sim-token") as standin:
        env = server_env(pg_url, tmp_path, PYTAKE_SECRET_KEY=SECRET_KEY,
                         PYTAKE_WHATSAPP_APP_SECRET=APP_SECRET,
                         PYTAKE_WHATSAPP_ACCESS_TOKEN="sim-token",
                         PYTAKE_WHATSAPP_API_BASE=str(standin.base_url),
                         PYTAKE_ROUTING_DEFAULT_TEAM=team_name)
        async with CustomerSimulator(base + "/webhooks/whatsapp", APP_SECRET,
                                     customers=[customer], standin=standin,
                                     retry=RetryPolicy(delays=())) as sim:
            with server_process(env, port, log, own_group=True) as server:
                await until_ready(base)
                for n in range(20):
                    acked.append(await sim.send_text(customer, f"mensagem {n}"))
                # What systemd's default KillMode and a container stop do: the whole group.
                os.killpg(server.pid, signal.SIGTERM)
                assert await trio.to_thread.run_sync(server.wait, 30) == 0
    text = log.read_text(errors="replace")
    assert "starting another" not in text and "Traceback" not in text, text[-6000:]
    rows = await _query(pg_url, "SELECT count(*) FROM messages WHERE whatsapp_message_id "
                                "= ANY(:w)", w=acked)
    assert rows == [(len(acked),)]
