"""End to end over real sockets: a customer (signed webhooks) → the team's queue → an agent
on /ws/agent (trio-websocket) → the agent's reply at the Cloud API stand-in."""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from pytake.conversations import AutomaticReplies
from pytake.identity import IdentityService
from pytake.standins.whatsapp import Customer, new_wamid

from .agent_support import PASSWORD, AgentClient, CommandRejected, Desk, running_desk


async def test_customer_reaches_an_agent_and_the_reply_reaches_the_customer(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_desk(pg_url, tmp_path, agents=1) as desk:
        (email,) = desk.agents
        async with desk.connect(email) as agent:
            await agent.event("presence", status="online")
            customer = desk.customer()
            await desk.sim.send_text(customer, "preciso de ajuda")
            offered = await agent.event("conversation.offered")
            conversation_id = offered["data"]["conversation_id"]
            assert offered["data"]["preview"] == "preciso de ajuda"
            await agent.command("accept", conversation_id=conversation_id)
            assigned = await agent.event("conversation.assigned",
                                         conversation_id=conversation_id)
            assert assigned["data"]["agent"] == str(desk.agents[email])
            # The team's numbers follow (at most once a second).
            stats = await agent.event("queue.stats", team=str(desk.team_id))
            assert stats["data"]["agents_online"] == 1

            await desk.sim.send_text(customer, "meu pedido atrasou")
            new = await agent.event("message.new", text="meu pedido atrasou")
            assert new["data"]["conversation_id"] == conversation_id

            data = await agent.command("send", conversation_id=conversation_id,
                                       content={"type": "text", "text": "Vou verificar!"})
            assert data["message_id"] > 0
            await desk.wait_sent_to(customer, text="Vou verificar!")
            # A send retried with its key (its answer was lost) is not sent again.
            keyed = {"type": "text", "text": "Só uma vez"}
            first = await agent.command("send", conversation_id=conversation_id,
                                        content=keyed, idempotency_key="k-1")
            again = await agent.command("send", conversation_id=conversation_id,
                                        content=keyed, idempotency_key="k-1")
            assert again == {**first, "repeated": True}
            await desk.wait_sent_to(customer, text="Só uma vez")
            with pytest.raises(CommandRejected, match="idempotency_key must be a string"):
                await agent.command("send", conversation_id=conversation_id,
                                    content=keyed, idempotency_key="")
            # The customer's phone reports delivery; the agent sees the ticks move.
            status = await agent.event("message.status", message_id=data["message_id"])
            assert status["data"]["status"] in ("sent", "delivered", "read")

            await agent.command("resolve", conversation_id=conversation_id)
            await agent.event("conversation.resolved", conversation_id=conversation_id)
            rows = await desk.edge.query(
                "SELECT status, owner_state, assigned_agent_id FROM conversations WHERE id = :id",
                id=conversation_id,
            )
            assert [tuple(r) for r in rows] == [("resolved", "resolved", None)]
            kinds = [r[0] for r in await desk.edge.query(
                "SELECT type FROM conversation_events WHERE conversation_id = :id ORDER BY seq",
                id=conversation_id,
            )]
            assert kinds[:3] == ["customer_message", "handoff", "offer"]
            assert {"accept", "agent_message", "resolve"} <= set(kinds)
            assert kinds.count("agent_message") == 2  # the repeated send recorded nothing
            assert len([s for s in desk.sent_to(customer)
                        if s.body.get("text", {}).get("body") == "Só uma vez"]) == 1

# trio-websocket's client never closes its TCP socket after a close the server started (its
# reader stops at EOF without closing the stream), so the socket object is collected unclosed.
SERVER_CLOSES = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


async def _assigned(desk: Desk, agent: AgentClient, customer: Customer, text: str) -> int:
    """The customer writes; ``agent`` is offered the conversation and accepts it."""
    await desk.sim.send_text(customer, text)
    offered = await agent.event("conversation.offered", preview=text)
    conversation_id: int = offered["data"]["conversation_id"]
    await agent.command("accept", conversation_id=conversation_id)
    await agent.event("conversation.assigned", conversation_id=conversation_id)
    return conversation_id


async def test_a_reconnecting_agent_gets_what_it_missed_in_order(
    pg_url: str, tmp_path: Path
) -> None:
    # A blip shorter than the offline grace: the agent keeps its conversation.
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_AGENT_OFFLINE_GRACE="30") as desk:
        (email,) = desk.agents
        customer = desk.customer()
        async with desk.connect(email) as agent:
            conversation_id = await _assigned(desk, agent, customer, "oi")
            seen = agent.last_seq
        # Cut: the customer keeps writing while the agent is away.
        for text in ("primeira", "segunda", "terceira"):
            await desk.sim.send_text(customer, text)
        await desk.edge.settle()
        async with desk.connect(email, last_seq=seen) as again:
            await again.event("message.new", text="terceira")
            replayed = again.events
            seqs = [e["seq"] for e in replayed]
            assert seqs == list(range(seen + 1, seen + 1 + len(seqs)))  # no gap, no repeat
            texts = [e["data"]["text"] for e in replayed if e["type"] == "message.new"]
            assert texts == ["primeira", "segunda", "terceira"]
            # Still the owner: it can answer.
            await again.command("send", conversation_id=conversation_id,
                                content={"type": "text", "text": "voltei"})
            await desk.wait_sent_to(customer, text="voltei")


async def test_an_offer_not_accepted_in_time_goes_to_the_next_agent(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_desk(pg_url, tmp_path, agents=2,
                            team_settings={"reservation_timeout": 1.0}) as desk:
        first_email, second_email = desk.agents
        async with desk.connect(first_email) as first, desk.connect(second_email) as second:
            await first.event("presence", status="online")
            await second.event("presence", status="online")
            await desk.sim.send_text(desk.customer(), "alguém?")
            with trio.fail_after(10):
                while not (first.events_of("conversation.offered")
                           or second.events_of("conversation.offered")):
                    await trio.sleep(0.01)
            slow, fast = (first, second) if first.events_of("conversation.offered") else (
                second, first)
            offered = slow.events_of("conversation.offered")[0]
            conversation_id = offered["data"]["conversation_id"]
            withdrawn = await slow.event("conversation.offer_withdrawn",
                                         conversation_id=conversation_id)
            assert withdrawn["data"]["reason"] == "expired"
            await fast.event("conversation.offered", conversation_id=conversation_id)
            late = await slow.send("accept", conversation_id=conversation_id)
            assert late["type"] == "rejected" and "not offered to you" in late["reason"]
            await fast.command("accept", conversation_id=conversation_id)
            await fast.event("conversation.assigned", conversation_id=conversation_id)


async def test_no_bot_reply_once_an_agent_owns_the_conversation(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_desk(pg_url, tmp_path, agents=1) as desk:
        (email,) = desk.agents
        customer = desk.customer()
        async with desk.connect(email) as agent:
            await _assigned(desk, agent, customer, "olá")
            outgoing = "SELECT count(*) FROM outbox WHERE recipient = :r"
            before = await desk.edge.query(outgoing, r=customer.wa_id)
            poll = {"from": customer.wa_id, "id": new_wamid(), "timestamp": str(int(time.time())),
                    "type": "unsupported", "unsupported": {"type": "poll"}}
            await desk.sim.send_message(customer, poll)
            await agent.event("message.new", type="unsupported")
            await desk.edge.settle()
            # Settled: whatever the actors decided to send is in the outbox by now (it is
            # stored before it is sent), so a wrong automatic reply would be counted here.
            assert await desk.edge.query(outgoing, r=customer.wa_id) == before


async def test_the_bot_answers_while_it_owns_the_conversation(
    pg_url: str, tmp_path: Path
) -> None:
    # No default team: the bot keeps the conversation and answers an unreadable message.
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_ROUTING_DEFAULT_TEAM="") as desk:
        customer = desk.customer()
        poll = {"from": customer.wa_id, "id": new_wamid(), "timestamp": str(int(time.time())),
                "type": "unsupported", "unsupported": {"type": "poll"}}
        await desk.sim.send_message(customer, poll)
        (reply,) = await desk.wait_sent_to(customer)
        assert reply.body["text"]["body"] == AutomaticReplies().unsupported


@SERVER_CLOSES
async def test_the_socket_refuses_missing_wrong_and_expired_tokens(
    pg_url: str, tmp_path: Path
) -> None:
    secret = "e" * 48
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_SECRET_KEY=secret) as desk:
        (email,) = desk.agents
        base = desk.base_url.replace("http://", "ws://") + "/ws/agent"
        # Signed an hour ago with a minute's lifetime: expired, without waiting for it.
        past = IdentityService(desk.edge.engine.db, secret, access_ttl=60,
                               clock=lambda: time.time() - 3600)
        expired = (await past.authenticate(email, PASSWORD)).access_token
        for query, code, reason in (
            ("", 4401, "missing token"),
            ("?token=not-a-jwt", 4401, "invalid_token"),
            (f"?token={expired}", 4401, "token_expired"),
            ("?token={fresh}&last_seq=-1", 4400, "last_seq"),
        ):
            query = query.replace("{fresh}", await desk.token(email))
            async with open_websocket_url(base + query) as ws:
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.get_message()
            assert closed.value.reason.code == code, query
            assert reason in (closed.value.reason.reason or ""), query


@SERVER_CLOSES
async def test_a_client_that_does_not_keep_up_is_cut_and_resumes(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_AGENT_SEND_QUEUE="8") as desk:
        (email,) = desk.agents
        agent_id = str(desk.agents[email])
        async with desk.connect(email) as agent:
            await agent.event("presence", status="online")
            # More events at once than the connection's queue holds: the connection is cut
            # rather than the actor (or anyone else) waiting for it.
            for n in range(50):
                desk.edge.engine.sockets.push(agent_id, {"seq": 10_000 + n, "type": "test",
                                                         "data": {}, "at": 0})
            with trio.fail_after(5):
                while agent.closed is None:
                    await agent.changed.wait()
            assert agent.closed[0] == 4429 and "reconnect" in agent.closed[1]
        async with desk.connect(email, last_seq=0) as again:
            await again.event("presence", status="online")


async def test_outside_business_hours_the_customer_is_told_and_waits(
    pg_url: str, tmp_path: Path
) -> None:
    today = datetime.datetime.now(datetime.UTC).date()
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    hours = {"weekly": {d: [["00:00", "24:00"]] for d in days},
             "holidays": [today.isoformat(), (today - datetime.timedelta(days=1)).isoformat()]}
    async with running_desk(pg_url, tmp_path, agents=1, team_settings={
        "after_hours": {"message": "Estamos fechados hoje; respondemos amanhã."}},
    ) as desk:
        await desk.edge.engine.db.run(_set_hours, desk.team_id, hours)
        customer = desk.customer()
        await desk.sim.send_text(customer, "tem alguém?")
        (closed,) = await desk.wait_sent_to(customer, text="Estamos fechados hoje; respondemos "
                                                           "amanhã.")
        assert closed.body["type"] == "text"
        rows = await desk.edge.query(
            "SELECT owner_state FROM conversations WHERE team_id = :t", t=desk.team_id)
        assert [r[0] for r in rows] == ["queued"]  # it waits for the team to open


async def test_a_waiting_customer_is_told_its_place_in_line(pg_url: str, tmp_path: Path) -> None:
    async with running_desk(pg_url, tmp_path, agents=1) as desk:  # nobody connected
        customer = desk.customer()
        await desk.sim.send_text(customer, "oi")
        expected = AutomaticReplies().queue_position_unknown_wait.format(position=1)
        await desk.wait_sent_to(customer, text=expected)


async def test_a_place_in_line_told_again_is_not_sent_twice(
    pg_url: str, tmp_path: Path
) -> None:
    """A queue rebuilt after a crash tells every waiting conversation its place again: the
    customer hears each place once (the notices are keyed by stint and place)."""
    from pytake.contracts import QueueInfo, conversation_address

    async with running_desk(pg_url, tmp_path, agents=1) as desk:  # nobody connected
        customer = desk.customer()
        await desk.sim.send_text(customer, "oi")
        first = AutomaticReplies().queue_position_unknown_wait.format(position=1)
        await desk.wait_sent_to(customer, text=first)
        rows = await desk.edge.query(
            "SELECT c.business_phone_number_id, c.customer_id, t.name FROM conversations c "
            "JOIN teams t ON t.id = c.team_id WHERE c.team_id = :t", t=desk.team_id)
        ((number, customer_id, team),) = rows
        address = conversation_address(number, customer_id)
        router = desk.edge.engine.router
        await router.tell("conversation", address, QueueInfo(team, 1, None))
        await router.tell("conversation", address, QueueInfo(team, 2, None))
        second = AutomaticReplies().queue_position_unknown_wait.format(position=2)
        await desk.wait_sent_to(customer, text=second)  # told after the repeated first
        assert len(await desk.wait_sent_to(customer, text=first)) == 1


def _set_hours(session: Any, team_id: int, hours: dict[str, Any]) -> None:
    from pytake.store import Team

    team = session.get(Team, team_id)
    team.business_hours = hours
