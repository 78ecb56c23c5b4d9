"""Serving a stand-in on Hypercorn's trio worker, and `run_app` for tests."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import trio

from pytake.standins.apis._asgi import StandIn
from pytake.standins.whatsapp import serve_standin

S = TypeVar("S", bound=StandIn)


async def serve_app(
    app: StandIn,
    host: str,
    port: int,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]],
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` until ``shutdown_trigger`` returns; ``task_status.started`` gets the
    URLs bound (useful with port 0). The WhatsApp stand-in's server serves it."""
    await serve_standin(app, host, port, shutdown_trigger=shutdown_trigger,
                        log_name="pytake.standins.apis.server", task_status=task_status)


@asynccontextmanager
async def run_app(app: S, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[S]:
    """Serve ``app`` on ``host`` (a free port by default) and yield it with ``base_url``
    set; shut the server down on exit."""
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        urls: list[str] = await nursery.start(
            functools.partial(serve_app, app, host, port, shutdown_trigger=stop.wait)
        )
        app.base_url = urls[0]
        try:
            yield app
        finally:
            stop.set()
