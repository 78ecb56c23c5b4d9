"""Module administration over real HTTP on loopback, against PostgreSQL and a real engine:
the installed modules, the switch, and configurations with their secrets encrypted at rest
and never shown."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
import trio

from pytake.config import load_settings
from pytake.engine import Engine
from pytake.store import ModuleConfiguration, ModuleRecord
from pytake.web import create_app

from ._support import serving
from .test_auth_http import PASSWORD, FakeClock, bearer, make_identity

KEY = "s" * 16 + secrets.token_hex(16)


@asynccontextmanager
async def modules_api(url: str, **env: str) -> AsyncIterator[tuple[Engine, httpx.AsyncClient]]:
    engine = Engine(load_settings(environ={"PYTAKE_DATABASE_URL": url, **env}))
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        try:
            engine.identity = make_identity(engine.db, FakeClock(datetime.now(UTC).timestamp()))
            async with serving(create_app(engine)) as client:
                yield engine, client
        finally:
            await engine.aclose()
            nursery.cancel_scope.cancel()


async def signed_in(engine: Engine, client: httpx.AsyncClient, role: str) -> dict[str, str]:
    email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
    await engine.identity.create_user(email, role.title(), role, PASSWORD)
    response = await client.post("/api/v1/auth/login",
                                 json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


@pytest.fixture
def tenant() -> str:
    return "t_" + secrets.token_hex(4)


async def test_an_admin_configures_a_module_and_never_sees_its_secret(
    pg_url: str, tenant: str
) -> None:
    async with modules_api(pg_url, PYTAKE_SECRET_KEY=KEY) as (engine, client):
        admin = await signed_in(engine, client, "admin")
        listed = await client.get("/api/v1/modules", headers=admin)
        assert listed.status_code == 200
        modules = {m["name"]: m for m in listed.json()["modules"]}
        assert {"rest_api", "webhook", "crm_lookup", "boleto"} <= set(modules)
        fields = {f["name"]: f for f in modules["rest_api"]["manifest"]["config"]}
        assert fields["bearer_token"]["secret"] is True

        url = f"/api/v1/modules/rest_api/configs/{tenant}"
        assert (await client.get(url, headers=admin)).status_code == 404
        token = "tok_" + secrets.token_hex(8)
        put = await client.put(url, headers=admin, json={
            "base_url": "https://api.example.com", "bearer_token": token, "timeout": 3})
        assert put.status_code == 200, put.text
        assert put.json()["config"]["bearer_token"] == "***"
        assert put.json()["secrets_set"] == ["bearer_token"]
        assert token not in put.text

        # At rest the token is encrypted; the engine's calls get it in clear at once.
        def raw(session: sa.orm.Session) -> bytes:
            row = session.execute(
                sa.select(ModuleConfiguration.secrets_encrypted)
                .join(ModuleRecord, ModuleRecord.id == ModuleConfiguration.module_id)
                .where(ModuleRecord.name == "rest_api",
                       ModuleConfiguration.tenant_key == tenant)
            ).scalar_one()
            return bytes(row)

        assert token.encode() not in await engine.db.run(raw)
        loaded = await engine.modules.configs.load("rest_api", tenant_key=tenant)
        assert loaded["bearer_token"] == token

        # An edit form sends the mask back: the secret is kept; null unsets a field.
        patched = await client.patch(url, headers=admin,
                                     json={"bearer_token": "***", "timeout": None})
        assert patched.status_code == 200, patched.text
        assert "timeout" not in patched.json()["config"]
        assert (await engine.modules.configs.load("rest_api", tenant_key=tenant))[
            "bearer_token"] == token
        got = await client.get(url, headers=admin)
        assert got.json()["config"] == {"base_url": "https://api.example.com",
                                        "bearer_token": "***"}
        every = await client.get("/api/v1/modules/rest_api/configs", headers=admin)
        assert tenant in {c["tenant"] for c in every.json()["configs"]}

        bad = await client.put(url, headers=admin, json={"timeout": "soon"})
        assert bad.status_code == 422 and bad.json()["field"] == "timeout"
        assert (await client.get("/api/v1/modules/nope", headers=admin)).status_code == 404
        unknown = await client.put(f"/api/v1/modules/nope/configs/{tenant}", headers=admin,
                                   json={})
        assert unknown.status_code == 404 and "known modules" in unknown.json()["error"]
        weird = await client.get("/api/v1/modules/rest_api/configs/a b", headers=admin)
        assert weird.status_code == 400

        assert (await client.delete(url, headers=admin)).status_code == 204
        assert (await client.delete(url, headers=admin)).status_code == 404


async def test_the_switch_and_the_roles(pg_url: str) -> None:
    async with modules_api(pg_url, PYTAKE_SECRET_KEY=KEY) as (engine, client):
        admin = await signed_in(engine, client, "admin")
        agent = await signed_in(engine, client, "agent")
        supervisor = await signed_in(engine, client, "supervisor")
        for headers in (agent, supervisor):
            assert (await client.get("/api/v1/modules", headers=headers)).status_code == 403
            assert (await client.post("/api/v1/modules/boleto/disable",
                                      headers=headers)).status_code == 403
        assert (await client.get("/api/v1/modules")).status_code == 401
        try:
            off = await client.post("/api/v1/modules/boleto/disable", headers=admin)
            assert off.json() == {"name": "boleto", "enabled": False}
            assert not await engine.modules.configs.is_enabled("boleto")
            listed = (await client.get("/api/v1/modules", headers=admin)).json()["modules"]
            assert {m["name"]: m["enabled"] for m in listed}["boleto"] is False
        finally:
            on = await client.post("/api/v1/modules/boleto/enable", headers=admin)
        assert on.json() == {"name": "boleto", "enabled": True}


async def test_without_the_secret_key_secrets_are_refused_clearly(
    pg_url: str, tenant: str
) -> None:
    async with modules_api(pg_url) as (engine, client):
        admin = await signed_in(engine, client, "admin")
        url = f"/api/v1/modules/rest_api/configs/{tenant}"
        refused = await client.put(url, headers=admin, json={"bearer_token": "x" * 12})
        assert refused.status_code == 422
        assert "PYTAKE_SECRET_KEY is not set" in refused.json()["error"]
        plain = await client.put(url, headers=admin, json={"timeout": 2})
        assert plain.status_code == 200 and plain.json()["config"] == {"timeout": 2}
