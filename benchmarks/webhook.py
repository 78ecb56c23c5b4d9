"""Webhook benchmark: ``python -m benchmarks.webhook [--quick] [--json PATH]``.

The real server (``pytake serve``, in a subprocess, against a PostgreSQL database made for
the run, ``pytake_bench_<hex>``, dropped at the end, and Redis under a key prefix unique to
the run, deleted at the end) is loaded with ``wrk`` posting correctly signed WhatsApp
notifications to ``/webhooks/whatsapp``: one text message each, every wamid unique, spread
over 1,000 customers, bodies and signatures made before the run (a body is never sent twice
unless ``bodies_reused`` says so; a re-sent body is a duplicate, which Meta sends too).
A 200 means the raw body is committed to the ``inbox`` table.

- peak: ``wrk -t2 -c32`` (closed loop, as fast as answers come) → ``acked_per_s`` (2xx
  answers per second: ``non_2xx`` answers are counted and excluded), ``ack_p50_ms``,
  ``ack_p99_ms`` (wrk's latency distribution, which includes any non-2xx answers);
- the same load against a bare ASGI app on Hypercorn's trio worker (``benchmarks._bare_asgi``:
  read the body, answer 200) → ``bare_hypercorn_per_s`` and ``ratio_vs_bare``;
- half load: the same connections, each pausing before every request (wrk's ``delay()``;
  exponentially distributed pauses, so arrivals are roughly Poisson) so that the offered rate
  is about half of ``acked_per_s`` (the mean pause is the period minus the mean latency
  measured by a short calibration run at that load) → ``half_load_offered_per_s``,
  ``half_load_acked_per_s``, ``ack_p50_ms_at_half``, ``ack_p99_ms_at_half``;
- processing (inbox → customers, conversations, messages, journal → conversation actors),
  from the start of the peak run until no inbox row is ``pending`` (the database polled every
  100 ms) → ``processed_per_s``, ``inbox_backlog_at_end_of_load`` (pending rows when wrk
  finished), ``inbox_drain_s`` (from then until none is pending) and ``processing_keeps_up``
  (drained within 2 s of the load ending).

pytake runs with its default settings (log level info, so Hypercorn's access log is on),
except a shorter shutdown drain deadline.  wrk, the servers and PostgreSQL share this
machine's cores, as they would on a small host.
Where the servers are: ``PYTAKE_BENCH_PG_ADMIN_URL`` and ``PYTAKE_BENCH_REDIS_URL`` (see
``benchmarks.store``); ``PYTAKE_BENCH_WRK`` names the wrk binary (default ``wrk``).
``PYTAKE_BENCH_SERVER_ENV`` gives the server other settings (``"PYTAKE_X=1 PYTAKE_Y=2"``;
the agents and flows benchmarks read it too).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import attrs
import psycopg

from pytake.whatsapp import sign

from ._report import parse_args, progress, report
from .store import (
    DEFAULT_REDIS_URL,
    REDIS_ENV,
    analyze,
    pg_database,
    psycopg_url,
    redis_prefix,
)

WRK_ENV = "PYTAKE_BENCH_WRK"
SERVER_ENV = "PYTAKE_BENCH_SERVER_ENV"
APP_SECRET = "bench-app-secret"
VERIFY_TOKEN = "bench-verify-token"
PHONE_NUMBER_ID = "420000000000002"
WABA_ID = "310000000000001"
CUSTOMERS = 1000
THREADS = 2
CONNECTIONS = 32
#: wrk's per-request timeout: longer than the webhook's own 5 s storage timeout, so that every
#: answer is timed (wrk leaves timed-out requests out of its latency distribution).
WRK_TIMEOUT_S = 10
#: Bodies made per phase: this rate (well above what one Python process acknowledges) times
#: the phase's length; more are made for the half-load phase once the peak is known.
BODY_RATE_CEILING = 6000
#: Seconds after the end of the load within which the inbox must be drained to keep up.
KEEPS_UP_WITHIN_S = 2.0
POLL_S = 0.1
#: How much later than asked wrk's millisecond timers fire, on average (a guess).
TIMER_SLACK_MS = 0.5

_TEXTS = [
    "Olá, gostaria de saber o status do meu pedido",
    "Oi! Vocês entregam no sábado?",
    "Meu pedido chegou com defeito 😕 o que faço?",
    "Quero trocar o tamanho da camiseta / pedido 1234",
    "Obrigado pelo atendimento!",
    "Qual o horário de funcionamento da loja?",
    "Posso pagar com Pix?",
    "Não recebi o código de rastreio",
]


@attrs.frozen
class Sizes:
    phase_s: int  # peak, bare and half-load runs
    warmup_s: int
    calibrate_s: int
    drain_cap_s: float  # longest wait for the inbox to drain after the peak run
    settle_cap_s: float  # longest wait for it before the other runs

    @classmethod
    def pick(cls, quick: bool) -> Sizes:
        if quick:
            return cls(phase_s=8, warmup_s=1, calibrate_s=2, drain_cap_s=6.0, settle_cap_s=2.0)
        return cls(phase_s=25, warmup_s=2, calibrate_s=4, drain_cap_s=60.0, settle_cap_s=20.0)


# --- bodies -----------------------------------------------------------------------------------


def encode(doc: dict[str, Any]) -> bytes:
    """Like Meta: compact, non-ASCII escaped as \\uXXXX, "/" escaped."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


def notification(sender: str, wamid: str, timestamp: str, text: str, name: str) -> dict[str, Any]:
    """A Cloud API notification carrying one text message (as ``tests.webhook_support``)."""
    message = {"from": sender, "id": wamid, "timestamp": timestamp, "type": "text",
               "text": {"body": text}}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": name}, "wa_id": sender}],
        "messages": [message],
    }
    return {"object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}]}


class BodyMaker:
    """Signed notifications, each with a new wamid, made by filling in a template (fast);
    the first one is checked against `encode(notification(...))`."""

    def __init__(self) -> None:
        self.run = secrets.token_hex(4)
        self.count = 0
        self.template = encode(
            notification("@SENDER@", "@WAMID@", "@TS@", "@TEXT@", "@NAME@")
        ).decode()
        self.texts = [encode({"t": t}).decode()[6:-2] for t in _TEXTS]  # {"t":"..."}
        sender, wamid, ts, text, name = self._fields(0)
        made = self._render(0)
        assert made == encode(notification(sender, wamid, ts, _TEXTS[text], name)), made

    def _fields(self, i: int) -> tuple[str, str, str, int, str]:
        customer = i % CUSTOMERS
        sender = f"55119{(7919 * customer) % 10**8:08d}"
        wamid = f"wamid.HBgM{self.run}{i:012d}"
        ts = str(1_767_225_600 + i // 50)
        return sender, wamid, ts, i % len(_TEXTS), f"Cliente {customer}"

    def _render(self, i: int) -> bytes:
        sender, wamid, ts, text, name = self._fields(i)
        return (
            self.template.replace("@SENDER@", sender)
            .replace("@WAMID@", wamid)
            .replace("@TS@", ts)
            .replace("@TEXT@", self.texts[text])
            .replace("@NAME@", name)
            .encode()
        )

    def write(self, prefix: Path, count: int) -> int:
        """Write ``count`` new signed bodies, spread over one file per wrk thread
        (``<prefix><thread>``, lines ``signature<TAB>body``); return their total size."""
        files = [open(f"{prefix}{t}", "wb") for t in range(THREADS)]  # noqa: SIM115
        size = 0
        try:
            for n in range(count):
                body = self._render(self.count)
                self.count += 1
                line = sign(body, APP_SECRET).encode() + b"\t" + body + b"\n"
                size += len(body)
                files[n % THREADS].write(line)
        finally:
            for fh in files:
                fh.close()
        return size


# --- wrk --------------------------------------------------------------------------------------

_LUA = r"""
-- Generated by benchmarks/webhook.py.  Args: <bodies prefix> <delay ms, 0 for none>.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local prefix = args[1]
  delay_ms = tonumber(args[2]) or 0
  math.randomseed(1234 + tid)
  sigs, bodies = {}, {}
  for line in io.lines(prefix .. tid) do
    local tab = line:find("\t", 1, true)
    sigs[#sigs + 1] = line:sub(1, tab - 1)
    bodies[#bodies + 1] = line:sub(tab + 1)
  end
  count = #bodies
  index = 0
  wrapped = 0
  headers = {["Content-Type"] = "application/json", ["User-Agent"] = "facebookexternalua"}
end

function request()
  index = index + 1
  if index > count then
    index = 1
    wrapped = wrapped + 1
  end
  headers["X-Hub-Signature-256"] = sigs[index]
  return wrk.format("POST", "/webhooks/whatsapp", headers, bodies[index])
end
"""

_LUA_DELAY = r"""
function delay()
  -- Exponential pauses, so that arrivals are roughly Poisson (independent customers) rather
  -- than 32 connections in lockstep; mean delay_ms.  wrk's timers take whole milliseconds:
  -- rounding up with probability equal to the fraction keeps the mean.
  -- Capped below Hypercorn's 5 s keep-alive timeout, which would otherwise close the idle
  -- connection under wrk (a read error, and a reconnect).
  local pause = math.min(-math.log(1 - math.random()) * delay_ms, 4500)
  return math.floor(pause + math.random())
end
"""

_LUA_DONE = r"""
function done(summary, latency, requests)
  local wrapped_total, sent = 0, 0
  for _, thread in ipairs(threads) do
    local w = thread:get("wrapped") or 0
    local c = thread:get("count") or 0
    local i = thread:get("index") or 0
    wrapped_total = wrapped_total + w
    sent = sent + w * c + i
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration_us":%d,"requests":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"wrapped":%d,"sent":%d}\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean, wrapped_total, sent))
end
"""


@attrs.frozen
class WrkResult:
    duration_s: float
    requests: int  # answers received
    non_2xx: int  # answers with a status of 400 or more (wrk's "Non-2xx or 3xx responses")
    socket_errors: int  # connect, read, write errors and timeouts
    socket_detail: str
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    mean_ms: float
    wrapped: int  # times a thread went through its bodies again
    sent: int  # requests handed to wrk's connections (answered or not)

    @property
    def per_s(self) -> float:
        return self.requests / self.duration_s

    @property
    def acked(self) -> int:
        return self.requests - self.non_2xx

    @property
    def acked_per_s(self) -> float:
        return self.acked / self.duration_s

    def line(self) -> str:
        problems = ""
        if self.non_2xx or self.socket_errors:
            problems = f", {self.non_2xx:,} non-2xx"
            if self.socket_errors:
                problems += f", socket errors: {self.socket_detail}"
        return (
            f"{self.requests:,} answers in {self.duration_s:.1f} s = {self.per_s:,.0f}/s, "
            f"p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms, max {self.max_ms:.1f} ms"
            f"{problems}"
        )


class Wrk:
    def __init__(self, workdir: Path) -> None:
        self.binary = os.environ.get(WRK_ENV) or "wrk"
        if shutil.which(self.binary) is None:
            raise SystemExit(f"benchmarks.webhook: {self.binary} not found (set {WRK_ENV})")
        self.plain = workdir / "post.lua"
        self.plain.write_text(_LUA + _LUA_DONE)
        self.paced = workdir / "post-paced.lua"
        self.paced.write_text(_LUA + _LUA_DELAY + _LUA_DONE)

    def start(self, url: str, bodies: Path, seconds: int, delay_ms: float = 0.0) -> WrkRun:
        script = self.paced if delay_ms > 0 else self.plain
        command = [
            self.binary, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
            f"--timeout={WRK_TIMEOUT_S}s", "-s", str(script), url,
            "--", str(bodies), f"{delay_ms:.3f}",
        ]
        return WrkRun(
            subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True,  # Ctrl-C reaches us; we stop it
            )
        )

    def run(self, url: str, bodies: Path, seconds: int, delay_ms: float = 0.0) -> WrkResult:
        return self.start(url, bodies, seconds, delay_ms).result()


class WrkRun:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    def running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def result(self) -> WrkResult:
        try:
            output, _ = self.proc.communicate()
        finally:
            self.kill()
        found = [line for line in output.splitlines() if line.startswith("WRKJSON ")]
        if self.proc.returncode != 0 or not found:
            raise RuntimeError(f"wrk failed (exit status {self.proc.returncode}):\n{output}")
        doc = json.loads(found[-1].removeprefix("WRKJSON "))
        return WrkResult(
            duration_s=doc["duration_us"] / 1e6,
            requests=doc["requests"],
            non_2xx=doc["status"],
            socket_errors=doc["connect"] + doc["read"] + doc["write"] + doc["timeout"],
            socket_detail=", ".join(
                f"{doc[k]} {k}" for k in ("connect", "read", "write", "timeout") if doc[k]
            ),
            p50_ms=doc["p50_us"] / 1e3,
            p90_ms=doc["p90_us"] / 1e3,
            p99_ms=doc["p99_us"] / 1e3,
            p999_ms=doc["p999_us"] / 1e3,
            max_ms=doc["max_us"] / 1e3,
            mean_ms=doc["mean_us"] / 1e3,
            wrapped=doc["wrapped"],
            sent=doc["sent"],
        )


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class Server:
    """A server subprocess with its output in files; stopped with SIGTERM."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path,
                 port: int) -> None:
        self.name = name
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.out_path = workdir / f"{name}.stdout"
        self.err_path = workdir / f"{name}.stderr"
        self._out: IO[bytes] = open(self.out_path, "wb")  # noqa: SIM115
        self._err: IO[bytes] = open(self.err_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            command, env=env, stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches us; we stop it in order
        )

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with status {self.proc.returncode}; its stderr ends:\n"
                f"{_tail(self.err_path)}\n{_tail(self.out_path, 10)}"
            )

    def wait_ok(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                with urllib.request.urlopen(self.base + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: {path} not 200 after {timeout:g} s:\n"
                                   f"{_tail(self.err_path)}")
            time.sleep(0.1)

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                progress(f"{self.name} did not stop in {timeout:g} s; killing it")
                self.proc.kill()
                self.proc.wait()
        elif self.proc.returncode != 0:
            progress(f"{self.name} had exited with status {self.proc.returncode}; stderr ends:\n"
                     f"{_tail(self.err_path)}")
        self._out.close()
        self._err.close()


@contextmanager
def server(name: str, command: list[str], env: dict[str, str], workdir: Path,
           port: int) -> Iterator[Server]:
    srv = Server(name, command, env, workdir, port)
    try:
        yield srv
    finally:
        with _no_interrupts():
            srv.stop()


def _clean_environ() -> dict[str, str]:
    """Our environment without PYTAKE_* (unknown ones stop pytake) and PORT."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTAKE_") and k != "PORT"}


def server_settings() -> dict[str, str]:
    """``PYTAKE_*`` settings for the server from ``PYTAKE_BENCH_SERVER_ENV``
    (``"PYTAKE_X=1 PYTAKE_Y=2"``), to measure other settings than the defaults; they win over
    the benchmark's own."""
    pairs = os.environ.get(SERVER_ENV, "").split()
    settings = dict(pair.partition("=")[::2] for pair in pairs)
    bad = [k for k in settings if not k.startswith("PYTAKE_")]
    if bad:
        raise SystemExit(f"{SERVER_ENV}: not PYTAKE_* settings: {', '.join(bad)}")
    return settings


def pytake_server(
    database_url: str, redis_url: str, prefix: str, workdir: Path,
    extra_env: Mapping[str, str] | None = None,
) -> AbstractContextManager[Server]:
    """``pytake serve`` on a free port with the settings above, plus ``extra_env`` (more
    ``PYTAKE_*`` settings, which win)."""
    port = free_port()
    env = _clean_environ() | {
        "PYTAKE_DATABASE_URL": database_url,
        "PYTAKE_REDIS_URL": redis_url,
        "PYTAKE_REDIS_PREFIX": prefix,
        "PYTAKE_WHATSAPP_APP_SECRET": APP_SECRET,
        "PYTAKE_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        # Only shortens the shutdown at the end (a backlog is not worth waiting for).
        "PYTAKE_ACTORS__DRAIN_DEADLINE": "3",
    } | dict(extra_env or {}) | server_settings()
    pytake = Path(sys.executable).with_name("pytake")
    command = [str(pytake)] if pytake.exists() else [sys.executable, "-m", "pytake.cli"]
    command += ["serve", "--host", "127.0.0.1", "--port", str(port)]
    return server("pytake", command, env, workdir, port)


def bare_server(workdir: Path) -> AbstractContextManager[Server]:
    port = free_port()
    command = [sys.executable, "-m", "benchmarks._bare_asgi", "--port", str(port)]
    env = _clean_environ()
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return server("bare-hypercorn", command, env, workdir, port)


# --- the inbox --------------------------------------------------------------------------------


class Inbox:
    """Polls the ``inbox`` table over its own connection, cheaply (the ``(state, id)`` index
    and the primary key), so as not to load the database it measures."""

    def __init__(self, database_url: str) -> None:
        self.conn = psycopg.connect(psycopg_url(database_url), autocommit=True)

    def poll(self) -> tuple[int, int]:
        """Pending rows, and the newest row's id (0 if none)."""
        row = self.conn.execute(
            "SELECT (SELECT count(*) FROM inbox WHERE state = 'pending'),"
            " (SELECT coalesce(max(id), 0) FROM inbox)"
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def finished(self) -> int:
        """Rows no longer pending (processed, or dead: both are done with)."""
        row = self.conn.execute("SELECT count(*) FROM inbox WHERE state <> 'pending'").fetchone()
        return int(row[0]) if row else 0

    def drained_at(self, cap_s: float) -> float | None:
        """Wait until no row is pending and none has arrived for a poll (requests still in
        flight when wrk stopped are still stored); return when that was first seen, or
        ``None`` if not within ``cap_s``."""
        deadline = time.perf_counter() + cap_s
        previous: tuple[int, int, float] | None = None
        while True:
            now = time.perf_counter()
            pending, newest = self.poll()
            if pending == 0 and previous is not None and previous[:2] == (0, newest):
                return previous[2]
            previous = (pending, newest, now)
            if now > deadline:
                return None
            time.sleep(POLL_S)

    def close(self) -> None:
        self.conn.close()


@attrs.frozen
class Drain:
    processed: int
    elapsed_s: float  # from the start of the load until drained (or until we gave up)
    backlog_at_end: int  # pending rows when the load ended
    drain_s: float | None  # from the end of the load until drained; None if it did not
    peak_backlog: int


def load_and_drain(run: WrkRun, inbox: Inbox, started: float, cap_s: float,
                   finished_before: int) -> tuple[WrkResult, Drain]:
    """Wait for ``run`` while polling the inbox, then until the inbox is drained (at most
    ``cap_s``)."""
    peak_backlog = 0
    try:
        while run.running():
            peak_backlog = max(peak_backlog, inbox.poll()[0])
            time.sleep(POLL_S)
    finally:
        run.kill()  # only if we were interrupted
    load_end = time.perf_counter()
    backlog = inbox.poll()[0]
    result = run.result()
    drained_at = inbox.drained_at(cap_s)
    end = drained_at if drained_at is not None else time.perf_counter()
    return result, Drain(
        processed=inbox.finished() - finished_before,
        elapsed_s=end - started,
        backlog_at_end=backlog,
        drain_s=None if drained_at is None else max(0.0, drained_at - load_end),
        peak_backlog=max(peak_backlog, backlog),
    )


def settle(inbox: Inbox, cap_s: float, before: str) -> None:
    if inbox.drained_at(cap_s) is None:
        progress(f"  warning: {before} starts with {inbox.poll()[0]:,} inbox rows pending")


# --- main -------------------------------------------------------------------------------------


@contextmanager
def _no_interrupts() -> Iterator[None]:
    """Let clean-up finish even if Ctrl-C is pressed again."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    # Raised here rather than re-sent as SIGINT: a process started in the background by a
    # non-interactive shell inherits SIGINT ignored, and the clean-up would never run.  Only
    # once: a second SIGTERM must not cut the clean-up short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    interrupted = False
    try:
        _main()
    except KeyboardInterrupt:
        interrupted = True
    if interrupted:
        progress("interrupted (everything the run created has been removed)")
        sys.exit(130)


def _bodies(maker: BodyMaker, workdir: Path, name: str, count: int) -> Path:
    prefix = workdir / f"bodies-{name.replace(' ', '-')}-"
    started = time.perf_counter()
    size = maker.write(prefix, count)
    progress(f"{count:,} signed bodies for {name} ({size / count:.0f} bytes each) "
             f"in {time.perf_counter() - started:.1f} s")
    return prefix


def _main() -> None:
    args = parse_args(__doc__ or "")
    quick: bool = args.quick
    sizes = Sizes.pick(quick)
    redis_url = os.environ.get(REDIS_ENV) or DEFAULT_REDIS_URL
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    wall = time.perf_counter()
    path = "/webhooks/whatsapp"
    load = f"wrk -t{THREADS} -c{CONNECTIONS}"

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pytake-bench-")))
        wrk = Wrk(workdir)
        maker = BodyMaker()
        warm = _bodies(maker, workdir, "warm-up", BODY_RATE_CEILING * sizes.warmup_s)
        peak_bodies = _bodies(maker, workdir, "peak", BODY_RATE_CEILING * sizes.phase_s)

        # The baseline first, alone on the machine (it gets the same bodies; it ignores them).
        progress("starting the bare Hypercorn app")
        with bare_server(workdir) as bare:
            bare.wait_ok("/")
            wrk.run(bare.base + path, warm, sizes.warmup_s)
            progress(f"bare Hypercorn: {load}, {sizes.phase_s} s")
            bare_run = wrk.run(bare.base + path, peak_bodies, sizes.phase_s)
            bare.check_alive()
            progress(f"  {bare_run.line()}")

        pg_url = stack.enter_context(pg_database())
        prefix = stack.enter_context(redis_prefix(redis_url))
        progress("starting pytake serve")
        started = time.perf_counter()
        pytake = stack.enter_context(pytake_server(pg_url, redis_url, prefix, workdir))
        pytake.wait_ok("/readyz")
        progress(f"pytake ready in {time.perf_counter() - started:.1f} s")
        inbox = Inbox(pg_url)
        stack.callback(inbox.close)
        webhook = pytake.base + path

        warm_run = wrk.run(webhook, warm, sizes.warmup_s)
        progress(f"warm-up: {warm_run.line()}")
        if warm_run.acked == 0:
            raise RuntimeError(f"no webhook was acknowledged during the warm-up; pytake's "
                               f"stderr ends:\n{_tail(pytake.err_path)}")
        settle(inbox, sizes.settle_cap_s, "the peak run")
        analyze(pg_url)

        progress(f"peak: {load}, {sizes.phase_s} s, then until the inbox is drained")
        peak, drain = load_and_drain(
            wrk.start(webhook, peak_bodies, sizes.phase_s), inbox, time.perf_counter(),
            sizes.drain_cap_s, inbox.finished(),
        )
        pytake.check_alive()
        progress(f"  {peak.line()}")
        drained = ("not drained" if drain.drain_s is None
                   else f"drained {drain.drain_s:.1f} s after the load")
        progress(f"  inbox: {drain.backlog_at_end:,} rows pending at the end of the load, "
                 f"{drained}: {drain.processed:,} processed in {drain.elapsed_s:.1f} s")
        if peak.acked == 0:
            raise RuntimeError("no webhook was acknowledged at peak")
        settle(inbox, sizes.settle_cap_s, "the half-load calibration")

        # Half load: each connection pauses before each request (wrk's delay()) so that
        # together they offer about half the peak: the mean pause is the period minus a
        # request's mean latency at that load, measured by a short calibration run.
        target = peak.acked_per_s / 2
        period_ms = CONNECTIONS * 1000 / target
        guess = max(0.0, period_ms - peak.p50_ms / 2)
        calib_bodies = _bodies(maker, workdir, "calibration",
                               math.ceil(peak.acked_per_s * sizes.calibrate_s) + 2 * CONNECTIONS)
        progress(f"calibrating the pause for {target:,.0f}/s offered: {guess:.2f} ms, "
                 f"{sizes.calibrate_s} s")
        calib = wrk.run(webhook, calib_bodies, sizes.calibrate_s, guess)
        pause = max(0.0, period_ms - calib.mean_ms - TIMER_SLACK_MS)
        progress(f"  {calib.line()}; mean {calib.mean_ms:.2f} ms")
        settle(inbox, sizes.settle_cap_s, "the half-load run")
        half_bodies = _bodies(maker, workdir, "half load",
                              math.ceil(peak.acked_per_s * sizes.phase_s) + 2 * CONNECTIONS)
        progress(f"half load: {target:,.0f}/s offered (pauses of {pause:.2f} ms on average), "
                 f"{sizes.phase_s} s")
        half, half_drain = load_and_drain(
            wrk.start(webhook, half_bodies, sizes.phase_s, pause), inbox, time.perf_counter(),
            0.0, 0,
        )
        pytake.check_alive()
        progress(f"  {half.line()}")

    reused = peak.wrapped + half.wrapped + calib.wrapped
    if reused:
        progress(f"note: {reused} times a wrk thread went through its bodies again (pytake "
                 f"saw those as duplicates)")
    results = {
        "quick": quick,
        "acked_per_s": round(peak.acked_per_s),
        "ack_p50_ms": round(peak.p50_ms, 2),
        "ack_p99_ms": round(peak.p99_ms, 2),
        "non_2xx": peak.non_2xx,
        "socket_errors": peak.socket_errors,
        "bare_hypercorn_per_s": round(bare_run.acked_per_s),
        "bare_p50_ms": round(bare_run.p50_ms, 2),
        "bare_p99_ms": round(bare_run.p99_ms, 2),
        "bare_non_2xx": bare_run.non_2xx,
        "ratio_vs_bare": round(peak.acked_per_s / max(bare_run.acked_per_s, 1e-9), 3),
        "half_load_target_per_s": round(target),
        "half_load_offered_per_s": round(half.sent / half.duration_s),
        "half_load_acked_per_s": round(half.acked_per_s),
        "ack_p50_ms_at_half": round(half.p50_ms, 2),
        "ack_p99_ms_at_half": round(half.p99_ms, 2),
        "ack_p999_ms_at_half": round(half.p999_ms, 2),
        "non_2xx_at_half": half.non_2xx,
        "socket_errors_at_half": half.socket_errors,
        "processed_per_s": round(drain.processed / drain.elapsed_s),
        "inbox_backlog_at_end_of_load": drain.backlog_at_end,
        "inbox_peak_backlog": drain.peak_backlog,
        "inbox_drain_s": None if drain.drain_s is None else round(drain.drain_s, 2),
        "processing_keeps_up": drain.drain_s is not None and drain.drain_s <= KEEPS_UP_WITHIN_S,
        "inbox_backlog_at_end_of_half_load": half_drain.backlog_at_end,
        "bodies_reused": reused,
        "connections": CONNECTIONS,
        "phase_s": sizes.phase_s,
        "wall_s": round(time.perf_counter() - wall, 1),
    }
    targets = {
        "ratio_vs_bare": ">= 0.5",
        "ack_p99_ms_at_half": "<= 50",
        "processing_keeps_up": f"True: drained within {KEEPS_UP_WITHIN_S:g} s of the load's end",
    }
    report("webhook", results, targets, args.json)


if __name__ == "__main__":
    main()
