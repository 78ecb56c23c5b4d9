"""Rate limits at the edge (pytake/web/_ratelimit.py): 429 with the RateLimit headers as a
problem document, per address and per user by route class, X-Forwarded-For believed only from
trusted proxies, the webhook never limited, agent socket handshakes and commands limited, one
budget for several nodes through Redis, in-process counting while Redis is down, and the
per-account sign-in back-off."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import trio

from pytake.config import load_settings
from pytake.engine import Engine
from pytake.identity import LoginLimiter
from pytake.store import MemoryRateCounters, RedisRateCounters, UserRole
from pytake.web import create_app
from pytake.web._ratelimit import RATE_LIMITS_EXTENSION, RateLimits

from ._support import brief, serving
from .agent_support import agent_client
from .service_instances import PrivateRedis
from .storage_fixtures import RedisTarget

PASSWORD = "correct horse battery staple"
SECRET = "r" * 48
ME = "/api/v1/auth/me"
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@asynccontextmanager
async def running(db: Path, **env: str) -> AsyncIterator[Engine]:
    settings = load_settings(environ={
        "PYTAKE_DATABASE_URL": f"sqlite:///{db}", "PYTAKE_SECRET_KEY": SECRET, **env,
    })
    engine = Engine(settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        try:
            yield engine
        finally:
            await engine.aclose()
            nursery.cancel_scope.cancel()


@asynccontextmanager
async def edge(db: Path, **env: str) -> AsyncIterator[tuple[Engine, httpx.AsyncClient]]:
    async with running(db, **env) as engine:
        app = create_app(engine)
        _LIMITS[id(engine)] = app.extensions[RATE_LIMITS_EXTENSION]
        async with serving(app) as client:
            yield engine, client


#: Each engine's app's limits (to reach its counters), by ``id(engine)``.
_LIMITS: dict[int, RateLimits] = {}


def limits_of(engine: Engine) -> RateLimits:
    return _LIMITS[id(engine)]


async def user(engine: Engine, role: UserRole = UserRole.AGENT) -> tuple[str, dict[str, str]]:
    email = f"{role}-{secrets.token_hex(4)}@example.com"
    await engine.identity.create_user(email, "Someone", role, PASSWORD)
    token = (await engine.identity.authenticate(email, PASSWORD)).access_token
    return email, {"Authorization": f"Bearer {token}"}


def assert_refused(response: httpx.Response, limit: int, window: int) -> None:
    assert response.status_code == 429, response.text
    assert brief(response)["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit-Limit"] == str(limit)
    assert response.headers["RateLimit-Remaining"] == "0"
    assert 0 <= int(response.headers["RateLimit-Reset"]) <= window
    assert response.headers["RateLimit-Policy"] == f"{limit};w={window}"


# --- REST, in process ----------------------------------------------------------------------


async def test_reads_per_user_answer_429_with_the_headers(tmp_path: Path) -> None:
    async with edge(tmp_path / "db", PYTAKE_RATE_LIMIT_READS_PER_USER="3") as (engine, client):
        _, alice = await user(engine)
        _, bob = await user(engine)
        remaining = []
        for _ in range(3):
            response = await client.get(ME, headers=alice)
            assert response.status_code == 200
            assert response.headers["RateLimit-Limit"] == "3"
            remaining.append(response.headers["RateLimit-Remaining"])
        assert remaining == ["2", "1", "0"]
        assert_refused(await client.get(ME, headers=alice), limit=3, window=60)
        # Per user: another user from the same address still reads, and writes are a class
        # of their own.
        assert (await client.get(ME, headers=bob)).status_code == 200
        logout = await client.post("/api/v1/auth/logout", json={"refresh_token": "x" * 20})
        assert logout.status_code == 204


async def test_the_window_ends_and_the_budget_is_back(tmp_path: Path) -> None:
    async with edge(tmp_path / "db", PYTAKE_RATE_LIMIT_WRITES_PER_IP="2",
                    PYTAKE_RATE_LIMIT_WINDOW="30") as (engine, client):
        limits = limits_of(engine)
        clock = FakeClock()
        assert isinstance(limits.counters, MemoryRateCounters)
        limits.counters.clock = clock
        # No token: counted by address only (the route then answers 401).
        statuses = [(await client.post("/api/v1/teams", json={})).status_code for _ in range(2)]
        assert statuses == [401, 401]
        refused = await client.post("/api/v1/teams", json={})
        assert_refused(refused, limit=2, window=30)
        assert refused.headers["Retry-After"] == "30"
        clock.advance(29.5)
        assert (await client.post("/api/v1/teams", json={})).headers["Retry-After"] == "1"
        clock.advance(0.5)
        assert (await client.post("/api/v1/teams", json={})).status_code == 401


async def test_sign_in_per_address(tmp_path: Path) -> None:
    async with edge(tmp_path / "db", PYTAKE_RATE_LIMIT_SIGN_IN_PER_IP="2") as (engine, client):
        email, _ = await user(engine)
        body = {"email": email, "password": PASSWORD}
        for _ in range(2):
            assert (await client.post("/api/v1/auth/login", json=body)).status_code == 200
        assert_refused(await client.post("/api/v1/auth/login", json=body), limit=2, window=60)
        # Health checks and reads are not sign-ins.
        assert (await client.get("/healthz")).status_code == 200


async def test_forwarded_for_is_believed_only_from_trusted_proxies(tmp_path: Path) -> None:
    async with edge(tmp_path / "db", PYTAKE_RATE_LIMIT_READS_PER_IP="2",
                    PYTAKE_TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1") as (_engine, client):
        def via(*hops: str) -> dict[str, str]:
            return {"X-Forwarded-For": ", ".join(hops)}

        for _ in range(2):
            assert (await client.get(ME, headers=via("203.0.113.5"))).status_code == 401
        assert_refused(await client.get(ME, headers=via("203.0.113.5")), limit=2, window=60)
        # Another client behind the proxy has its own budget ...
        assert (await client.get(ME, headers=via("203.0.113.6"))).status_code == 401
        # ... and what the client wrote itself left of the proxies' hops is not believed:
        # 203.0.113.5 is the nearest untrusted hop, so it is still that client.
        spoofed = await client.get(ME, headers=via("198.51.100.1", "203.0.113.5", "10.1.2.3"))
        assert spoofed.status_code == 429

    async with edge(tmp_path / "db2", PYTAKE_RATE_LIMIT_READS_PER_IP="2",
                    PYTAKE_TRUSTED_PROXIES="10.0.0.0/8") as (_, client):
        # The peer (127.0.0.1) is not a trusted proxy: the header is ignored, so changing it
        # does not buy a new budget.
        statuses = [(await client.get(ME, headers={"X-Forwarded-For": f"203.0.113.{i}"}))
                    .status_code for i in range(3)]
        assert statuses == [401, 401, 429]


async def test_sign_in_attempts_count_per_client_behind_a_trusted_proxy(tmp_path: Path) -> None:
    async with edge(tmp_path / "db", PYTAKE_LOGIN_ATTEMPTS_PER_IP="2",
                    PYTAKE_TRUSTED_PROXIES="127.0.0.1") as (_, client):
        body = {"email": "nobody@example.com", "password": "wrong password here"}

        async def login(address: str) -> int:
            return (await client.post("/api/v1/auth/login", json=body,
                                      headers={"X-Forwarded-For": address})).status_code

        assert [await login("203.0.113.5") for _ in range(3)] == [401, 401, 429]
        # Another client behind the same proxy is not throttled by the first one's attempts.
        assert await login("203.0.113.6") == 401


def test_client_address_from_the_forwarded_chain() -> None:
    limits = RateLimits(MemoryRateCounters(), {},
                        trusted_proxies=[ipaddress.ip_network("10.0.0.0/8")])
    assert limits.client_ip("10.0.0.1", ["203.0.113.5"]) == "203.0.113.5"
    assert limits.client_ip("10.0.0.1", ["1.1.1.1, 203.0.113.5, 10.9.9.9"]) == "203.0.113.5"
    assert limits.client_ip("10.0.0.1", ["1.1.1.1", "203.0.113.5"]) == "203.0.113.5"
    assert limits.client_ip("192.0.2.1", ["203.0.113.5"]) == "192.0.2.1"
    assert limits.client_ip("10.0.0.1", ["not-an-address"]) == "10.0.0.1"
    assert limits.client_ip("10.0.0.1", []) == "10.0.0.1"
    assert limits.client_ip("10.0.0.1", ["10.0.0.2, 10.0.0.3"]) == "10.0.0.2"
    assert limits.client_ip(None, ["203.0.113.5"]) == "unknown"


async def test_the_webhook_is_never_limited(tmp_path: Path) -> None:
    async with edge(tmp_path / "db", PYTAKE_RATE_LIMIT_READS_PER_IP="1",
                    PYTAKE_RATE_LIMIT_WRITES_PER_IP="1",
                    PYTAKE_WHATSAPP_VERIFY_TOKEN="verify-me") as (_, client):
        for _ in range(5):
            post = await client.post("/webhooks/whatsapp", content=b'{"object":"x"}',
                                     headers={"Content-Type": "application/json"})
            get = await client.get("/webhooks/whatsapp", params={
                "hub.mode": "subscribe", "hub.verify_token": "verify-me",
                "hub.challenge": "42"})
            assert post.status_code != 429 and get.status_code == 200, (post, get)
            assert not any(h in post.headers or h in get.headers for h in RATE_HEADERS)
        # The same client is limited everywhere else.
        await client.get(ME)
        assert (await client.get(ME)).status_code == 429


# --- the agent socket ----------------------------------------------------------------------


async def handshake(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    """An agent socket handshake by hand: trio-websocket leaks its socket when a handshake is
    refused, and a refusal is what these tests look at (an accepted one answers 101)."""
    return await client.get("/ws/agent", headers={
        **headers, "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    })


async def test_socket_connects_per_user(tmp_path: Path) -> None:
    async with edge(tmp_path / "db", PYTAKE_RATE_LIMIT_SOCKET_CONNECTS_PER_USER="2") as (
        engine, client
    ):
        _, alice = await user(engine)
        _, bob = await user(engine)
        base = str(client.base_url)
        for _ in range(2):
            async with agent_client(base, alice["Authorization"][7:]):
                pass
        assert_refused(await handshake(client, alice), limit=2, window=60)
        async with agent_client(base, bob["Authorization"][7:]):
            pass  # another user connects from the same address


async def test_socket_connects_per_address(tmp_path: Path) -> None:
    async with edge(tmp_path / "db", PYTAKE_RATE_LIMIT_SOCKET_CONNECTS_PER_IP="1") as (
        engine, client
    ):
        _, alice = await user(engine)
        _, bob = await user(engine)
        base = str(client.base_url)
        async with agent_client(base, alice["Authorization"][7:]):
            pass
        assert_refused(await handshake(client, bob), limit=1, window=60)


async def test_socket_commands_per_user_are_rejected_not_closed(tmp_path: Path) -> None:
    async with edge(tmp_path / "db", PYTAKE_RATE_LIMIT_SOCKET_COMMANDS_PER_USER="2") as (
        engine, client
    ):
        _, alice = await user(engine, UserRole.SUPERVISOR)
        async with agent_client(str(client.base_url), alice["Authorization"][7:]) as desk:
            first = await desk.send("queue_stats", team=1)
            second = await desk.send("presence", status="online")
            assert first.get("code") != "rate_limited" and second.get("code") != "rate_limited"
            third = await desk.send("presence", status="away")
            assert third["type"] == "rejected" and third["code"] == "rate_limited", third
            assert 1 <= third["retry_after"] <= 60
            assert "retry in" in third["reason"]
            # Pings are not commands, and the socket is still open.
            assert (await desk.send("ping"))["type"] == "pong"
            assert desk.closed is None


# --- several nodes through Redis -------------------------------------------------------------


async def test_two_nodes_share_one_budget_through_redis(
    tmp_path: Path, redis_target: RedisTarget
) -> None:
    env = {"PYTAKE_REDIS_URL": redis_target.url,
           "PYTAKE_REDIS_PREFIX": f"{redis_target.prefix}{secrets.token_hex(4)}:",
           "PYTAKE_RATE_LIMIT_READS_PER_USER": "4"}
    db = tmp_path / "shared.db"
    async with edge(db, **env) as (one, first), edge(db, **env) as (two, second):
        for engine in (one, two):
            assert engine.redis is not None
            with trio.fail_after(10):
                await engine.redis.connected.wait()
        _, alice = await user(one)
        statuses = []
        for client in (first, second, first, second):
            response = await client.get(ME, headers=alice)
            statuses.append((response.status_code, response.headers["RateLimit-Remaining"]))
        assert statuses == [(200, "3"), (200, "2"), (200, "1"), (200, "0")]
        assert_refused(await second.get(ME, headers=alice), limit=4, window=60)
        assert_refused(await first.get(ME, headers=alice), limit=4, window=60)


async def test_redis_down_counts_in_process_without_errors(
    tmp_path: Path, private_redis: PrivateRedis
) -> None:
    async with edge(tmp_path / "db", PYTAKE_REDIS_URL=private_redis.url,
                    PYTAKE_RATE_LIMIT_READS_PER_USER="3") as (engine, client):
        assert engine.redis is not None
        with trio.fail_after(10):
            await engine.redis.connected.wait()
        _, alice = await user(engine)
        assert (await client.get(ME, headers=alice)).status_code == 200
        assert private_redis.cli("--scan", "--pattern", "pytake:rl:*").startswith("pytake:rl:")

        private_redis.stop()
        statuses = [(await client.get(ME, headers=alice)).status_code for _ in range(4)]
        # A fresh in-process window: three more, then refused; never a server error.
        assert statuses == [200, 200, 200, 429]
        limits = limits_of(engine)
        assert isinstance(limits.counters, RedisRateCounters)
        assert limits.counters.fallbacks == 8  # two windows a request: address and user


# --- the per-account sign-in back-off ------------------------------------------------------


def test_login_backoff_grows_per_account_and_success_clears_it() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(per_ip=1000, per_email=1000, clock=clock, backoff_after=3,
                           backoff_max=10)
    for _ in range(3):
        assert limiter.attempt("192.0.2.1", "Ana@example.com") == 0
        limiter.failed("ana@example.com ")
    assert limiter.attempt("192.0.2.9", "ana@example.com") == 1  # any address
    assert limiter.attempt("192.0.2.1", "other@example.com") == 0
    clock.advance(1)
    assert limiter.attempt("192.0.2.1", "ana@example.com") == 0
    limiter.failed("ana@example.com")
    assert limiter.backoff("ana@example.com") == 2
    for _ in range(5):
        clock.advance(limiter.backoff("ana@example.com"))
        limiter.failed("ana@example.com")
    assert limiter.backoff("ana@example.com") == 10  # capped at backoff_max
    clock.advance(10)
    limiter.succeeded("ana@example.com")
    limiter.failed("ana@example.com")
    assert limiter.backoff("ana@example.com") == 0


async def test_failed_sign_ins_back_off_over_http(tmp_path: Path) -> None:
    async with edge(tmp_path / "db") as (engine, client):
        clock = FakeClock()
        engine.identity.login_limiter = LoginLimiter(per_ip=1000, per_email=1000, clock=clock,
                                                     backoff_after=3)
        email, _ = await user(engine)

        async def login(password: str) -> httpx.Response:
            return await client.post("/api/v1/auth/login",
                                     json={"email": email, "password": password})

        for _ in range(3):
            assert (await login("wrong")).status_code == 401
        refused = await login(PASSWORD)  # even the right password waits
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        clock.advance(1)
        assert (await login("wrong")).status_code == 401
        assert (await login(PASSWORD)).headers["Retry-After"] == "2"
        clock.advance(2)
        assert (await login(PASSWORD)).status_code == 200
        assert engine.identity.login_limiter.backoff(email) == 0
