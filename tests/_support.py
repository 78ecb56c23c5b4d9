"""Helpers for tests: serving the app on loopback, a clean environment for subprocesses."""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import trio
from quart_trio import QuartTrio

from pytake.config import ENV_PREFIX
from pytake.web import serve


def clean_environ(tmp_path: Path) -> dict[str, str]:
    """This process's environment without PyTake settings, plus a database in ``tmp_path``.

    For subprocesses: a developer's own PYTAKE_* variables must not change what tests see.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX) and k != "PORT"}
    env["PYTAKE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'pytake.db'}"
    return env


@asynccontextmanager
async def serving(app: QuartTrio) -> AsyncIterator[httpx.AsyncClient]:
    """Serve ``app`` on Hypercorn on a loopback ephemeral port; yield a client for it."""
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(
            functools.partial(serve, app, "127.0.0.1", 0, shutdown_trigger=stop.wait)
        )
        # trust_env=False: a proxy configured in the environment must not see loopback calls.
        async with httpx.AsyncClient(base_url=urls[0], trust_env=False) as client:
            yield client
        stop.set()


def brief(response: httpx.Response) -> dict[str, object]:
    """An error answer as tests compare it: its ``error`` (RFC 9457's ``detail``), and its
    ``code`` where that says more than the status (``invalid_token``, not ``bad_request``),
    after checking it is a well-formed problem document."""
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json", body
    assert body["status"] == response.status_code and body["detail"] == body["error"], body
    assert body["title"] and body["type"] == "about:blank", body
    out: dict[str, object] = {"error": body["error"]}
    # Authentication answers always said their code; others only when it says more than
    # the status ("invalid" is what every 422 is).
    plain = {body["title"].lower().replace(" ", "_").replace("-", "_"), "invalid"}
    if response.status_code in (401, 403) or body["code"] not in plain:
        out["code"] = body["code"]
    return out


async def admin_headers(engine: Any) -> dict[str, str]:
    """``Authorization`` headers of a new admin of ``engine`` (for the routes that need one)."""
    import secrets as _secrets

    from pytake.store import UserRole

    email = f"admin-{_secrets.token_hex(4)}@example.com"
    password = "correct horse battery staple"
    await engine.identity.create_user(email, "Admin", UserRole.ADMIN, password)
    pair = await engine.identity.authenticate(email, password)
    return {"Authorization": f"Bearer {pair.access_token}"}
