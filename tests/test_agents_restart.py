"""A `pytake serve` process killed with SIGKILL mid-conversation and started again: the agent
reconnects with its last seq and gets what it missed, still owns the conversation, and its
reply reaches the customer (real PostgreSQL, Redis, HTTP and WebSocket)."""

from __future__ import annotations

import secrets
import signal
from pathlib import Path

import httpx
import pytest
import trio

from pytake.standins.whatsapp import Customer, CustomerSimulator, run_standin
from pytake.standins.whatsapp._customers import RetryPolicy

from .agent_support import PASSWORD, agent_client, seed_agent
from .process_support import free_port, server_env, server_process, until_ready
from .storage_fixtures import RedisTarget
from .webhook_support import APP_SECRET, wa_id

SECRET_KEY = "k" * 48  # fixed: tokens stay valid across the restart


# The killed server drops the agent's TCP connection; trio-websocket's client then never
# closes its socket object (its reader stops at EOF without closing the stream).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_the_server_killed_mid_conversation_comes_back_where_it_was(
    pg_url: str, redis_target: RedisTarget, tmp_path: Path
) -> None:
    team_name = "team-" + secrets.token_hex(4)
    email, _ = await seed_agent(pg_url, team_name, SECRET_KEY)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    async with run_standin(token="sim-token") as standin:
        env = server_env(
            pg_url, tmp_path,
            PYTAKE_REDIS_URL=redis_target.url,
            PYTAKE_REDIS_PREFIX=redis_target.prefix + "restart:",
            PYTAKE_SECRET_KEY=SECRET_KEY,
            PYTAKE_WHATSAPP_APP_SECRET=APP_SECRET,
            PYTAKE_WHATSAPP_ACCESS_TOKEN="sim-token",
            PYTAKE_WHATSAPP_API_BASE=str(standin.base_url),
            PYTAKE_ROUTING_DEFAULT_TEAM=team_name,
            PYTAKE_AGENT_OFFLINE_GRACE="60",
        )
        customer = Customer(wa_id(), "Ana")
        # Meta retries an unanswered webhook for hours; a few seconds of down time suffice.
        patient = RetryPolicy(delays=(0.25,) * 200)
        async with CustomerSimulator(base + "/webhooks/whatsapp", APP_SECRET,
                                     customers=[customer], standin=standin,
                                     retry=patient) as sim:
            with server_process(env, port, log) as first:
                await until_ready(base)
                async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
                    token = (await http.post("/api/v1/auth/login", json={
                        "email": email, "password": PASSWORD})).json()["access_token"]
                async with agent_client(base, token) as agent:
                    await sim.send_text(customer, "meu boleto")
                    offered = await agent.event("conversation.offered")
                    conversation_id = offered["data"]["conversation_id"]
                    await agent.command("accept", conversation_id=conversation_id)
                    await agent.event("conversation.assigned")
                    await sim.send_text(customer, "venceu ontem")
                    await agent.event("message.new", text="venceu ontem")
                    seen = agent.last_seq
                    first.send_signal(signal.SIGKILL)
                    first.wait(10)
            # While the server is down the customer writes; Meta would retry the webhook
            # until it is acknowledged, and so does the simulator.
            async with trio.open_nursery() as nursery:
                nursery.start_soon(sim.send_text, customer, "alô? ainda aí?")
                with server_process(env, port, log):
                    await until_ready(base)
                    async with agent_client(base, token, last_seq=seen) as again:
                        missed = await again.event("message.new", text="alô? ainda aí?",
                                                   timeout=30)
                        assert missed["seq"] > seen
                        assert all(e["seq"] > seen for e in again.events)
                        # Still its conversation: not offered again, not taken away.
                        assert not again.events_of("conversation.offered")
                        assert not again.events_of("conversation.released")
                        await again.command("send", conversation_id=conversation_id,
                                            content={"type": "text", "text": "Estou aqui!"})
                        with trio.fail_after(15):
                            while not any(s.body.get("text", {}).get("body") == "Estou aqui!"
                                          for s in standin.sent):
                                await trio.sleep(0.05)
    assert "Traceback" not in log.read_text(errors="replace")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_clean_shutdown_closes_agent_sockets_with_going_away(
    pg_url: str, tmp_path: Path
) -> None:
    team_name = "team-" + secrets.token_hex(4)
    email, _ = await seed_agent(pg_url, team_name, SECRET_KEY)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(pg_url, tmp_path, PYTAKE_SECRET_KEY=SECRET_KEY)
    with server_process(env, port, tmp_path / "server.log") as server:
        await until_ready(base)
        async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
            token = (await http.post("/api/v1/auth/login", json={
                "email": email, "password": PASSWORD})).json()["access_token"]
        async with agent_client(base, token) as agent:
            await agent.event("presence", status="online")
            server.send_signal(signal.SIGTERM)
            with trio.fail_after(10):
                while agent.closed is None:
                    await agent.changed.wait()
            assert agent.closed[0] == 1001 and "reconnect" in agent.closed[1]
        assert server.wait(20) == 0
