"""Agent desk benchmark: ``python -m benchmarks.agents [--quick] [--json PATH]``.

200 agents connected on ``/ws/agent``, 1,000 conversations assigned to them (5 each), and the
customers writing into those conversations through signed webhooks, at offered rates stepped
up (50, 100, 200, 400, 800 messages per second, 10 s each):

- ``deliver_p50_ms`` / ``deliver_p99_ms``: from the webhook POST answered 200 to the matching
  ``message.new`` frame read at the owning agent's socket (matched by wamid);
- ``reply_p99_ms``: the agent answers every 4th message it is delivered; from its ``send``
  command written to its socket to the Cloud API stand-in accepting the request (matched by
  text; the stand-in's own time of acceptance);
- ``msgs_per_s``: the highest delivered rate of any step (messages delivered, over the time
  from the step's start to its last delivery);
- ``max_rate_within_50ms``: the highest offered rate at which both p99 stay <= 50 ms and the
  system keeps up (>= 95 % of the rate offered and delivered, no webhook refused, every
  message delivered and every answer at the stand-in by the end of the step's drain time:
  3 s after its last webhook, 5 s in the full run).

The headline latencies are those of the step at the target rate (200 messages/s).  Steps up
to it always run; above it the stepping stops at the first step that fails, and the full run
then bisects twice between the highest passing and the lowest failing rate.

Set-up, not measured: a PostgreSQL database made for the run (``pytake_bench_<hex>``,
migrated, dropped at the end) and a Redis key prefix (its keys deleted at the end), as for
``benchmarks.webhook``; the agents (sharing one password, hashed once) in one team, least busy
routing, 5 conversations each, named as the bot's default team; the real server
(``pytake serve``) in a subprocess, its Cloud API pointed at the stand-in
(`pytake.standins.whatsapp.CloudApiStandIn`, served in this process) and its send governor opened
wide (``whatsapp_send_rate`` 100,000/s, no pair interval) so that it is not what is measured.
The agents sign in (``POST /api/v1/auth/login``), connect, and accept every offer; then one
message from each customer opens the conversations, until all are assigned.

Load: open loop (each webhook started on schedule, whatever the earlier ones are doing; at
most 256 in flight), round-robin over the customers, one text message per POST, built and
signed as Meta does with the simulator's payload helpers (`pytake.standins.whatsapp`), and posted
over keep-alive HTTP/1.1 connections (h11 on trio sockets: a third of httpx's CPU per request,
which counts because this process also plays the agents and the stand-in).  No retries: a
non-200 counts as a failure; no status webhooks follow the agents' answers.  Customers, agents
and the stand-in share this process; the server is another, and PostgreSQL others, all on
this machine's cores.  Each step shows the CPU of this process and the server's
(``client_cpu``, ``server_cpu``, and ``writer_cpu`` for the server's child, the database
writer process: fractions of one core) and of the whole machine
(``machine_busy``: fraction of all cores), so that a saturated client or machine is seen; the
same is measured for a second with no load (``*_idle_*``).  pytake runs with its default
settings otherwise (log level info, access log on).  At the end, the server's warnings and
errors during the run are counted and the first distinct ones shown.

``--quick``: 40 agents, 200 conversations, steps of 50, 100 and 200 messages/s, 4 s each.
Where the servers are: ``PYTAKE_BENCH_PG_ADMIN_URL`` and ``PYTAKE_BENCH_REDIS_URL`` (see
``benchmarks.store``).
"""

from __future__ import annotations

import collections
import functools
import gc
import itertools
import json
import os
import secrets
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
import h11
import httpx
import trio
from sqlalchemy.orm import Session
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from pytake.identity import IdentityService, Passwords
from pytake.standins.whatsapp import (
    Business,
    CloudApiStandIn,
    Customer,
    encode,
    make_customers,
    new_wamid,
    run_standin,
)
from pytake.standins.whatsapp._payloads import envelope, messages_value, text_message
from pytake.store import Database, RoutingStrategy, Team, TeamMember, UserRole
from pytake.whatsapp import sign

from ._report import parse_args, progress, report, run_main
from .store import (
    DEFAULT_REDIS_URL,
    REDIS_ENV,
    analyze,
    pct_or_none,
    pg_database,
    redis_prefix,
)
from .webhook import APP_SECRET, Server, free_port, pytake_server

PASSWORD = "correct horse battery staple"
ACCESS_TOKEN = "bench-access-token"
#: Conversations an agent may hold at once (team_members.max_concurrent).
CAPACITY = 5
#: The issue's target: both p99 <= LIMIT_MS at this many customer messages per second.
TARGET_RATE = 200
LIMIT_MS = 50.0
#: An agent answers every REPLY_EVERY-th customer message.
REPLY_EVERY = 4
#: Webhook POSTs in flight at most; past it the generator waits (the offered rate drops).
MAX_IN_FLIGHT = 256
#: A step keeps up if it offered and delivered at least this share of its rate.
KEEP_UP = 0.95
#: The server closes a socket that sends nothing for agent_idle_timeout (60 s).
PING_EVERY_S = 20.0
#: Sign-ins and connections made at once (each sign-in is an argon2 verification).
CONNECT_AT_ONCE = 16
#: First messages (conversation openings) in flight at once during the set-up.
OPEN_AT_ONCE = 32
#: A pooled connection idle this long is not reused (Hypercorn closes them after 5 s).
KEEP_ALIVE_S = 4.0
#: Seconds with no load, to see what the processes use when idle.
IDLE_S = 1.0
REPLY_PREFIX = "Resposta a "
T = TypeVar("T")
_TEXTS = (
    "Oi, meu pedido {n} ainda não chegou",
    "Vocês entregam no sábado? ({n})",
    "Quero trocar o tamanho da camiseta / pedido {n}",
    "Obrigado pelo atendimento! 👍",
)


@attrs.frozen
class Sizes:
    agents: int
    conversations: int
    rates: tuple[int, ...]  # messages per second, in order
    step_s: float
    warmup_s: float  # one step at the first rate before the measured ones
    drain_cap_s: float  # longest wait, after a step's last webhook, for its deliveries
    setup_cap_s: float  # longest wait for all agents online, and for all conversations assigned
    bisect: int  # extra steps between the highest passing and lowest failing rate

    @classmethod
    def pick(cls, quick: bool) -> Sizes:
        if quick:
            return cls(40, 200, (50, 100, TARGET_RATE), 4.0, 1.0, 3.0, 30.0, 0)
        return cls(200, 1000, (50, 100, TARGET_RATE, 400, 800), 10.0, 2.0, 5.0, 120.0, 2)


# --- set-up -----------------------------------------------------------------------------------


async def seed(database_url: str, team_name: str, agents: int) -> dict[str, int]:
    """``agents`` agents in a new least-busy team, ``CAPACITY`` conversations each;
    returns email → user id."""
    users: dict[str, int] = {}
    async with Database(database_url) as db:
        # The key signs nothing here: agents sign in at the server.
        identity = IdentityService(db, secrets.token_urlsafe(48),
                                   passwords=await _OneHash.make(PASSWORD))

        async def create(i: int) -> None:
            email = f"agent{i:03d}@bench.example.com"
            info = await identity.create_user(email, f"Agente {i}", UserRole.AGENT, PASSWORD)
            users[email] = info.id

        async with trio.open_nursery() as nursery:
            for i in range(agents):
                nursery.start_soon(create, i)

        def create_team(session: Session) -> None:
            team = Team(name=team_name, routing_strategy=RoutingStrategy.LEAST_BUSY, settings={})
            session.add(team)
            session.flush()
            for user_id in users.values():
                session.add(TeamMember(team_id=team.id, user_id=user_id, skills=[],
                                       max_concurrent=CAPACITY))

        await db.run(create_team)
    return users


class _OneHash(Passwords):
    """Every agent has the same password: it is hashed once (argon2, the default parameters,
    so the server verifies it as it is), not once per agent."""

    def __init__(self, password: str, hashed: str) -> None:
        super().__init__()
        self._password = password
        self._hashed = hashed

    @classmethod
    async def make(cls, password: str) -> _OneHash:
        return cls(password, await Passwords().hash(password))

    async def hash(self, password: str) -> str:
        return self._hashed if password == self._password else await super().hash(password)


# --- resource use -----------------------------------------------------------------------------


def _stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (``None``: no such process)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cpu_s(fields: list[str] | None) -> float:
    """User + system CPU seconds in a `_stat` (all the process's threads)."""
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    return _cpu_s(_stat(pid))


def _children_cpu_s(pid: int) -> float:
    """CPU seconds of the live child processes of ``pid`` (the database writer process)."""
    children = (_stat(entry) for entry in os.listdir("/proc") if entry.isdigit())
    return sum(_cpu_s(fields) for fields in children if fields and int(fields[1]) == pid)


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine, all cores."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off in this process (the load and the stand-in)
    while a step is measured, and run before it, unmeasured.  A full collection of the
    benchmark's own heap (every message's times, thousands of customers) paused this process
    for about 100 ms: the replies the stand-in was to accept and the webhooks due meanwhile
    all waited, and the server was blamed for it."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Usage:
    """CPU used from construction to `read`: this process, the server, the machine."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid
        self.start = self._now()

    def _now(self) -> tuple[float, float, float, float, int, int]:
        busy, total = _machine_jiffies()
        return (time.perf_counter(), time.process_time(), _process_cpu_s(self.pid),
                _children_cpu_s(self.pid), busy, total)

    def read(self) -> dict[str, float]:
        w0, c0, s0, k0, b0, t0 = self.start
        w1, c1, s1, k1, b1, t1 = self._now()
        wall = max(w1 - w0, 1e-9)
        return {
            "client_cpu": round((c1 - c0) / wall, 2),
            "server_cpu": round((s1 - s0) / wall, 2),
            # A child that started or exited between the two readings is left out.
            "writer_cpu": round(max(k1 - k0, 0.0) / wall, 2),
            "machine_busy": round((b1 - b0) / max(t1 - t0, 1), 2),
        }


# --- steps ------------------------------------------------------------------------------------


@attrs.define(eq=False)
class Step:
    """One rate step while it runs."""

    rate: float
    seconds: float
    wamids: list[str] = attrs.Factory(list)
    answered: list[str] = attrs.Factory(list)  # wamids the agent is to answer
    ack: list[float] = attrs.Factory(list)  # seconds from POST to its 200
    failed: int = 0  # webhooks not answered 200
    started: float = 0.0  # perf_counter at the first scheduled webhook
    offered_for: float = 0.0  # seconds over which the webhooks were started
    waiting: set[str] = attrs.Factory(set)  # acknowledged wamids not delivered yet
    replies_waiting: set[str] = attrs.Factory(set)  # answers sent, not at the stand-in yet


@attrs.frozen
class StepResult:
    rate: float
    offered_per_s: float
    delivered_per_s: float
    sent: int
    webhook_failures: int
    undelivered: int  # acknowledged, not delivered by the end of the step's drain
    deliver: list[float]
    early: int  # message.new read before the POST's 200 was (counted as 0 ms)
    replies: int
    replies_unsent: int  # answers commanded, not at the stand-in by the end of the drain
    reply: list[float]
    ack: list[float]
    usage: dict[str, float]

    @property
    def deliver_p99_ms(self) -> float | None:
        return pct_or_none(self.deliver, 0.99)

    @property
    def reply_p99_ms(self) -> float | None:
        return pct_or_none(self.reply, 0.99)

    @property
    def kept_up(self) -> bool:
        return (
            self.offered_per_s >= KEEP_UP * self.rate
            and self.delivered_per_s >= KEEP_UP * self.rate
            and self.webhook_failures == 0
            and self.undelivered == 0
            and self.replies_unsent == 0
        )

    @property
    def within(self) -> bool:
        deliver, reply = self.deliver_p99_ms, self.reply_p99_ms
        return (deliver is not None and deliver <= LIMIT_MS
                and reply is not None and reply <= LIMIT_MS)

    @property
    def ok(self) -> bool:
        return self.kept_up and self.within

    def row(self) -> dict[str, Any]:
        return {
            "rate": round(self.rate),
            "offered_per_s": round(self.offered_per_s, 1),
            "delivered_per_s": round(self.delivered_per_s, 1),
            "sent": self.sent,
            "deliver_p50_ms": pct_or_none(self.deliver, 0.50),
            "deliver_p99_ms": self.deliver_p99_ms,
            "deliver_max_ms": pct_or_none(self.deliver, 1.0),
            "reply_p50_ms": pct_or_none(self.reply, 0.50),
            "reply_p99_ms": self.reply_p99_ms,
            "replies": self.replies,
            "ack_p99_ms": pct_or_none(self.ack, 0.99),
            "webhook_failures": self.webhook_failures,
            "undelivered": self.undelivered,
            "replies_unsent": self.replies_unsent,
            **self.usage,
            "ok": self.ok,
        }

    def line(self) -> str:
        r = self.row()
        verdict = "ok" if self.ok else ("too slow" if self.kept_up else "did not keep up")
        lost = ""
        if self.webhook_failures or self.undelivered or self.replies_unsent:
            lost = (f"; by the end of the drain: {self.webhook_failures} webhooks refused, "
                    f"{self.undelivered} messages not delivered, {self.replies_unsent} answers "
                    f"not at the stand-in")
        return (
            f"  {r['rate']}/s: offered {r['offered_per_s']}/s, delivered "
            f"{r['delivered_per_s']}/s ({self.sent:,} messages); deliver p50 "
            f"{r['deliver_p50_ms']} p99 {r['deliver_p99_ms']} max {r['deliver_max_ms']} ms; "
            f"reply p50 {r['reply_p50_ms']} p99 {r['reply_p99_ms']} ms ({self.replies}); "
            f"webhook ack p99 {r['ack_p99_ms']} ms{lost}; cpu: client {r['client_cpu']:.0%}, "
            f"server {r['server_cpu']:.0%} + writer {r['writer_cpu']:.0%}, "
            f"machine {r['machine_busy']:.0%} -> {verdict}"
        )


# --- webhooks ---------------------------------------------------------------------------------


class _Closed(Exception):
    """The server closed the connection before answering."""


def _joined(*parts: bytes | None) -> bytes:
    return b"".join(p for p in parts if p)


class _Connection:
    """One keep-alive HTTP/1.1 client connection: h11 over a trio socket."""

    def __init__(self, stream: trio.SocketStream, authority: str) -> None:
        self.stream = stream
        self.authority = authority
        self.http = h11.Connection(h11.CLIENT)
        self.used_at = time.perf_counter()
        self.answering = False  # some of the current request's answer has arrived

    async def post(self, target: str, body: bytes, headers: list[tuple[str, str]]) -> int:
        http = self.http
        self.answering = False
        request = h11.Request(method="POST", target=target, headers=[
            ("host", self.authority), ("content-length", str(len(body))), *headers,
        ])
        await self.stream.send_all(_joined(
            http.send(request), http.send(h11.Data(data=body)), http.send(h11.EndOfMessage())
        ))
        status = 0
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                http.receive_data(await self.stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
                self.answering = True
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise _Closed
        if http.our_state is h11.DONE and http.their_state is h11.DONE:
            http.start_next_cycle()
        return status

    @property
    def reusable(self) -> bool:
        return self.http.our_state is h11.IDLE and self.http.their_state is h11.IDLE

    async def aclose(self) -> None:
        await self.stream.aclose()


class Webhooks:
    """Signed webhook bodies, POSTed over a pool of keep-alive connections."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.authority = parts.netloc
        self.target = parts.path
        self.business = Business()
        self._idle: list[_Connection] = []

    def request(self, customer: Customer, message: dict[str, Any]
                ) -> tuple[bytes, list[tuple[str, str]]]:
        """The body Meta would POST for ``message``, and its headers (signature included)."""
        body = encode(envelope(self.business,
                               [messages_value(self.business, customer, [message])]))
        return body, [
            ("content-type", "application/json"),
            ("x-hub-signature-256", sign(body, APP_SECRET)),
            ("user-agent", "facebookexternalua"),
        ]

    async def _take(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if time.perf_counter() - conn.used_at < KEEP_ALIVE_S:
                return conn
            await conn.aclose()
        return None

    async def post(self, body: bytes, headers: list[tuple[str, str]]) -> int | None:
        """POST once; the answer's status, or ``None`` if none came."""
        for reuse in (True, False):
            conn = await self._take() if reuse else None
            if conn is None:
                reuse = False
                try:
                    conn = _Connection(await trio.open_tcp_stream(self.host, self.port),
                                       self.authority)
                except OSError:
                    return None
            try:
                status = await conn.post(self.target, body, headers)
            except (OSError, trio.BrokenResourceError, h11.ProtocolError, _Closed):
                await conn.aclose()
                if reuse and not conn.answering:
                    continue  # closed by the server while idle: once more, on a new one
                return None
            if conn.reusable:
                conn.used_at = time.perf_counter()
                self._idle.append(conn)
            else:
                await conn.aclose()
            return status
        return None

    async def aclose(self) -> None:
        while self._idle:
            await self._idle.pop().aclose()


# --- agents -----------------------------------------------------------------------------------


class Agent:
    """One agent's WebSocket: accepts every offer, answers the messages it is asked to."""

    def __init__(self, bench: Bench, email: str) -> None:
        self.bench = bench
        self.email = email
        self.ws: WebSocketConnection | None = None
        self.online = False
        self._ids = itertools.count(1)
        self._pending: dict[str, tuple[str, str]] = {}  # command id → (type, answer text)

    async def serve(self, limiter: trio.CapacityLimiter) -> None:
        """Sign in, connect, then read frames until cancelled or closed."""
        async with AsyncExitStack() as stack:
            async with limiter:
                token = await self.bench.login(self.email)
                self.ws = ws = await stack.enter_async_context(
                    open_websocket_url(self.bench.ws_url + token)
                )
                welcome = json.loads(await ws.get_message())
                if welcome.get("type") != "welcome":
                    raise RuntimeError(f"{self.email}: expected welcome, got {welcome}")
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._keepalive)
                await self._read(ws)
                nursery.cancel_scope.cancel()

    async def _keepalive(self) -> None:
        while True:
            await trio.sleep(PING_EVERY_S)
            await self.command("ping")

    async def command(self, type: str, text: str = "", **fields: Any) -> None:
        assert self.ws is not None
        command_id = f"c{next(self._ids)}"
        self._pending[command_id] = (type, text)
        with suppress(ConnectionClosed):  # the reader reports it
            await self.ws.send_message(json.dumps({"id": command_id, "type": type, **fields}))

    async def _read(self, ws: WebSocketConnection) -> None:
        bench = self.bench
        while True:
            try:
                raw = await ws.get_message()
            except ConnectionClosed as exc:
                bench.closed.append(f"{self.email}: {exc.reason}")
                return
            at = time.perf_counter()
            frame = json.loads(raw)
            kind = frame.get("type")
            if "seq" in frame:
                await self._event(str(kind), frame.get("data") or {}, at)
            elif kind == "rejected":
                command, text = self._pending.pop(str(frame.get("id")), ("?", ""))
                bench.rejected[f"{command}: {frame.get('code')}: {frame.get('reason')}"] += 1
                if text:
                    bench.reply_refused(text)
            elif kind in ("ack", "pong"):
                self._pending.pop(str(frame.get("id")), None)

    async def _event(self, kind: str, data: dict[str, Any], at: float) -> None:
        bench = self.bench
        bench.events[kind] += 1
        if kind == "message.new":
            wamid = str(data.get("wamid"))
            bench.delivered(wamid, at)
            step = bench.answer.pop(wamid, None)
            if step is not None:
                text = REPLY_PREFIX + wamid
                bench.command_at[text] = time.time()
                bench.reply_of[text] = step
                step.replies_waiting.add(text)
                await self.command("send", text=text, conversation_id=data["conversation_id"],
                                   content={"type": "text", "text": text})
        elif kind == "conversation.offered":
            await self.command("accept", conversation_id=data["conversation_id"])
        elif kind == "conversation.assigned":
            bench.owners[str(data.get("customer", "")).lstrip("+")] = self
        elif kind == "presence" and data.get("status") == "online" and not self.online:
            self.online = True
            bench.online += 1


# --- the bench --------------------------------------------------------------------------------


class Bench:
    """The customers, the agents, the stand-in, and the timings they leave."""

    def __init__(self, sizes: Sizes, server: Server, standin: CloudApiStandIn,
                 client: httpx.AsyncClient, emails: list[str]) -> None:
        self.sizes = sizes
        self.server = server
        self.standin = standin
        self.client = client
        self.webhooks = Webhooks(server.base + "/webhooks/whatsapp")
        self.customers = make_customers(sizes.conversations)
        self.base = server.base
        self.ws_url = server.base.replace("http://", "ws://", 1) + "/ws/agent?token="
        self.agents = [Agent(self, email) for email in emails]
        self.online = 0
        self.owners: dict[str, Agent] = {}  # customer wa_id → the agent it is assigned to
        self.writers: list[Customer] = []  # customers whose conversation is assigned
        self.ack_at: dict[str, float] = {}  # wamid → perf_counter when its POST got 200
        self.read_at: dict[str, float] = {}  # wamid → perf_counter when message.new was read
        self.step_of: dict[str, Step] = {}  # wamid → its step
        self.answer: dict[str, Step] = {}  # wamids to answer (until delivered) → step
        self.command_at: dict[str, float] = {}  # answer text → time.time() of the command
        self.standin_at: dict[str, float] = {}  # answer text → the stand-in's acceptance time
        self.reply_of: dict[str, Step] = {}  # answer text → its step
        self.refused: set[str] = set()  # answer texts whose command was rejected
        self.rejected: collections.Counter[str] = collections.Counter()
        self.events: collections.Counter[str] = collections.Counter()
        self.closed: list[str] = []
        self.other_sends = 0  # stand-in requests that are not answers (bot, receipts)
        self.in_flight = trio.Semaphore(MAX_IN_FLIGHT)
        #: The agent answers every reply_every-th message of a step (0: none).
        self.reply_every = REPLY_EVERY
        self._written = 0  # messages made (numbers the texts)
        self._turn = 0  # the next writer, round-robin

    # -- callbacks from agents and the stand-in ----------------------------------------------

    def delivered(self, wamid: str, at: float) -> None:
        self.read_at.setdefault(wamid, at)
        step = self.step_of.get(wamid)
        if step is not None:
            step.waiting.discard(wamid)

    def reply_refused(self, text: str) -> None:
        self.refused.add(text)
        step = self.reply_of.get(text)
        if step is not None:
            step.replies_waiting.discard(text)

    async def watch_standin(self) -> None:
        seen = 0
        while True:
            await self.standin.wait_for_more(seen)
            records = self.standin.sent[seen:]
            seen += len(records)
            for record in records:
                text_obj = record.body.get("text")
                text = text_obj.get("body") if isinstance(text_obj, dict) else None
                if isinstance(text, str) and text.startswith(REPLY_PREFIX):
                    self.standin_at.setdefault(text, record.received_at)
                    step = self.reply_of.get(text)
                    if step is not None:
                        step.replies_waiting.discard(text)
                else:
                    self.other_sends += 1

    # -- set-up -------------------------------------------------------------------------------

    async def login(self, email: str) -> str:
        response = await self.client.post(
            self.base + "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        if response.status_code != 200:
            raise RuntimeError(f"sign-in of {email}: HTTP {response.status_code} "
                               f"{response.text[:300]}")
        return str(response.json()["access_token"])

    async def connect_agents(self, nursery: trio.Nursery) -> None:
        limiter = trio.CapacityLimiter(CONNECT_AT_ONCE)
        for agent in self.agents:
            nursery.start_soon(agent.serve, limiter)
        await self._until(lambda: self.online >= len(self.agents),
                          lambda: f"{self.online}/{len(self.agents)} agents online",
                          self.sizes.setup_cap_s)
        if self.online < len(self.agents):
            raise RuntimeError(f"only {self.online} of {len(self.agents)} agents came online "
                               f"within {self.sizes.setup_cap_s:g} s")

    async def open_conversations(self) -> None:
        """One message from each customer; every offer is accepted by the agent's reader."""
        customers = self.customers
        slots = trio.Semaphore(OPEN_AT_ONCE)

        async def first(customer: Customer, n: int) -> None:
            try:
                text = _TEXTS[n % len(_TEXTS)].format(n=n)
                message = text_message(customer, text, timestamp=int(time.time()))
                status = await self.webhooks.post(*self.webhooks.request(customer, message))
                if status != 200:
                    progress(f"  warning: {customer.wa_id}'s first message: HTTP {status}")
            finally:
                slots.release()

        async with trio.open_nursery() as nursery:
            for n, customer in enumerate(customers):
                await slots.acquire()
                nursery.start_soon(first, customer, n)
        await self._until(lambda: len(self.owners) >= len(customers),
                          lambda: f"{len(self.owners)}/{len(customers)} conversations assigned",
                          self.sizes.setup_cap_s)
        self.writers = [c for c in customers if c.wa_id in self.owners]
        if not self.writers:
            raise RuntimeError("no conversation was assigned to an agent")
        if len(self.writers) < len(customers):
            progress(f"  warning: only {len(self.writers)} of {len(customers)} conversations "
                     f"were assigned; the others' customers stay silent")

    async def _until(self, done: Callable[[], bool], status: Callable[[], str],
                     cap_s: float) -> None:
        started = time.perf_counter()
        shown = started
        while not done() and time.perf_counter() - started < cap_s:
            await trio.sleep(0.05)
            self.server.check_alive()
            if time.perf_counter() - shown >= 2.0:
                shown = time.perf_counter()
                progress(f"  {status()} ({shown - started:.0f} s)")
        progress(f"  {status()} in {time.perf_counter() - started:.1f} s")

    # -- load ---------------------------------------------------------------------------------

    def text(self, n: int, customer: Customer, wamid: str) -> str:
        """The text of the ``n``-th message of the load, from ``customer`` as ``wamid`` (a
        subclass may tag it, e.g. to find it again in a page)."""
        return _TEXTS[n % len(_TEXTS)].format(n=n)

    async def write(self, customer: Customer, step: Step, answer: bool) -> None:
        """One customer message in one signed webhook."""
        try:
            wamid = new_wamid()
            text = self.text(self._written, customer, wamid)
            self._written += 1
            message = text_message(customer, text, timestamp=int(time.time()), wamid=wamid)
            self.step_of[wamid] = step
            step.wamids.append(wamid)
            if answer:
                self.answer[wamid] = step
                step.answered.append(wamid)
            body, headers = self.webhooks.request(customer, message)
            started = time.perf_counter()
            status = await self.webhooks.post(body, headers)
            done = time.perf_counter()
            if status != 200:
                step.failed += 1
                self.answer.pop(wamid, None)
                return
            self.ack_at[wamid] = done
            step.ack.append(done - started)
            if wamid not in self.read_at:
                step.waiting.add(wamid)
        finally:
            self.in_flight.release()

    async def offer(self, step: Step) -> None:
        """Start ``step.rate`` webhooks a second, on schedule, for ``step.seconds``."""
        interval = 1.0 / step.rate
        total = max(1, round(step.rate * step.seconds))
        customers = self.writers
        async with trio.open_nursery() as nursery:
            start = trio.current_time()
            step.started = time.perf_counter()
            last = start
            for i in range(total):
                due = start + i * interval
                if trio.current_time() < due:
                    await trio.sleep_until(due)
                elif i % 50 == 0:
                    await trio.lowlevel.checkpoint()  # behind: catch up, but let others run
                await self.in_flight.acquire()
                last = trio.current_time()
                customer = customers[self._turn % len(customers)]
                self._turn += 1
                answer = self.reply_every > 0 and i % self.reply_every == 0
                nursery.start_soon(self.write, customer, step, answer)
        step.offered_for = last - start + interval

    async def step(self, rate: float, seconds: float) -> StepResult:
        step = Step(rate, seconds)
        with collector_paused():
            usage = Usage(self.server.proc.pid)
            await self.offer(step)
            deadline = time.perf_counter() + self.sizes.drain_cap_s
            while (step.waiting or step.replies_waiting) and time.perf_counter() < deadline:
                await trio.sleep(0.01)
        self.server.check_alive()
        return self._result(step, usage.read())

    def _result(self, step: Step, usage: dict[str, float]) -> StepResult:
        deliver: list[float] = []
        early = undelivered = 0
        last_read = step.started
        for wamid in step.wamids:
            acked, read = self.ack_at.get(wamid), self.read_at.get(wamid)
            if acked is None:
                continue  # refused: counted as a webhook failure
            if read is None:
                undelivered += 1
                continue
            last_read = max(last_read, read)
            if read < acked:
                early += 1
            deliver.append(max(0.0, read - acked))
        reply: list[float] = []
        unsent = 0
        for wamid in step.answered:
            text = REPLY_PREFIX + wamid
            sent_at, accepted_at = self.command_at.get(text), self.standin_at.get(text)
            if sent_at is None:
                continue  # never delivered, so never answered: counted as undelivered
            if accepted_at is None:
                unsent += 1
                continue
            reply.append(max(0.0, accepted_at - sent_at))
        return StepResult(
            rate=step.rate,
            offered_per_s=len(step.wamids) / max(step.offered_for, 1e-9),
            delivered_per_s=len(deliver) / max(last_read - step.started, 1e-9),
            sent=len(step.wamids),
            webhook_failures=step.failed,
            undelivered=undelivered,
            deliver=deliver,
            early=early,
            replies=len(reply),
            replies_unsent=unsent,
            reply=reply,
            ack=step.ack,
            usage=usage,
        )

    async def run_steps(self) -> list[StepResult]:
        sizes = self.sizes
        first = sizes.rates[0]
        progress(f"warm-up: {first}/s for {sizes.warmup_s:g} s (not counted)")
        progress((await self.step(first, sizes.warmup_s)).line() + " (warm-up)")
        results: list[StepResult] = []

        async def run(rate: float) -> StepResult:
            progress(f"step: {rate:g} messages/s offered for {sizes.step_s:g} s")
            result = await self.step(rate, sizes.step_s)
            progress(result.line())
            results.append(result)
            return result

        for rate in sizes.rates:
            if rate > TARGET_RATE and results and not results[-1].ok:
                break
            await run(rate)
        for _ in range(sizes.bisect):
            best = max((r.rate for r in results if r.ok), default=0.0)
            above = [r.rate for r in results if not r.ok and r.rate > best]
            if not best or not above:
                break
            rate = round((best + min(above)) / 2)
            if rate - best < max(10.0, 0.1 * best):
                break
            await run(rate)
        return results


# --- the server's log -------------------------------------------------------------------------


@attrs.frozen
class LogProblems:
    counts: dict[str, int]  # WARNING, ERROR, CRITICAL, Traceback
    samples: list[str]  # the first lines of each distinct kind


def log_problems(path: Path, limit: int = 8) -> LogProblems:
    counts: collections.Counter[str] = collections.Counter()
    samples: list[str] = []
    kinds: set[str] = set()
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return LogProblems({}, [])
    for line in text.splitlines():
        parts = line.split(maxsplit=4)  # date, time, level, logger:, message
        if len(parts) >= 4 and parts[2] in ("WARNING", "ERROR", "CRITICAL"):
            counts[parts[2]] += 1
            message = parts[4] if len(parts) > 4 else ""
            # Lines that differ only in numbers (ids, counts) are one kind.
            kind = f"{parts[2]} {parts[3]} " + "".join(c for c in message[:60] if not c.isdigit())
            if kind not in kinds and len(samples) < limit:
                kinds.add(kind)
                samples.append(line[:400])
        elif line.startswith("Traceback"):
            counts["Traceback"] += 1
    return LogProblems(dict(counts), samples)


# --- main -------------------------------------------------------------------------------------


@attrs.frozen
class Outcome:
    steps: list[StepResult]
    assigned: int
    setup_s: float
    idle: dict[str, float]
    rejected: dict[str, int]
    closed: list[str]
    events: dict[str, int]
    other_sends: int
    log: LogProblems


async def measure(sizes: Sizes, server: Server, database_url: str, standin_port: int,
                  emails: list[str], started: float) -> Outcome:
    async with (
        run_standin(port=standin_port, token=ACCESS_TOKEN) as standin,
        httpx.AsyncClient(trust_env=False, timeout=30) as client,
        trio.open_nursery() as nursery,
    ):
        bench = Bench(sizes, server, standin, client, emails)
        nursery.start_soon(bench.watch_standin)
        progress(f"signing in and connecting {len(emails)} agents")
        await bench.connect_agents(nursery)
        progress(f"opening {sizes.conversations:,} conversations (one message each)")
        await bench.open_conversations()
        setup_s = time.perf_counter() - started
        await trio.to_thread.run_sync(analyze, database_url)
        usage = Usage(server.proc.pid)
        await trio.sleep(IDLE_S)
        idle = usage.read()
        progress(f"idle for {IDLE_S:g} s: cpu client {idle['client_cpu']:.0%}, server "
                 f"{idle['server_cpu']:.0%}, machine {idle['machine_busy']:.0%}")
        steps = await bench.run_steps()
        log = log_problems(server.err_path)
        await bench.webhooks.aclose()
        nursery.cancel_scope.cancel()
    return Outcome(steps, len(bench.owners), setup_s, idle, dict(bench.rejected), bench.closed,
                   dict(bench.events), bench.other_sends, log)


async def _until_signalled(fn: Callable[[], Awaitable[T]]) -> T:
    """``await fn()``; SIGINT or SIGTERM cancels it, then raises KeyboardInterrupt.

    Trio's own Ctrl-C handling is not enough here: the stand-in's Hypercorn, served in this
    process, takes a KeyboardInterrupt that reaches its task for a shutdown and swallows it
    (``hypercorn.trio.run.worker_serve``), so only the stand-in would stop.
    """
    seen: list[int] = []
    results: list[T] = []
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                async for signum in signals:
                    seen.append(signum)
                    nursery.cancel_scope.cancel()
                    return

            nursery.start_soon(watch)
            results.append(await fn())
            nursery.cancel_scope.cancel()
    if seen or not results:
        raise KeyboardInterrupt
    return results[0]


def server_env(team: str, standin_port: int, workdir: Path) -> dict[str, str]:
    """The server's settings for an agents' run: its Cloud API the stand-in on
    ``standin_port``, the send governor opened wide, conversations routed to ``team``."""
    return {
        "PYTAKE_SECRET_KEY": secrets.token_urlsafe(48),
        "PYTAKE_WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "PYTAKE_WHATSAPP_API_BASE": f"http://127.0.0.1:{standin_port}",
        "PYTAKE_WHATSAPP_SEND_RATE": "100000",
        "PYTAKE_WHATSAPP_PAIR_INTERVAL": "0",
        "PYTAKE_WHATSAPP_MEDIA_DIR": str(workdir / "media"),
        "PYTAKE_ROUTING_DEFAULT_TEAM": team,
        # Every agent signs in from this one address.
        "PYTAKE_LOGIN_ATTEMPTS_PER_IP": "100000",
    }


def main() -> None:
    run_main(_main)


def _main() -> None:
    args = parse_args(__doc__ or "")
    quick: bool = args.quick
    sizes = Sizes.pick(quick)
    redis_url = os.environ.get(REDIS_ENV) or DEFAULT_REDIS_URL
    wall = time.perf_counter()
    rates = "/".join(str(r) for r in sizes.rates)
    progress(
        f"{'quick run' if quick else 'full run'}: {sizes.agents} agents, "
        f"{sizes.conversations:,} conversations, steps of {rates} messages/s, "
        f"{sizes.step_s:g} s each"
        + (" (the full run: 200 agents, 1,000 conversations, 50/100/200/400/800 messages/s, "
           "10 s each)" if quick else "")
    )

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pytake-bench-")))
        pg_url = stack.enter_context(pg_database())
        prefix = stack.enter_context(redis_prefix(redis_url))
        team = f"bench-{secrets.token_hex(4)}"
        started = time.perf_counter()
        emails = list(trio.run(seed, pg_url, team, sizes.agents))
        progress(f"{len(emails)} agents in team {team} in {time.perf_counter() - started:.1f} s")
        standin_port = free_port()
        server = stack.enter_context(pytake_server(
            pg_url, redis_url, prefix, workdir, server_env(team, standin_port, workdir)))
        server.wait_ok("/readyz")
        progress(f"pytake ready (pid {server.proc.pid}) in {time.perf_counter() - started:.1f} s")
        outcome = trio.run(_until_signalled, functools.partial(
            measure, sizes, server, pg_url, standin_port, emails, started))

    steps = outcome.steps
    at_target = next(r for r in steps if r.rate == TARGET_RATE)
    target_row = at_target.row()
    for problem, count in sorted(outcome.rejected.items()):
        progress(f"rejected command ({count}x): {problem}")
    for closed in outcome.closed[:5]:
        progress(f"connection closed by the server: {closed}")
    for line in outcome.log.samples:
        progress(f"server log: {line}")
    unexpected = {k: v for k, v in outcome.events.items()
                  if k not in ("presence", "conversation.offered", "conversation.assigned",
                               "message.new")}
    if unexpected:
        progress(f"other agent events: {unexpected}")
    results = {
        "quick": quick,
        "agents": sizes.agents,
        "conversations": sizes.conversations,
        "conversations_assigned": outcome.assigned,
        "target_rate_per_s": TARGET_RATE,
        "deliver_p50_ms": target_row["deliver_p50_ms"],
        "deliver_p99_ms": target_row["deliver_p99_ms"],
        "reply_p50_ms": target_row["reply_p50_ms"],
        "reply_p99_ms": target_row["reply_p99_ms"],
        "webhook_ack_p99_ms": target_row["ack_p99_ms"],
        "msgs_per_s": round(max(r.delivered_per_s for r in steps)),
        "max_rate_within_50ms": round(max((r.rate for r in steps if r.ok), default=0)),
        "targets_met": at_target.ok,
        "steps": [r.row() for r in steps],
        "step_s": sizes.step_s,
        "reply_every": REPLY_EVERY,
        "webhook_failures": sum(r.webhook_failures for r in steps),
        "undelivered": sum(r.undelivered for r in steps),
        "replies_unsent": sum(r.replies_unsent for r in steps),
        "delivered_before_ack": sum(r.early for r in steps),
        "rejected_commands": sum(outcome.rejected.values()),
        "connections_closed": len(outcome.closed),
        "other_standin_requests": outcome.other_sends,
        "server_log_warnings": outcome.log.counts.get("WARNING", 0),
        "server_log_errors": (outcome.log.counts.get("ERROR", 0)
                              + outcome.log.counts.get("CRITICAL", 0)),
        "client_idle_cpu": outcome.idle["client_cpu"],
        "server_idle_cpu": outcome.idle["server_cpu"],
        "machine_idle_busy": outcome.idle["machine_busy"],
        "setup_s": round(outcome.setup_s, 1),
        "wall_s": round(time.perf_counter() - wall, 1),
    }
    at = f"at {TARGET_RATE} messages/s offered"
    targets = {
        "deliver_p99_ms": f"<= {LIMIT_MS:g} {at}",
        "reply_p99_ms": f"<= {LIMIT_MS:g} {at}",
        "targets_met": f"True: both p99 <= {LIMIT_MS:g} ms {at}, keeping up",
    }
    report("agents", results, targets, args.json)


if __name__ == "__main__":
    main()
