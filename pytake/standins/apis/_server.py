"""Serving a stand-in on Hypercorn's trio worker, and `run_app` for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Final, TypeVar

import trio

from pytake.standins.apis._asgi import StandIn
from pytake.standins.whatsapp import serve_standin, serving

S = TypeVar("S", bound=StandIn)

_LOG_NAME: Final = "pytake.standins.apis.server"


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
                        log_name=_LOG_NAME, task_status=task_status)


@asynccontextmanager
async def run_app(app: S, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[S]:
    """Serve ``app`` on ``host`` (a free port by default) and yield it with ``base_url``
    set; shut the server down on exit."""
    async with serving(app, host, port, log_name=_LOG_NAME) as url:
        app.base_url = url
        yield app
