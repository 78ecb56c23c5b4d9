"""The auth routes and `require_role`, over real HTTP (Hypercorn on loopback) on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import argon2
import httpx
import pytest
from quart import Blueprint, Response, jsonify
from quart_trio import QuartTrio

from pytake.identity import IdentityService, LoginLimiter, Passwords
from pytake.store import Database
from pytake.web import (
    create_app,
    create_auth_blueprint,
    current_principal,
    register_error_handlers,
    require_role,
)

from ._support import brief, serving

if TYPE_CHECKING:
    from pytake.engine import Engine

KEY = "s" * 48
PASSWORD = "correct horse battery"
START = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def make_identity(db: Database, clock: FakeClock) -> IdentityService:
    return IdentityService(
        db,
        KEY,
        access_ttl=900,
        refresh_ttl=3600,
        clock=clock,
        passwords=Passwords(argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)),
        login_limiter=LoginLimiter(per_ip=100, per_email=10, clock=clock),
    )


def protected_routes() -> Blueprint:
    """Routes of another blueprint, guarded the way every API route will be."""
    bp = Blueprint("protected", __name__)

    @bp.get("/api/v1/test/admin")
    @require_role("admin")
    async def admin_only() -> Response:
        return jsonify({"hello": current_principal().email})

    @bp.get("/api/v1/test/staff")
    @require_role("admin", "supervisor")
    async def staff() -> Response:
        return jsonify({"role": str(current_principal().role)})

    return bp


def build_app(identity: IdentityService) -> QuartTrio:
    app = QuartTrio("test-auth", static_folder=None)
    register_error_handlers(app)
    app.register_blueprint(create_auth_blueprint(identity))
    app.register_blueprint(protected_routes())
    return app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def identity(pg_url: str, clock: FakeClock) -> AsyncIterator[IdentityService]:
    async with Database(pg_url) as db:
        yield make_identity(db, clock)


@pytest.fixture
async def client(identity: IdentityService) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(build_app(identity)) as client:
        yield client


async def new_user(identity: IdentityService, role: str = "agent") -> str:
    email = unique_email(role)
    await identity.create_user(email, role.title(), role, PASSWORD)
    return email


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- login ---------------------------------------------------------------------------------


async def test_login_and_me(client: httpx.AsyncClient, identity: IdentityService) -> None:
    email = await new_user(identity, "supervisor")
    response = await login(client, email.upper())
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    assert (body["token_type"], body["expires_in"], body["refresh_expires_in"]) == (
        "bearer",
        900,
        3600,
    )

    me = await client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == email
    assert me.json()["role"] == "supervisor"
    assert me.json()["name"] == "Supervisor"
    assert "password_hash" not in me.json()


async def test_bad_credentials(client: httpx.AsyncClient, identity: IdentityService) -> None:
    email = await new_user(identity)
    wrong = await login(client, email, "not the password")
    unknown = await login(client, unique_email("nobody"))
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="pytake"'
        assert brief(response) == {
            "error": "invalid email or password",
            "code": "invalid_credentials",
        }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "request body must be JSON"),
        (b"\xff\xfe", "request body must be JSON"),
        (b'["a@example.com", "pw"]', "request body must be a JSON object"),
        (b'{"email": "a@example.com"}', "password must be a non-empty string"),
        (b'{"email": 5, "password": "x"}', "email must be a non-empty string"),
    ],
)
async def test_login_bad_body(client: httpx.AsyncClient, body: bytes, reason: str) -> None:
    response = await client.post(
        "/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert brief(response) == {"error": reason}


async def test_login_body_too_large(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/login", content=b"x" * 20_000)
    assert response.status_code == 413


async def test_login_rate_limited_per_email(
    client: httpx.AsyncClient, identity: IdentityService, clock: FakeClock
) -> None:
    email = await new_user(identity)
    for _ in range(10):
        assert (await login(client, email, "wrong password")).status_code == 401
    refused = await login(client, email)  # even the right password waits
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "6"
    assert brief(refused) == {"error": "too many sign-in attempts, retry later"}
    clock.advance(6)
    assert (await login(client, email)).status_code == 200


async def test_storage_unavailable_answers_503(clock: FakeClock) -> None:
    # Nothing listens on port 1: every database call fails to connect.
    async with Database("postgresql://pytake@127.0.0.1:1/none") as db:
        app = build_app(make_identity(db, clock))
        async with serving(app) as client:
            response = await login(client, "a@example.com")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert brief(response) == {"error": "storage unavailable, retry later"}


# --- tokens on protected routes ------------------------------------------------------------


async def test_missing_and_bad_tokens(client: httpx.AsyncClient, identity: IdentityService) -> None:
    missing = await client.get("/api/v1/auth/me")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="pytake"'
    assert missing.json()["code"] == "missing_token"

    basic = await client.get("/api/v1/auth/me", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401
    assert "Bearer <token>" in basic.json()["error"]

    garbage = await client.get("/api/v1/auth/me", headers=bearer("garbage"))
    assert garbage.status_code == 401
    assert garbage.headers["WWW-Authenticate"].startswith(
        'Bearer realm="pytake", error="invalid_token"'
    )
    assert brief(garbage) == {"error": "malformed token", "code": "invalid_token"}

    email = await new_user(identity, "agent")
    token = (await login(client, email)).json()["access_token"]
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload[:-2]}x{payload[-1]}.{signature}"
    tampered = await client.get("/api/v1/auth/me", headers=bearer(forged))
    assert tampered.status_code == 401
    assert tampered.json()["code"] == "invalid_token"


async def test_expired_token_tells_the_client_to_refresh(
    client: httpx.AsyncClient, identity: IdentityService, clock: FakeClock
) -> None:
    email = await new_user(identity)
    token = (await login(client, email)).json()["access_token"]
    clock.advance(900)
    response = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert brief(response) == {"error": "access token expired", "code": "token_expired"}
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


async def test_roles(client: httpx.AsyncClient, identity: IdentityService) -> None:
    tokens = {}
    for role in ("admin", "supervisor", "agent"):
        email = await new_user(identity, role)
        tokens[role] = (await login(client, email)).json()["access_token"]

    admin = await client.get("/api/v1/test/admin", headers=bearer(tokens["admin"]))
    assert admin.status_code == 200
    assert admin.json()["hello"].startswith("admin-")

    agent = await client.get("/api/v1/test/admin", headers=bearer(tokens["agent"]))
    assert agent.status_code == 403
    assert brief(agent) == {
        "error": "this action needs role admin; you are agent",
        "code": "forbidden",
    }

    staff = await client.get("/api/v1/test/staff", headers=bearer(tokens["supervisor"]))
    assert (staff.status_code, staff.json()) == (200, {"role": "supervisor"})
    assert (
        await client.get("/api/v1/test/staff", headers=bearer(tokens["agent"]))
    ).status_code == 403
    assert (await client.get("/api/v1/test/staff")).status_code == 401


def test_require_role_checks_names_when_applied() -> None:
    with pytest.raises(ValueError, match="owner"):
        require_role("owner")


# --- refresh and logout --------------------------------------------------------------------


async def test_refresh_rotation_and_reuse(
    client: httpx.AsyncClient, identity: IdentityService
) -> None:
    email = await new_user(identity)
    first = (await login(client, email)).json()

    rotated = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200
    assert rotated.headers["Cache-Control"] == "no-store"
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    me = await client.get("/api/v1/auth/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200

    reused = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_token_reused"
    revoked = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert revoked.status_code == 401
    assert revoked.json()["code"] == "refresh_token_revoked"

    missing = await client.post("/api/v1/auth/refresh", json={})
    assert (missing.status_code, brief(missing)) == (
        400,
        {"error": "refresh_token must be a non-empty string"},
    )


async def test_logout(client: httpx.AsyncClient, identity: IdentityService) -> None:
    email = await new_user(identity)
    pair = (await login(client, email)).json()
    response = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}
    )
    assert response.status_code == 204
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.json()["code"] == "refresh_token_revoked"
    unknown = await client.post("/api/v1/auth/logout", json={"refresh_token": "nope"})
    assert unknown.status_code == 204


# --- in the real app -------------------------------------------------------------------------


async def test_create_app_serves_auth_when_the_engine_has_identity(engine: Engine) -> None:
    # What the Engine does once it constructs its IdentityService (see docs/auth.md).
    clock = FakeClock()
    identity = make_identity(engine.db, clock)
    engine.identity = identity  # with a controllable clock
    email = await new_user(identity, "admin")
    async with serving(create_app(engine)) as client:
        response = await login(client, email)
        assert response.status_code == 200
        me = await client.get("/api/v1/auth/me", headers=bearer(response.json()["access_token"]))
        assert me.json()["role"] == "admin"
