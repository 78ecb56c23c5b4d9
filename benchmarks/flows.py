"""Flow benchmark: ``python -m benchmarks.flows [--quick] [--json PATH]``.

Customers talking to the bot's flows end to end: a customer's text message POSTed as a signed
webhook, the conversation's flow taking it as one step, and the flow's reply accepted by the
Cloud API stand-in.  A **step** is one customer message answered by the flow; its latency
runs from the webhook POST answered 200 to the stand-in accepting the reply to that message
(the stand-in's own time of acceptance; replies are matched to messages by a token unique
to each message, ``[#123]``, which the reply repeats).

1,000 customers (each in its own conversation, each having started the echo flow) write at
offered rates stepped up (50, 100, 200, 400, 800, 1,600 steps per second, 10 s each):

- ``step_p50_ms`` / ``step_p99_ms``: of the step at the target rate (200 steps/s).  A
  message still unanswered at the end of its step's drain counts with its wait so far, so
  that a step that falls behind shows it (its percentiles are then lower bounds);
- ``flow_steps_per_s``: the highest answered rate of any step (replies per second between
  the step's first and last reply, so that a step that falls behind shows its service rate);
- ``max_rate_within_30ms``: the highest offered rate at which ``step_p99_ms`` stays <= 30 and
  the system keeps up (>= 95 % of the rate offered and answered, no webhook refused, every
  message answered by the end of the step's drain time: 3 s after its last webhook, 5 s in
  the full run);
- ``module_step_p99_ms`` (and p50): the same load at 200 steps/s from another 1,000
  customers whose flow calls a module in every step: the built-in ``rest_api`` module
  (``GET /customers/{wa_id}``, one field of the answer extracted) against the CRM stand-in
  (`pytake.standins.apis.CrmApiStandIn`, served in this process), its reply carrying the field.

Steps up to the target rate always run; above it the stepping stops at the first step that
fails, and the full run then bisects twice between the highest passing and the lowest
failing rate.  Before each step (warm-ups included) the bench waits, at most 6 s (30 s in the
full run), for the replies the earlier steps still owe, so that a step is not measured on the
backlog of the one before.

The flows (written here, validated against the installed modules and published into the
run's database before the server starts):

- ``bench_echo`` (``PYTAKE_FLOWS_DEFAULT``): ``hello`` (send_text, once, when the flow
  starts) → ``listen`` (silence_timeout, 1 h, the message into ``vars.answer``) → ``echo``
  (send_text ``{{vars.answer}}``) → back to ``listen``.  A step runs two nodes, writes two
  ``flow_executions`` rows, re-arms one timer and sends one message.
- ``bench_module`` (started by the keyword ``consulta``, ``PYTAKE_FLOWS_KEYWORDS``): the same
  with ``lookup``, a ``call_module`` of ``rest_api``/``call``, between ``listen`` and the
  reply: ``ok`` → the text and the CRM's name for the customer; ``not_found`` and ``error``
  → replies starting ``NAO ENCONTRADO`` and ``ERRO``, counted as failures of the step.  Its
  configuration (base URL, a Bearer token: a secret, so encrypted under
  ``PYTAKE_SECRET_KEY``) is stored for the business number (the tenant) with
  `pytake.modules.ModuleConfigs`.

Set-up, not measured: a PostgreSQL database made for the run (``pytake_bench_<hex>``,
migrated, dropped at the end) and a Redis key prefix (its keys deleted at the end), as for
``benchmarks.webhook``; the real server (``pytake serve``) in a subprocess, its Cloud API
pointed at the stand-in (`pytake.standins.whatsapp.CloudApiStandIn`, served in this process) and
its send governor opened wide (``whatsapp_send_rate`` 100,000/s, no pair interval) so that it
is not what is measured.  Each customer's first message starts its flow; the set-up waits
for every flow's ``hello``.

Load: open loop (each webhook started on schedule, whatever the earlier ones are doing; at
most 256 in flight), round-robin over the customers, one text message per POST, signed as
Meta does, over keep-alive HTTP/1.1 connections (h11 on trio sockets; the helpers of
``benchmarks.agents``).  No retries: a non-200 counts as a failure; no status webhooks
follow the replies.  Customers and both stand-ins share this process; the server is another,
and PostgreSQL others, all on this machine's cores.  Each step shows the CPU of this process
and the server's (``client_cpu``, ``server_cpu``, ``writer_cpu`` for its database writer
process: fractions of one core) and of the whole
machine (``machine_busy``: fraction of all cores); the same is measured for a second with no
load (``*_idle_*``).  pytake runs with its default settings otherwise (log level info, access
log on).  At the end, the server's warnings and errors during the run are counted and the
first distinct ones shown.

``--quick``: 100 customers per flow, steps of 50, 100, 200, 400 and 800 steps/s (stopping
above 200 at the first failure), 4 s each.
Where the servers are: ``PYTAKE_BENCH_PG_ADMIN_URL`` and ``PYTAKE_BENCH_REDIS_URL`` (see
``benchmarks.store``).
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import attrs
import psycopg
import trio
from sqlalchemy.orm import Session

from pytake.flowrun import publish
from pytake.flows import validate
from pytake.modules import ModuleConfigs, ModuleRegistry, SecretBox
from pytake.standins.apis import CrmApiStandIn, run_app
from pytake.standins.whatsapp import (
    Business,
    CloudApiStandIn,
    Customer,
    make_customers,
    run_standin,
)
from pytake.standins.whatsapp._payloads import text_message
from pytake.store import Database

from ._report import parse_args, progress, report, run_main
from .agents import (
    LogProblems,
    Usage,
    Webhooks,
    _until_signalled,
    collector_paused,
    log_problems,
)
from .store import (
    DEFAULT_REDIS_URL,
    REDIS_ENV,
    analyze,
    pct_or_none,
    pg_database,
    psycopg_url,
    redis_prefix,
)
from .webhook import Server, free_port, pytake_server

ACCESS_TOKEN = "bench-access-token"
CRM_TOKEN = "bench-crm-token"
#: The issue's target: step p99 <= LIMIT_MS at this many steps per second.
TARGET_RATE = 200
LIMIT_MS = 30.0
#: Webhook POSTs in flight at most; past it the generator waits (the offered rate drops).
MAX_IN_FLIGHT = 256
#: A step keeps up if it offered and answered at least this share of its rate.
KEEP_UP = 0.95
#: First messages (flow starts) in flight at once during the set-up.
OPEN_AT_ONCE = 32
#: Seconds with no load, to see what the processes use when idle.
IDLE_S = 1.0
#: The flows' silence timeout: longer than any run, so it never fires.
SILENCE_S = 3600

ECHO_FLOW = "bench_echo"
MODULE_FLOW = "bench_module"
MODULE_KEYWORD = "consulta"
ECHO_READY = "Pode escrever: eu repito cada mensagem."
MODULE_READY = "Pode escrever: consulto o seu cadastro e repito cada mensagem."
NOT_FOUND_PREFIX = "NAO ENCONTRADO "
ERROR_PREFIX = "ERRO "
TOKEN = re.compile(r"\[#(\d+)\]")
_TEXTS = (
    "Oi, meu pedido ainda não chegou",
    "Vocês entregam no sábado?",
    "Quero trocar o tamanho da camiseta",
    "Qual o prazo para o reembolso?",
)


def echo_flow() -> dict[str, Any]:
    return {
        "format": 1,
        "id": ECHO_FLOW,
        "name": "Benchmark: eco",
        "description": "benchmarks.flows: answers every message with its text.",
        "start": "hello",
        "nodes": [
            {"id": "hello", "type": "send_text", "text": ECHO_READY},
            {"id": "listen", "type": "silence_timeout", "seconds": SILENCE_S,
             "variable": "answer"},
            {"id": "echo", "type": "send_text", "text": "{{vars.answer}}"},
            {"id": "bye", "type": "end", "resolved": False},
        ],
        "edges": [
            {"from": "hello", "to": "listen"},
            {"from": "listen", "on": "reply", "to": "echo"},
            {"from": "listen", "on": "timeout", "to": "bye"},
            {"from": "echo", "to": "listen"},
        ],
    }


def module_flow() -> dict[str, Any]:
    return {
        "format": 1,
        "id": MODULE_FLOW,
        "name": "Benchmark: consulta e eco",
        "description": "benchmarks.flows: looks the customer up in the CRM (rest_api) at "
                       "every message, then answers with the text and the CRM's name.",
        "start": "hello",
        "nodes": [
            {"id": "hello", "type": "send_text", "text": MODULE_READY},
            {"id": "listen", "type": "silence_timeout", "seconds": SILENCE_S,
             "variable": "answer"},
            {"id": "lookup", "type": "call_module", "module": "rest_api", "action": "call",
             "inputs": {"url": "/customers/{{customer.wa_id}}", "extract": {"name": "name"}},
             "output": "crm", "timeout_seconds": 10},
            {"id": "answer", "type": "send_text", "text": "{{vars.answer}} — {{vars.crm.name}}"},
            {"id": "unknown", "type": "send_text", "text": NOT_FOUND_PREFIX + "{{vars.answer}}"},
            {"id": "failed", "type": "send_text",
             "text": ERROR_PREFIX + "{{vars.answer}}: {{vars.last_error}}"},
            {"id": "bye", "type": "end", "resolved": False},
        ],
        "edges": [
            {"from": "hello", "to": "listen"},
            {"from": "listen", "on": "reply", "to": "lookup"},
            {"from": "listen", "on": "timeout", "to": "bye"},
            {"from": "lookup", "on": "ok", "to": "answer"},
            {"from": "lookup", "on": "not_found", "to": "unknown"},
            {"from": "lookup", "on": "error", "to": "failed"},
            {"from": "answer", "to": "listen"},
            {"from": "unknown", "to": "listen"},
            {"from": "failed", "to": "listen"},
        ],
    }


@attrs.frozen
class Sizes:
    customers: int  # per flow
    rates: tuple[int, ...]  # steps per second, in order
    step_s: float
    warmup_s: float  # one step at the first rate before the measured ones (each flow)
    drain_cap_s: float  # longest wait, after a step's last webhook, for its replies
    setup_cap_s: float  # longest wait for every flow to have started
    settle_cap_s: float  # longest wait, before a step, for the earlier steps' replies
    bisect: int  # extra steps between the highest passing and lowest failing rate

    @classmethod
    def pick(cls, quick: bool) -> Sizes:
        if quick:
            return cls(100, (50, 100, TARGET_RATE, 400, 800), 4.0, 1.0, 3.0, 30.0, 6.0, 0)
        return cls(1000, (50, 100, TARGET_RATE, 400, 800, 1600), 10.0, 2.0, 5.0, 120.0, 30.0,
                   2)


# --- set-up -----------------------------------------------------------------------------------


async def prepare(database_url: str, secret_key: str, crm_url: str) -> list[str]:
    """Validate and publish both flows; store ``rest_api``'s configuration for the business
    number.  Returns one line per flow for the progress output."""
    registry = ModuleRegistry.discover()
    try:
        node_types = registry.node_types()
        documents = [echo_flow(), module_flow()]
        for document in documents:
            problems = validate(document, node_types=node_types, require_known_modules=True)
            if problems:
                raise RuntimeError(f"flow {document['id']} does not validate: " + "; ".join(
                    f"{p.path}: {p.message}" for p in problems))

        def store(session: Session) -> list[int]:
            return [publish(session, document) for document in documents]

        async with Database(database_url) as db:
            versions = await db.run(store)
            await ModuleConfigs(db, registry, SecretBox(secret_key)).save(
                "rest_api", {"base_url": crm_url, "bearer_token": CRM_TOKEN, "timeout": 5},
                tenant_key=Business().phone_number_id,
            )
    finally:
        await registry.aclose()
    return [f"{d['id']} v{v} ({len(d['nodes'])} nodes, {len(d['edges'])} edges)"
            for d, v in zip(documents, versions, strict=True)]


# --- steps ------------------------------------------------------------------------------------


@attrs.define(eq=False)
class Step:
    """One rate step while it runs."""

    flow: str
    rate: float
    seconds: float
    tokens: list[int] = attrs.Factory(list)
    ack: list[float] = attrs.Factory(list)  # seconds from POST to its 200
    failed: int = 0  # webhooks not answered 200
    started: float = 0.0  # time.time() at the first scheduled webhook
    offered_for: float = 0.0  # seconds over which the webhooks were started
    waiting: set[int] = attrs.Factory(set)  # acknowledged tokens not answered yet


def _rate(replies: list[float], answered: int, seconds: float) -> float:
    """Answered messages per second, between the step's first and last reply (so that the
    step's latency does not lower it; a step that falls behind shows its service rate)."""
    span = max(replies) - min(replies) if len(replies) >= 2 else 0.0
    if span < 0.5 * seconds:
        return answered / seconds
    return answered * (len(replies) - 1) / len(replies) / span


@attrs.frozen
class StepResult:
    flow: str
    rate: float
    offered_per_s: float
    steps_per_s: float
    sent: int
    webhook_failures: int
    unanswered: int  # acknowledged, no reply by the end of the step's drain
    failed_replies: int  # replies saying the module call failed (module flow)
    latency: list[float]  # answered messages, then the unanswered ones' wait so far
    early: int  # replies accepted before the POST's 200 was read (counted as 0 ms)
    ack: list[float]
    usage: dict[str, float]

    @property
    def p99_ms(self) -> float | None:
        return pct_or_none(self.latency, 0.99)

    @property
    def kept_up(self) -> bool:
        return (
            self.offered_per_s >= KEEP_UP * self.rate
            and self.steps_per_s >= KEEP_UP * self.rate
            and self.webhook_failures == 0
            and self.unanswered == 0
            and self.failed_replies == 0
        )

    @property
    def within(self) -> bool:
        p99 = self.p99_ms
        return p99 is not None and p99 <= LIMIT_MS

    @property
    def ok(self) -> bool:
        return self.kept_up and self.within

    def row(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "rate": round(self.rate),
            "offered_per_s": round(self.offered_per_s, 1),
            "steps_per_s": round(self.steps_per_s, 1),
            "sent": self.sent,
            "step_p50_ms": pct_or_none(self.latency, 0.50),
            "step_p99_ms": self.p99_ms,
            "step_max_ms": pct_or_none(self.latency, 1.0),
            "ack_p99_ms": pct_or_none(self.ack, 0.99),
            "webhook_failures": self.webhook_failures,
            "unanswered": self.unanswered,
            "failed_replies": self.failed_replies,
            **self.usage,
            "ok": self.ok,
        }

    def line(self) -> str:
        r = self.row()
        verdict = "ok" if self.ok else ("too slow" if self.kept_up else "did not keep up")
        lost = ""
        if self.webhook_failures or self.unanswered or self.failed_replies:
            lost = (f"; {self.webhook_failures} webhooks refused, {self.unanswered} messages "
                    f"unanswered by the end of the drain, {self.failed_replies} failure replies")
        bound = " (at least: unanswered messages count with their wait so far)" if (
            self.unanswered) else ""
        return (
            f"  {r['flow']} {r['rate']}/s: offered {r['offered_per_s']}/s, answered "
            f"{r['steps_per_s']}/s ({self.sent:,} messages); step p50 {r['step_p50_ms']} "
            f"p99 {r['step_p99_ms']} max {r['step_max_ms']} ms{bound}; webhook ack p99 "
            f"{r['ack_p99_ms']} ms{lost}; cpu: client {r['client_cpu']:.0%}, server "
            f"{r['server_cpu']:.0%} + writer {r['writer_cpu']:.0%}, machine "
            f"{r['machine_busy']:.0%} -> {verdict}"
        )


# --- the bench --------------------------------------------------------------------------------


class Bench:
    """The customers, the stand-ins, and the timings they leave."""

    def __init__(self, sizes: Sizes, server: Server, standin: CloudApiStandIn,
                 crm: CrmApiStandIn) -> None:
        self.sizes = sizes
        self.server = server
        self.standin = standin
        self.crm = crm
        self.webhooks = Webhooks(server.base + "/webhooks/whatsapp")
        everyone = make_customers(2 * sizes.customers)
        self.customers = {ECHO_FLOW: everyone[:sizes.customers],
                          MODULE_FLOW: everyone[sizes.customers:]}
        for customer in self.customers[MODULE_FLOW]:
            crm.add_customer(customer.wa_id, name=f"CRM {customer.name}")
        self.ready: dict[str, dict[str, float]] = {ECHO_FLOW: {}, MODULE_FLOW: {}}
        self.writers: dict[str, list[Customer]] = {}
        self.ack_at: dict[int, float] = {}  # token → time.time() when its POST got 200
        self.reply_at: dict[int, float] = {}  # token → the stand-in's acceptance time
        self.failure_replies: dict[int, str] = {}  # token → a NAO ENCONTRADO / ERRO reply
        self.step_of: dict[int, Step] = {}
        self.unanswered: set[int] = set()  # acknowledged tokens with no reply yet, any step
        self.duplicates = 0  # a second reply to one message
        self.receipts = 0  # read receipts (typing indicators) at the stand-in
        self.other_sends: list[str] = []  # any other message at the stand-in
        self.in_flight = trio.Semaphore(MAX_IN_FLIGHT)
        self._tokens = itertools.count(1)
        self._turn = 0

    # -- the stand-in -------------------------------------------------------------------------

    async def watch_standin(self) -> None:
        seen = 0
        ready_text = {ECHO_READY: ECHO_FLOW, MODULE_READY: MODULE_FLOW}
        while True:
            await self.standin.wait_for_more(seen)
            records = self.standin.sent[seen:]
            seen += len(records)
            for record in records:
                if record.is_read_receipt:
                    self.receipts += 1
                    continue
                text_obj = record.body.get("text")
                text = text_obj.get("body") if isinstance(text_obj, dict) else None
                found = TOKEN.search(text) if isinstance(text, str) else None
                if found is None:
                    flow = ready_text.get(text) if isinstance(text, str) else None
                    if flow is not None:
                        self.ready[flow].setdefault(record.wa_id, record.received_at)
                    else:
                        self.other_sends.append(f"{record.type}: {str(text)[:120]}")
                    continue
                assert isinstance(text, str)
                token = int(found.group(1))
                if token in self.reply_at:
                    self.duplicates += 1
                    continue
                self.reply_at[token] = record.received_at
                if text.startswith((NOT_FOUND_PREFIX, ERROR_PREFIX)):
                    self.failure_replies[token] = text
                self.unanswered.discard(token)
                step = self.step_of.get(token)
                if step is not None:
                    step.waiting.discard(token)

    # -- set-up -------------------------------------------------------------------------------

    async def start_flows(self) -> None:
        """One message from each customer: ``oi`` starts the echo flow (the default), the
        keyword the module flow; then wait for every flow's ``hello``."""
        slots = trio.Semaphore(OPEN_AT_ONCE)

        async def first(customer: Customer, text: str) -> None:
            try:
                message = text_message(customer, text, timestamp=int(time.time()))
                status = await self.webhooks.post(*self.webhooks.request(customer, message))
                if status != 200:
                    progress(f"  warning: {customer.wa_id}'s first message: HTTP {status}")
            finally:
                slots.release()

        starts = [(c, "oi") for c in self.customers[ECHO_FLOW]]
        starts += [(c, MODULE_KEYWORD) for c in self.customers[MODULE_FLOW]]
        async with trio.open_nursery() as nursery:
            for customer, text in starts:
                await slots.acquire()
                nursery.start_soon(first, customer, text)
        total = len(starts)

        def started() -> int:
            return sum(len(r) for r in self.ready.values())

        await self._until(lambda: started() >= total,
                          lambda: f"{started()}/{total} flows started", self.sizes.setup_cap_s)
        for flow, customers in self.customers.items():
            self.writers[flow] = [c for c in customers if c.wa_id in self.ready[flow]]
            if not self.writers[flow]:
                raise RuntimeError(f"no customer's {flow} flow started")
            if len(self.writers[flow]) < len(customers):
                progress(f"  warning: only {len(self.writers[flow])} of {len(customers)} "
                         f"{flow} flows started; the other customers stay silent")

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

    async def write(self, customer: Customer, step: Step) -> None:
        """One customer message in one signed webhook."""
        try:
            token = next(self._tokens)
            text = f"{_TEXTS[token % len(_TEXTS)]} [#{token}]"
            message = text_message(customer, text, timestamp=int(time.time()))
            self.step_of[token] = step
            step.tokens.append(token)
            body, headers = self.webhooks.request(customer, message)
            started = time.time()
            status = await self.webhooks.post(body, headers)
            done = time.time()
            if status != 200:
                step.failed += 1
                return
            self.ack_at[token] = done
            step.ack.append(done - started)
            if token not in self.reply_at:
                step.waiting.add(token)
                self.unanswered.add(token)
        finally:
            self.in_flight.release()

    async def offer(self, step: Step) -> None:
        """Start ``step.rate`` webhooks a second, on schedule, for ``step.seconds``."""
        interval = 1.0 / step.rate
        total = max(1, round(step.rate * step.seconds))
        customers = self.writers[step.flow]
        async with trio.open_nursery() as nursery:
            start = trio.current_time()
            step.started = time.time()
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
                nursery.start_soon(self.write, customer, step)
        step.offered_for = last - start + interval

    async def settle(self) -> None:
        """Wait (at most ``settle_cap_s``) for the replies the earlier steps still wait for,
        so that a step does not measure the backlog of the one before."""
        started = time.perf_counter()
        deadline = started + self.sizes.settle_cap_s
        while self.unanswered and time.perf_counter() < deadline:
            await trio.sleep(0.05)
        waited = time.perf_counter() - started
        if self.unanswered:
            progress(f"  warning: {len(self.unanswered)} earlier messages are still unanswered "
                     f"after {waited:.1f} s; the next step starts anyway")
        elif waited >= 0.5:
            progress(f"  (waited {waited:.1f} s for the earlier steps' replies)")

    async def step(self, flow: str, rate: float, seconds: float) -> StepResult:
        await self.settle()
        step = Step(flow, rate, seconds)
        with collector_paused():
            usage = Usage(self.server.proc.pid)
            await self.offer(step)
            deadline = time.perf_counter() + self.sizes.drain_cap_s
            while step.waiting and time.perf_counter() < deadline:
                await trio.sleep(0.01)
        self.server.check_alive()
        return self._result(step, usage.read())

    def _result(self, step: Step, usage: dict[str, float]) -> StepResult:
        latency: list[float] = []
        waited: list[float] = []
        early = failed_replies = answered = 0
        replies: list[float] = []
        now = time.time()
        for token in step.tokens:
            acked, replied = self.ack_at.get(token), self.reply_at.get(token)
            if acked is None:
                continue  # refused: counted as a webhook failure
            if replied is None:
                waited.append(now - acked)  # censored: it waits at least this long
                continue
            if token in self.failure_replies:
                failed_replies += 1
            else:
                answered += 1
            replies.append(replied)
            if replied < acked:
                early += 1
            latency.append(max(0.0, replied - acked))
        unanswered = len(waited)
        latency += waited
        return StepResult(
            flow=step.flow,
            rate=step.rate,
            offered_per_s=len(step.tokens) / max(step.offered_for, 1e-9),
            steps_per_s=_rate(replies, answered, step.seconds),
            sent=len(step.tokens),
            webhook_failures=step.failed,
            unanswered=unanswered,
            failed_replies=failed_replies,
            latency=latency,
            early=early,
            ack=step.ack,
            usage=usage,
        )

    async def _warm_up(self, flow: str, rate: float) -> None:
        seconds = self.sizes.warmup_s
        progress(f"warm-up: {flow} at {rate:g}/s for {seconds:g} s (not counted)")
        progress((await self.step(flow, rate, seconds)).line() + " (warm-up)")

    async def run_steps(self) -> list[StepResult]:
        sizes = self.sizes
        await self._warm_up(ECHO_FLOW, sizes.rates[0])
        results: list[StepResult] = []

        async def run(rate: float) -> StepResult:
            progress(f"step: {ECHO_FLOW}, {rate:g} steps/s offered for {sizes.step_s:g} s")
            result = await self.step(ECHO_FLOW, rate, sizes.step_s)
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

    async def run_module_step(self) -> StepResult:
        sizes = self.sizes
        await self._warm_up(MODULE_FLOW, sizes.rates[0])
        progress(f"step: {MODULE_FLOW}, {TARGET_RATE} steps/s offered for {sizes.step_s:g} s")
        result = await self.step(MODULE_FLOW, TARGET_RATE, sizes.step_s)
        progress(result.line())
        return result


# --- main -------------------------------------------------------------------------------------


@attrs.frozen
class Outcome:
    steps: list[StepResult]
    module: StepResult
    started_flows: dict[str, int]
    setup_s: float
    idle: dict[str, float]
    duplicates: int
    receipts: int
    other_sends: list[str]
    failure_samples: list[str]
    crm_requests: int
    log: LogProblems


async def measure(sizes: Sizes, server: Server, database_url: str, standin_port: int,
                  crm_port: int, started: float) -> Outcome:
    async with (
        run_standin(port=standin_port, token=ACCESS_TOKEN) as standin,
        run_app(CrmApiStandIn(token=CRM_TOKEN), port=crm_port) as crm,
        trio.open_nursery() as nursery,
    ):
        bench = Bench(sizes, server, standin, crm)
        nursery.start_soon(bench.watch_standin)
        progress(f"starting {2 * sizes.customers:,} flows (one message from each customer)")
        await bench.start_flows()
        setup_s = time.perf_counter() - started
        await trio.to_thread.run_sync(analyze, database_url)
        usage = Usage(server.proc.pid)
        await trio.sleep(IDLE_S)
        idle = usage.read()
        progress(f"idle for {IDLE_S:g} s: cpu client {idle['client_cpu']:.0%}, server "
                 f"{idle['server_cpu']:.0%}, machine {idle['machine_busy']:.0%}")
        steps = await bench.run_steps()
        module = await bench.run_module_step()
        log = log_problems(server.err_path)
        await bench.webhooks.aclose()
        nursery.cancel_scope.cancel()
    return Outcome(
        steps, module, {flow: len(w) for flow, w in bench.writers.items()}, setup_s, idle,
        bench.duplicates, bench.receipts, bench.other_sends,
        list(dict.fromkeys(t.split(": ", 1)[-1] for t in bench.failure_replies.values()))[:5],
        len(crm.requests), log,
    )


def count_flow_executions(database_url: str) -> int:
    """Rows in ``flow_executions``: the steps recorded (committed) by the end of the run."""
    with psycopg.connect(psycopg_url(database_url), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM flow_executions").fetchone()
    return int(row[0]) if row else 0


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
        f"{'quick run' if quick else 'full run'}: {sizes.customers:,} customers per flow, "
        f"steps of {rates} steps/s, {sizes.step_s:g} s each, then {TARGET_RATE}/s with a "
        f"module call per step"
        + (" (the full run: 1,000 customers per flow, 50/100/200/400/800/1600 steps/s, "
           "10 s each)" if quick else "")
    )

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pytake-bench-")))
        pg_url = stack.enter_context(pg_database())
        prefix = stack.enter_context(redis_prefix(redis_url))
        secret_key = secrets.token_urlsafe(48)
        standin_port, crm_port = free_port(), free_port()
        started = time.perf_counter()
        for line in trio.run(prepare, pg_url, secret_key, f"http://127.0.0.1:{crm_port}"):
            progress(f"published {line}")
        server = stack.enter_context(pytake_server(pg_url, redis_url, prefix, workdir, {
            "PYTAKE_SECRET_KEY": secret_key,
            "PYTAKE_WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "PYTAKE_WHATSAPP_API_BASE": f"http://127.0.0.1:{standin_port}",
            "PYTAKE_WHATSAPP_SEND_RATE": "100000",
            "PYTAKE_WHATSAPP_PAIR_INTERVAL": "0",
            "PYTAKE_WHATSAPP_MEDIA_DIR": str(workdir / "media"),
            "PYTAKE_FLOWS_DEFAULT": ECHO_FLOW,
            "PYTAKE_FLOWS_KEYWORDS": f"{MODULE_KEYWORD}={MODULE_FLOW}",
        }))
        server.wait_ok("/readyz")
        progress(f"pytake ready (pid {server.proc.pid}) in {time.perf_counter() - started:.1f} s")
        outcome = trio.run(_until_signalled, functools.partial(
            measure, sizes, server, pg_url, standin_port, crm_port, started))
        executions = count_flow_executions(pg_url)

    steps, module = outcome.steps, outcome.module
    at_target = next(r for r in steps if r.rate == TARGET_RATE)
    target_row, module_row = at_target.row(), module.row()
    for line in outcome.log.samples:
        progress(f"server log: {line}")
    for text in outcome.other_sends[:5]:
        progress(f"unexpected message at the stand-in: {text}")
    for reason in outcome.failure_samples:
        progress(f"module failure reply: {reason}")
    results = {
        "quick": quick,
        "customers_per_flow": sizes.customers,
        "flows_started": outcome.started_flows,
        "target_rate_per_s": TARGET_RATE,
        "step_p50_ms": target_row["step_p50_ms"],
        "step_p99_ms": target_row["step_p99_ms"],
        "webhook_ack_p99_ms": target_row["ack_p99_ms"],
        "flow_steps_per_s": round(max(r.steps_per_s for r in steps)),
        "max_rate_within_30ms": round(max((r.rate for r in steps if r.ok), default=0)),
        "module_step_p50_ms": module_row["step_p50_ms"],
        "module_step_p99_ms": module_row["step_p99_ms"],
        "module_steps_per_s": module_row["steps_per_s"],
        "module_step_kept_up": module.kept_up,
        "targets_met": at_target.ok,
        "steps": [r.row() for r in [*steps, module]],
        "step_s": sizes.step_s,
        "webhook_failures": sum(r.webhook_failures for r in [*steps, module]),
        "unanswered": sum(r.unanswered for r in [*steps, module]),
        "module_failure_replies": module.failed_replies,
        "answered_before_ack": sum(r.early for r in [*steps, module]),
        "duplicate_replies": outcome.duplicates,
        "other_standin_messages": len(outcome.other_sends),
        "standin_read_receipts": outcome.receipts,
        "crm_requests": outcome.crm_requests,
        "flow_executions_rows": executions,
        "server_log_warnings": outcome.log.counts.get("WARNING", 0),
        "server_log_errors": (outcome.log.counts.get("ERROR", 0)
                              + outcome.log.counts.get("CRITICAL", 0)),
        "client_idle_cpu": outcome.idle["client_cpu"],
        "server_idle_cpu": outcome.idle["server_cpu"],
        "machine_idle_busy": outcome.idle["machine_busy"],
        "setup_s": round(outcome.setup_s, 1),
        "wall_s": round(time.perf_counter() - wall, 1),
    }
    at = f"at {TARGET_RATE} steps/s offered"
    targets = {
        "step_p99_ms": f"<= {LIMIT_MS:g} {at}",
        "max_rate_within_30ms": "as high as the design allows",
        "targets_met": f"True: step p99 <= {LIMIT_MS:g} ms {at}, keeping up",
    }
    report("flows", results, targets, args.json)


if __name__ == "__main__":
    main()
