"""A running PyTake with a team, agents and the Cloud API stand-in, and a WebSocket agent
client (trio-websocket) that speaks docs/agent-protocol.md."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from pytake.config import load_settings
from pytake.identity import IdentityService
from pytake.standins.whatsapp import CloudApiStandIn, Customer, CustomerSimulator, run_standin
from pytake.store import Database, Team, TeamMember, UserRole

from .webhook_support import APP_SECRET, Edge, running_edge, wa_id, webhook_settings

PASSWORD = "correct horse battery staple"


class CommandRejected(Exception):
    pass


@attrs.define
class AgentClient:
    """One WebSocket connection of one agent."""

    ws: WebSocketConnection
    frames: list[dict[str, Any]] = attrs.field(factory=list)
    changed: trio.Event = attrs.field(factory=trio.Event)
    closed: tuple[int, str] | None = None
    _ids: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1))

    @property
    def events(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if "seq" in f]

    def events_of(self, type: str) -> list[dict[str, Any]]:
        return [f for f in self.events if f["type"] == type]

    @property
    def last_seq(self) -> int:
        return max((f["seq"] for f in self.events), default=0)

    async def _read(self) -> None:
        try:
            while True:
                self.frames.append(json.loads(await self.ws.get_message()))
                self.changed.set()
                self.changed = trio.Event()
        except ConnectionClosed as exc:
            reason = exc.reason
            self.closed = (reason.code, reason.reason or "")
            self.changed.set()

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 10.0, start: int = 0
    ) -> dict[str, Any]:
        with trio.fail_after(timeout):
            while True:
                for frame in self.frames[start:]:
                    if match(frame):
                        return frame
                if self.closed is not None:
                    raise AssertionError(f"connection closed {self.closed} while waiting")
                await self.changed.wait()

    async def event(self, type: str, /, timeout: float = 10.0, **data: Any) -> dict[str, Any]:
        def match(f: dict[str, Any]) -> bool:
            return f.get("type") == type and "seq" in f and all(
                f["data"].get(k) == v for k, v in data.items()
            )

        return await self.wait_for(match, timeout)

    async def send(self, type: str, **fields: Any) -> dict[str, Any]:
        """Send a command; return the ``ack`` or ``rejected`` frame."""
        command_id = f"c{next(self._ids)}"
        await self.ws.send_message(json.dumps({"id": command_id, "type": type, **fields}))
        return await self.wait_for(
            lambda f: f.get("id") == command_id and f.get("type") in ("ack", "rejected", "pong")
        )

    async def command(self, type: str, **fields: Any) -> dict[str, Any]:
        reply = await self.send(type, **fields)
        if reply["type"] == "rejected":
            raise CommandRejected(reply["reason"])
        data: dict[str, Any] = reply.get("data", {})
        return data


@asynccontextmanager
async def agent_client(base_url: str, token: str, last_seq: int | None = None,
                       ) -> AsyncIterator[AgentClient]:
    url = base_url.replace("http://", "ws://").rstrip("/") + f"/ws/agent?token={token}"
    if last_seq is not None:
        url += f"&last_seq={last_seq}"
    async with open_websocket_url(url) as ws, trio.open_nursery() as nursery:
        client = AgentClient(ws)
        nursery.start_soon(client._read)
        await client.wait_for(lambda f: f.get("type") == "welcome")
        try:
            yield client
        finally:
            nursery.cancel_scope.cancel()


@attrs.define
class Desk:
    edge: Edge
    standin: CloudApiStandIn
    sim: CustomerSimulator
    team_id: int
    agents: dict[str, int]  # email → user id

    @property
    def base_url(self) -> str:
        return str(self.edge.client.base_url)

    async def token(self, email: str) -> str:
        response = await self.edge.client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    @asynccontextmanager
    async def connect(self, email: str, last_seq: int | None = None
                      ) -> AsyncIterator[AgentClient]:
        async with agent_client(self.base_url, await self.token(email), last_seq) as client:
            yield client

    def customer(self, name: str = "Ana") -> Customer:
        customer = Customer(wa_id(), name)
        self.sim.customers.append(customer)
        return customer

    def sent_to(self, customer: Customer) -> list[Any]:
        return [s for s in self.standin.sent
                if not s.is_read_receipt and str(s.body.get("to", "")).lstrip("+")
                == customer.wa_id]

    async def wait_sent_to(self, customer: Customer, n: int = 1, timeout: float = 10.0,
                           text: str | None = None) -> list[Any]:
        with trio.fail_after(timeout):
            while True:
                sent = self.sent_to(customer)
                if text is not None:
                    sent = [s for s in sent if s.body.get("text", {}).get("body") == text]
                if len(sent) >= n:
                    return sent
                await trio.sleep(0.01)


async def seed_team(edge: Edge, agents: int, *, capacity: int = 5, strategy: str = "least_busy",
                    settings: dict[str, Any] | None = None,
                    ) -> tuple[int, str, dict[str, int]]:
    """A fresh team with ``agents`` agents; returns (team id, team name, email → user id)."""
    name = "team-" + secrets.token_hex(4)
    users: dict[str, int] = {}
    for i in range(agents):
        email = f"agent{i}-{secrets.token_hex(3)}@example.com"
        info = await edge.engine.identity.create_user(email, f"Agent {i}", UserRole.AGENT,
                                                      PASSWORD)
        users[email] = info.id

    def create(session: Any) -> int:
        team = Team(name=name, routing_strategy=strategy, settings=settings or {})
        session.add(team)
        session.flush()
        for user_id in users.values():
            session.add(TeamMember(team_id=team.id, user_id=user_id, skills=[],
                                   max_concurrent=capacity))
        return int(team.id)

    return await edge.engine.db.run(create), name, users


@asynccontextmanager
async def running_desk(database_url: str, tmp_path: Path, *, agents: int = 2,
                       capacity: int = 5, team_settings: dict[str, Any] | None = None,
                       **env: str) -> AsyncIterator[Desk]:
    """Engine + app on loopback, the stand-in, a customer simulator, and a default team."""
    team_name = "team-" + secrets.token_hex(4)
    async with run_standin(token="sim-token") as standin:
        settings = webhook_settings(
            database_url,
            PYTAKE_WHATSAPP_ACCESS_TOKEN="sim-token",
            PYTAKE_WHATSAPP_API_BASE=standin.base_url,
            PYTAKE_WHATSAPP_MEDIA_DIR=str(tmp_path / "media"),
            **{"PYTAKE_ROUTING_DEFAULT_TEAM": team_name, "PYTAKE_AGENT_OFFLINE_GRACE": "0.5",
               **env},
        )
        async with running_edge(settings) as edge:
            team_id, _, users = await seed_team(edge, agents, capacity=capacity,
                                                settings=team_settings)
            await edge.engine.db.run(_rename, team_id, team_name)
            target = str(edge.client.base_url).rstrip("/") + "/webhooks/whatsapp"
            async with CustomerSimulator(target, APP_SECRET, customers=[],
                                         standin=standin) as sim:
                yield Desk(edge, standin, sim, team_id, users)


def _rename(session: Any, team_id: int, name: str) -> None:
    session.get(Team, team_id).name = name


async def seed_agent(url: str, team_name: str, secret_key: str, *, capacity: int = 5,
                     ) -> tuple[str, int]:
    """A team named ``team_name`` with one agent taking ``capacity`` conversations, written
    straight to the database at ``url`` (for a `pytake serve` process started after);
    returns the agent's email and the team's id."""
    settings = load_settings(environ={"PYTAKE_DATABASE_URL": url,
                                      "PYTAKE_SECRET_KEY": secret_key})
    db = Database(url)
    try:
        identity = IdentityService.from_settings(db, settings)
        email = f"agent-{secrets.token_hex(3)}@example.com"
        user = await identity.create_user(email, "Agent", UserRole.AGENT, PASSWORD)

        def seed(session: Any) -> int:
            team = Team(name=team_name, routing_strategy="least_busy")
            session.add(team)
            session.flush()
            session.add(TeamMember(team_id=team.id, user_id=user.id,
                                   max_concurrent=capacity))
            return int(team.id)

        return email, await db.run(seed)
    finally:
        await db.aclose()
