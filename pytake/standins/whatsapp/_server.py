"""Serving the stand-in on Hypercorn's trio worker, and `run_standin` for tests."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import hypercorn.trio
import trio
from hypercorn.config import Config as HypercornConfig

from pytake.standins.whatsapp._cloud_api import CloudApiStandIn


async def serve_standin(
    standin: Any,
    host: str,
    port: int,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]],
    log_name: str = "pytake.standins.whatsapp.server",
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``standin`` (any raw ASGI stand-in: this one, or the modules' API stand-ins)
    until ``shutdown_trigger`` returns.

    ``task_status.started`` receives the URLs actually bound (useful with port 0).
    """
    config = HypercornConfig()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    # No access log: the stand-in is load-tested and one log line per request would cost
    # more than answering it.
    config.accesslog = None
    config.errorlog = logging.getLogger(log_name)
    config.include_server_header = False
    config.backlog = 1024
    # Long polls on /_sim/sent must not hold a shutdown for long.
    config.graceful_timeout = 1.0

    await hypercorn.trio.serve(
        standin,
        config,
        shutdown_trigger=shutdown_trigger,
        task_status=task_status,
    )


@asynccontextmanager
async def serving(
    standin: Any, host: str, port: int, *, log_name: str = "pytake.standins.whatsapp.server"
) -> AsyncIterator[str]:
    """Serve ``standin`` (as `serve_standin` does) on ``host`` and ``port`` (0: a free one)
    while the block runs; yield the URL bound. Shuts the server down on exit."""
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        urls: list[str] = await nursery.start(
            functools.partial(serve_standin, standin, host, port, shutdown_trigger=stop.wait,
                              log_name=log_name)
        )
        try:
            yield urls[0]
        finally:
            stop.set()


@asynccontextmanager
async def run_standin(
    host: str = "127.0.0.1", port: int = 0, **config: Any
) -> AsyncIterator[CloudApiStandIn]:
    """Serve a new `CloudApiStandIn` (built with ``**config``) on ``host``, a free port by
    default; yield it with ``base_url`` set. Shuts the server down on exit."""
    standin = CloudApiStandIn(**config)
    async with serving(standin, host, port) as url:
        standin.base_url = url
        yield standin
