"""The routing actors together, on real storage, under trio's MockClock: reservation timeouts,
the offline grace, bursts and timers fire when virtual time says so, and not before.

The clock does not run by itself (rate 0, no autojump): tests move it with ``clock.jump``,
and wait for the actors (and the database threads they use) in real time with ``until``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import sqlalchemy as sa
import trio
import trio.testing

from pytake.actors import Actor, ActorKind, Timers
from pytake.agents import Connection
from pytake.config import load_settings
from pytake.contracts import (
    ConnectionsChanged,
    GetAgent,
    GetConversation,
    GetQueueStats,
    InboundReceived,
)
from pytake.engine import Engine
from pytake.store import Conversation, Customer, Team, TeamMember, UserRole

PHONE = "420000000000777"


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait in real time (the virtual clock stands still) until ``check()`` holds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await trio.to_thread.run_sync(time.sleep, 0.005)


@attrs.define
class World:
    engine: Engine
    clock: trio.testing.MockClock
    team: str
    agents: list[str]
    connections: dict[str, Connection] = attrs.field(factory=dict)

    def connect(self, agent: str) -> Connection:
        conn = self.engine.sockets.open(agent)
        conn.go_live(0)
        self.connections[agent] = conn
        self.engine.router.tell_nowait("agent", agent, ConnectionsChanged())
        return conn

    def disconnect(self, agent: str) -> None:
        self.engine.sockets.close(self.connections.pop(agent))
        self.engine.router.tell_nowait("agent", agent, ConnectionsChanged())

    def frames(self, conn: Connection) -> list[dict[str, Any]]:
        got = getattr(conn, "_seen", [])
        while True:
            try:
                got.append(conn.outgoing.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                break
        conn._seen = got  # type: ignore[attr-defined]
        return list(got)

    def events(self, agent: str, type: str) -> list[dict[str, Any]]:
        return [f for f in self.frames(self.connections[agent]) if f.get("type") == type]

    async def queue(self) -> Any:
        return await self.engine.router.ask("queue", self.team, GetQueueStats())

    async def customer_writes(self, text: str = "oi", customer: int | None = None) -> str:
        """A stored customer message reaching its ConversationActor; returns the actor key."""

        def create(session: Any) -> tuple[int, int]:
            wa = "55" + str(secrets.randbelow(10**11)).zfill(11)
            row = Customer(business_phone_number_id=PHONE, wa_id=wa, phone="+" + wa)
            session.add(row)
            session.flush()
            conv = Conversation(customer_id=row.id, business_phone_number_id=PHONE)
            session.add(conv)
            session.flush()
            return int(row.id), int(conv.id)

        customer_id, conversation_id = await self.engine.db.run(create)
        key = f"{PHONE}:{customer_id}"
        await self.inbound(key, customer_id, conversation_id, text)
        return key

    async def inbound(self, key: str, customer_id: int, conversation_id: int, text: str) -> None:
        message = InboundReceived(
            message_id=secrets.randbelow(10**9), wamid="wamid." + secrets.token_hex(8),
            type="text", timestamp=int(self.engine.timers.now()),
            conversation_id=conversation_id, customer_id=customer_id, text=text,
            phone_number_id=PHONE, reply_to="5511999999999",
        )
        await self.engine.router.tell("conversation", key, message)

    async def owner(self, key: str) -> str:
        view = await self.engine.router.ask("conversation", key, GetConversation())
        return str(view.owner)


def _idle(engine: Engine) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return engine.router.idle()

    return check


@asynccontextmanager
async def world(url: str, clock: trio.testing.MockClock, *, agents: int = 2,
                team_settings: dict[str, Any] | None = None, **env: str) -> AsyncIterator[World]:
    team_name = "t-" + secrets.token_hex(4)
    settings = load_settings(environ={
        "PYTAKE_DATABASE_URL": url, "PYTAKE_ROUTING_DEFAULT_TEAM": team_name, **env,
    })
    engine = Engine(settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        users = [
            (await engine.identity.create_user(f"a{i}-{secrets.token_hex(3)}@x.org", f"A{i}",
                                               UserRole.AGENT, "correct horse battery")).id
            for i in range(agents)
        ]

        def seed(session: Any) -> int:
            team = Team(name=team_name, routing_strategy="round_robin",
                        settings=team_settings or {})
            session.add(team)
            session.flush()
            for user in users:
                session.add(TeamMember(team_id=team.id, user_id=user, max_concurrent=2))
            return int(team.id)

        team = str(await engine.db.run(seed))
        try:
            yield World(engine, clock, team, [str(u) for u in users])
        finally:
            # drain() polls in trio time, which stands still here: go idle in real time first.
            await until(_idle(engine))
            await engine.aclose()
            nursery.cancel_scope.cancel()


async def test_an_offer_expires_at_its_reservation_timeout_and_moves_on(
    sqlite_url: str, mock_clock: trio.testing.MockClock
) -> None:
    async with world(sqlite_url, mock_clock, team_settings={"reservation_timeout": 30}) as w:
        first, second = w.agents
        w.connect(first)
        w.connect(second)

        async def both_online() -> bool:
            return bool((await w.queue()).agents_online == 2)

        await until(both_online)
        key = await w.customer_writes()

        async def offered_to_someone() -> bool:
            return bool(w.events(first, "conversation.offered")
                        or w.events(second, "conversation.offered"))

        await until(offered_to_someone)
        holder, other = (first, second) if w.events(first, "conversation.offered") else (
            second, first)
        assert await w.owner(key) == "offered"

        mock_clock.jump(29)
        await w.engine.router.ask("queue", w.team, GetQueueStats())  # let any timer run
        await trio.testing.wait_all_tasks_blocked()
        assert not w.events(holder, "conversation.offer_withdrawn")
        assert not w.events(other, "conversation.offered")

        mock_clock.jump(2)

        async def moved() -> bool:
            return bool(w.events(other, "conversation.offered"))

        await until(moved)
        (withdrawn,) = w.events(holder, "conversation.offer_withdrawn")
        assert withdrawn["data"]["reason"] == "expired"
        assert await w.owner(key) == "offered"


async def test_an_agent_stays_online_through_its_offline_grace(
    sqlite_url: str, mock_clock: trio.testing.MockClock
) -> None:
    async with world(sqlite_url, mock_clock, agents=1, PYTAKE_AGENT_OFFLINE_GRACE="10") as w:
        (agent,) = w.agents
        w.connect(agent)

        def status_is(status: str, connections: int | None = None
                      ) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                view = await w.engine.router.ask("agent", agent, GetAgent())
                return bool(view.status == status
                            and connections in (None, view.connections))
            return check

        await until(status_is("online"))
        w.disconnect(agent)
        await until(status_is("online", connections=0))
        mock_clock.jump(9)
        await trio.testing.wait_all_tasks_blocked()
        view = await w.engine.router.ask("agent", agent, GetAgent())
        assert view.status == "online" and view.connections == 0
        # Back before the grace ends: nothing happened.
        w.connect(agent)
        mock_clock.jump(5)
        await trio.testing.wait_all_tasks_blocked()
        assert (await w.engine.router.ask("agent", agent, GetAgent())).status == "online"
        # Gone for longer than the grace: offline, and the queue knows.
        w.disconnect(agent)
        await until(status_is("online", connections=0))
        mock_clock.jump(11)
        await until(status_is("offline"))

        async def queue_sees_it() -> bool:
            return bool((await w.queue()).agents_online == 0)

        await until(queue_sees_it)


async def test_a_burst_reaches_the_bot_as_one_turn_after_the_gap(
    sqlite_url: str, mock_clock: trio.testing.MockClock
) -> None:
    async with world(sqlite_url, mock_clock, PYTAKE_ROUTING_BURST_GAP="5") as w:
        key = await w.customer_writes("oi")
        customer_id = int(key.split(":")[1])
        view = await w.engine.router.ask("conversation", key, GetConversation())
        for text in ("tudo bem?", "preciso de ajuda"):
            mock_clock.jump(2)
            await w.inbound(key, customer_id, view.conversation_id, text)
        await w.engine.router.ask("conversation", key, GetConversation())
        mock_clock.jump(4)  # 4 s after the last message: still inside the gap
        await trio.testing.wait_all_tasks_blocked()
        assert await w.owner(key) == "flow"
        mock_clock.jump(2)

        async def handed_off() -> bool:
            return await w.owner(key) == "queued"

        await until(handed_off)
        kinds = [r[0] for r in await w.engine.db.run(lambda s: list(s.execute(sa.text(
            "SELECT type FROM conversation_events WHERE conversation_id = :c ORDER BY seq"),
            {"c": view.conversation_id})))]
        assert kinds.count("handoff") == 1 and kinds.count("customer_message") == 3


@attrs.define
class _Recorder:
    seen: list[tuple[float, str]] = attrs.field(factory=list)


@attrs.define
class _AlarmServices:
    timers: Timers | None = None


class _Alarm(Actor[_Recorder]):
    kind = "alarm"
    state_type = _Recorder
    services: _AlarmServices

    async def receive(self, message: Any) -> Any:
        timers = self.services.timers
        assert timers is not None
        if isinstance(message, tuple):
            name, at, payload = message
            timers.schedule(self.kind, self.id, name, at, payload)
        elif message == "cancel":
            timers.cancel(self.kind, self.id, "a")
        elif message == "get":
            return list(self.state.seen)
        else:
            self.state.seen.append((round(timers.now() - _ORIGIN[0]), str(message)))
        return None


_ORIGIN: list[float] = []


async def test_timers_fire_in_order_replace_and_cancel(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from pytake.actors import open_router

    services = _AlarmServices()
    async with open_router([ActorKind(_Alarm, services=services)]) as router:
        timers = services.timers = Timers(router)
        async with trio.open_nursery() as nursery:
            await nursery.start(timers.run)
            now = timers.now()
            _ORIGIN[:] = [now]
            ref = router.ref("alarm", "x")
            await ref.tell(("a", now + 10, "a-first"))
            await ref.tell(("b", now + 5, "b"))
            await ref.tell(("a", now + 20, "a-replaced"))  # same name: replaces the first
            await ref.tell(("c", now + 30, "c"))
            await trio.sleep(25)
            await ref.tell("cancel")  # nothing named a is left: a no-op
            await trio.sleep(10)
            assert await ref.ask("get") == [(5, "b"), (20, "a-replaced"), (30, "c")]
            assert timers.pending() == 0
            nursery.cancel_scope.cancel()



def test_a_queue_rebuilt_from_rows_keeps_what_still_applies() -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from pytake.queues import rebuilt
    from pytake.routing import AgentStatus, QueueState

    queue = QueueState(team="1")
    queue, _ = queue.upsert_agent("7", 0.0, status=AgentStatus.ONLINE, capacity=3)
    queue, _ = queue.enqueue("pn:1", 10.0, priority=2, skills=["billing"])
    queue, _ = queue.enqueue("pn:gone", 11.0)
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def row(customer: int, owner: str, agent: int | None = None) -> SimpleNamespace:
        return SimpleNamespace(business_phone_number_id="pn", customer_id=customer,
                               owner_state=owner, assigned_agent_id=agent, priority=0,
                               updated_at=at)

    # The rows say: 1 still waits, 2 was assigned to 7 (the snapshot missed it), 3 waits
    # (the snapshot missed its arrival); "gone" left the queue.
    state = rebuilt(queue, [row(1, "offered"), row(2, "assigned", 7), row(3, "queued")])
    assert set(state.waiting) == {"pn:1", "pn:3"}
    assert state.waiting["pn:1"].skills == ("billing",)  # what the snapshot knew is kept
    assert state.waiting["pn:3"].enqueued_at == at.timestamp()
    assert state.assigned["pn:2"].agent == "7"
    assert state.agents["7"].active == 1 and state.offers == {}


def test_re_armed_timers_do_not_pile_up() -> None:
    from pytake.actors import Router

    timers = Timers(Router.__new__(Router))
    for n in range(10_000):
        timers.schedule("conversation", "c1", "flow", 1e9 + n, ("tick", n))
    assert timers.pending() == 1
    assert len(timers._heap) <= 2 * timers.pending() + 1025
