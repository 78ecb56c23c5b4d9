"""The first run and the web app's files, over real HTTP on loopback: the set-up page's API
creates exactly one admin, and only with the code; the app is served with a history fallback,
long-cached hashed assets, an uncached index.html and a policy without inline scripts."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import httpx
import pytest
import trio

from pytake.config import load_settings
from pytake.engine import Engine
from pytake.web import create_app

from . import test_users_api as users_tests
from ._support import brief, clean_environ, serving
from .process_support import free_port

PASSWORD = "correct horse battery staple"
CODE = "ABCD-EFGH"


#: A migrated database of the test's own, with no user at all.
empty_url = users_tests.fresh_url


@attrs.define
class FirstRun:
    engine: Engine
    client: httpx.AsyncClient


@pytest.fixture
async def first_run(empty_url: str, tmp_path: Path) -> AsyncIterator[FirstRun]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<!doctype html><div id="root"></div>'
                                     '<script type="module" src="/assets/app-1a2b.js"></script>')
    (dist / "assets" / "app-1a2b.js").write_text("console.log('desk')")
    settings = load_settings(environ={"PYTAKE_DATABASE_URL": empty_url,
                                      "PYTAKE_SECRET_KEY": "s" * 48,
                                      "PYTAKE_SETUP_CODE": CODE,
                                      "PYTAKE_UI_DIR": str(dist)})
    engine = Engine(settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        async with serving(create_app(engine)) as client:
            yield FirstRun(engine, client)
        await engine.aclose()
        nursery.cancel_scope.cancel()


def body(**changes: str) -> dict[str, str]:
    return {"code": CODE.lower().replace("-", " "), "name": "Ana Ñandú",
            "email": "ana@example.com", "password": PASSWORD, **changes}


async def test_the_set_up_code_creates_one_admin_once(first_run: FirstRun) -> None:
    c = first_run.client
    assert (await c.get("/api/v1/setup")).json() == {"needed": True}
    wrong = await c.post("/api/v1/setup", json=body(code="ZZZZ-ZZZZ"))
    assert wrong.status_code == 403 and brief(wrong)["code"] == "invalid_setup_code"
    short = await c.post("/api/v1/setup", json=body(password="short"))
    assert short.status_code == 422 and short.json()["field"] == "password", short.text
    missing = await c.post("/api/v1/setup", json={"code": CODE})
    assert missing.status_code == 422 and missing.json()["field"] == "name"

    # Two set-ups at once: one admin, one 409.
    answers: list[httpx.Response] = []

    async def set_up(email: str) -> None:
        answers.append(await c.post("/api/v1/setup", json=body(email=email)))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(set_up, "ana@example.com")
        nursery.start_soon(set_up, "bia@example.com")
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    created = next(a for a in answers if a.status_code == 201)
    me = await c.get("/api/v1/auth/me",
                     headers={"Authorization": f"Bearer {created.json()['access_token']}"})
    assert me.json()["role"] == "admin" and me.json()["name"] == "Ana Ñandú"
    assert len(await first_run.engine.identity.list_users()) == 1
    assert (await c.get("/api/v1/setup")).json() == {"needed": False}
    late = await c.post("/api/v1/setup", json=body(email="eve@example.com"))
    assert late.status_code == 409 and brief(late)["code"] == "setup_done"


async def test_the_app_is_served_with_fallback_caching_and_a_strict_policy(
        first_run: FirstRun) -> None:
    c = first_run.client
    for path in ("/", "/login", "/conversations/42"):
        page = await c.get(path)
        assert page.status_code == 200 and '<div id="root">' in page.text, path
        assert page.headers["cache-control"] == "no-store"
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    asset = await c.get("/assets/app-1a2b.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert "javascript" in asset.headers["content-type"]
    assert (await c.get("/assets/app-old.js")).status_code == 404
    # The API keeps its own answers: an unknown API path is a 404 problem, not the app.
    unknown = await c.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith(
        "application/problem+json")
    escape = await c.get("/..%2f..%2fetc/passwd")
    assert escape.status_code in (200, 404) and "root:" not in escape.text


async def test_serve_prints_where_to_set_up(empty_url: str, tmp_path: Path) -> None:
    env = {**clean_environ(tmp_path), "PYTAKE_DATABASE_URL": empty_url,
           "PYTAKE_SETUP_CODE": CODE, "PYTAKE_SECRET_KEY": "s" * 48}
    process = subprocess.Popen(
        [sys.executable, "-m", "pytake", "serve", "--host", "127.0.0.1", "--port",
         str(free_port())],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        with trio.fail_after(60):
            lines: list[str] = []
            while not any("set-up code" in line for line in lines):
                line = await trio.to_thread.run_sync(process.stdout.readline)
                assert line, "".join(lines)
                lines.append(line)
        announced = next(line for line in lines if "set-up code" in line)
        assert CODE in announced and "/setup" in announced
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
