"""Helpers for tests: serving the app on loopback, a clean environment for subprocesses."""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

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
