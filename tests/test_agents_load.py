"""Capacity, priority and stickiness with 100 concurrent conversations and 10 agents, over
real sockets: agents accept every offer; nobody ever holds more than its capacity; freed
capacity pulls the oldest (highest priority first) waiting conversation; a returning customer
goes back to its last agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import trio

from pytake.contracts import GetPosition
from pytake.store import UserRole

from .agent_support import PASSWORD, AgentClient, Desk, running_desk

CAPACITY = 3


@attrs.define
class _Progress:
    """How far `_accept_everything` has got with one agent's frames."""

    seen: int = 0  # frames handled
    accepts: int = 0  # accept commands sent
    busy: bool = False  # one is waiting for its answer


async def _accept_everything(
    agent: AgentClient,
    held: dict[str, set[int]],
    name: str,
    peak: dict[str, int],
    progress: _Progress,
) -> None:
    """Accept each offer; track what the agent holds from its own event stream."""
    while True:
        while progress.seen < len(agent.frames):
            frame = agent.frames[progress.seen]
            progress.seen += 1
            data = frame.get("data", {})
            if frame.get("type") == "conversation.offered":
                progress.accepts += 1
                progress.busy = True
                reply = await agent.send("accept", conversation_id=data["conversation_id"])
                progress.busy = False
                assert reply["type"] == "ack" or "not offered" in reply["reason"], reply
            elif frame.get("type") == "conversation.assigned":
                held[name].add(data["conversation_id"])
                peak[name] = max(peak[name], len(held[name]))
            elif frame.get("type") in ("conversation.resolved", "conversation.transferred",
                                       "conversation.released"):
                held[name].discard(data["conversation_id"])
        await agent.changed.wait()


async def _wait(check: Any, timeout: float = 60.0) -> None:
    with trio.fail_after(timeout):
        while not check():
            await trio.sleep(0.02)


async def _quiet(desk: Desk, agents: list[tuple[AgentClient, _Progress]]) -> None:
    """Until nothing under way could still change what an agent holds. A round: no accept
    waits for its answer; the server is idle (so every event it sends for what happened so
    far is queued for its connection); each connection answers a ping, queued behind those
    events, and its acceptor handles every frame before the pong. A round in which no accept
    was sent ends it; otherwise another round, for what those accepts caused."""

    async def catch_up(client: AgentClient, progress: _Progress) -> None:
        pong = client.frames.index(await client.send("ping"))
        await _wait(lambda: progress.seen > pong and not progress.busy)

    with trio.fail_after(60):
        while True:
            await _wait(lambda: not any(p.busy for _, p in agents))
            accepts = sum(p.accepts for _, p in agents)
            await desk.edge.settle()
            async with trio.open_nursery() as nursery:
                for client, progress in agents:
                    nursery.start_soon(catch_up, client, progress)
            if sum(p.accepts for _, p in agents) == accepts:
                return


async def test_capacity_order_and_stickiness_with_100_conversations_and_10_agents(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_desk(
        pg_url, tmp_path, agents=10, capacity=CAPACITY,
        team_settings={"sticky_hours": 1, "reservation_timeout": 30},
        PYTAKE_AGENT_OFFLINE_GRACE="30",
    ) as desk, trio.open_nursery() as nursery:
        clients: dict[str, AgentClient] = {}
        held: dict[str, set[int]] = {email: set() for email in desk.agents}
        peak: dict[str, int] = dict.fromkeys(desk.agents, 0)
        progress = {email: _Progress() for email in desk.agents}
        for email in desk.agents:
            clients[email] = await nursery.start(_connected, desk, email)
            nursery.start_soon(
                _accept_everything, clients[email], held, email, peak, progress[email]
            )

        customers = [desk.customer(f"C{i}") for i in range(100)]
        async with trio.open_nursery() as writers:
            for customer in customers:
                writers.start_soon(desk.sim.send_text, customer, "oi")

        def assigned() -> int:
            return sum(len(h) for h in held.values())

        await _wait(lambda: assigned() == 10 * CAPACITY)
        # Not a pause hoping anything late shows up: once nothing is under way, nothing more
        # can be assigned.
        await _quiet(desk, [(clients[email], progress[email]) for email in desk.agents])
        assert assigned() == 10 * CAPACITY
        assert max(peak.values()) == CAPACITY  # never more than its capacity, at any time
        rows = await desk.edge.query(
            "SELECT owner_state, count(*) FROM conversations WHERE team_id = :t "
            "GROUP BY owner_state", t=desk.team_id)
        assert dict((r[0], r[1]) for r in rows) == {"assigned": 30, "queued": 70}

        # Resolving frees capacity at once, and it pulls the conversation first in line.
        waiting = await _line(desk)
        assert len(waiting) == 70
        first_email = next(iter(desk.agents))
        await clients[first_email].command("resolve",
                                           conversation_id=sorted(held[first_email])[0])
        await _wait(lambda: waiting[0] in held[first_email], timeout=10)

        # Priority: a supervisor's high-priority hand-off jumps the line.
        _, supervisor = await _login_supervisor(desk)
        waiting = await _line(desk)
        vip = waiting[-1]
        moved = await desk.edge.client.post(
            f"/api/v1/conversations/{vip}/transfer", headers=supervisor,
            json={"team": desk.team_id, "note": "VIP"})
        assert moved.status_code == 409  # already in this team's queue: not a transfer
        bumped = await desk.edge.client.post(
            f"/api/v1/conversations/{vip}/priority", headers=supervisor, json={"priority": 9})
        assert bumped.status_code == 200, bumped.text
        second_email = list(desk.agents)[1]
        await clients[second_email].command("resolve",
                                            conversation_id=sorted(held[second_email])[0])
        await _wait(lambda: any(vip in h for h in held.values()), timeout=10)

        nursery.cancel_scope.cancel()


async def test_a_returning_customer_is_offered_to_its_last_agent_first(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_desk(pg_url, tmp_path, agents=2, capacity=1,
                            team_settings={"sticky_hours": 1}) as desk:
        first, second = desk.agents
        async with desk.connect(first) as a, desk.connect(second) as b:
            await a.event("presence", status="online")
            await b.event("presence", status="online")
            customer = desk.customer()
            await desk.sim.send_text(customer, "oi")
            while not (a.events_of("conversation.offered") or b.events_of("conversation.offered")):
                await a.changed.wait() if not b.frames else await trio.sleep(0.01)
            served_by, other = (a, b) if a.events_of("conversation.offered") else (b, a)
            conversation_id = served_by.events_of("conversation.offered")[0]["data"][
                "conversation_id"]
            await served_by.command("accept", conversation_id=conversation_id)
            await served_by.command("resolve", conversation_id=conversation_id)
            # Both are free now, and the other agent has been idle longer: without
            # stickiness least-busy would pick it.
            await desk.sim.send_text(customer, "voltei")
            again = await served_by.event("conversation.offered", preview="voltei")
            assert again["data"]["customer"].lstrip("+") == customer.wa_id
            assert not other.events_of("conversation.offered")


async def _line(desk: Desk) -> list[int]:
    """The team's waiting conversations, first in line first (as the queue ranks them)."""
    rows = await desk.edge.query(
        "SELECT id, business_phone_number_id, customer_id FROM conversations "
        "WHERE team_id = :t AND owner_state = 'queued'", t=desk.team_id)
    ranked = []
    for conversation_id, number, customer_id in rows:
        position = await desk.edge.engine.router.ask(
            "queue", str(desk.team_id), GetPosition(f"{number}:{customer_id}"))
        ranked.append((position.position, conversation_id))
    return [c for _, c in sorted(ranked)]


async def _login_supervisor(desk: Desk) -> tuple[int, dict[str, str]]:
    import secrets

    email = f"sup-{secrets.token_hex(3)}@example.com"
    info = await desk.edge.engine.identity.create_user(email, "Sup", UserRole.SUPERVISOR,
                                                       PASSWORD)
    return info.id, {"Authorization": f"Bearer {await desk.token(email)}"}


async def _connected(desk: Desk, email: str,
                     task_status: trio.TaskStatus[AgentClient] = trio.TASK_STATUS_IGNORED
                     ) -> None:
    async with desk.connect(email) as client:
        await client.event("presence", status="online")
        task_status.started(client)
        await trio.sleep_forever()
