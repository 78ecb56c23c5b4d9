"""``pytake serve``: run the engine and its web edge until SIGINT or SIGTERM.

Start-up: the engine starts first (``engine.run`` reports ready through ``nursery.start``),
then the web edge binds, so no request reaches a half-built engine. Shutdown, on the first
signal: the edge stops accepting connections and finishes in-flight requests, then
``engine.aclose()`` drains the actors. A second signal cancels whatever is still running.
"""

from __future__ import annotations

import argparse
import functools
import gc
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any

import trio

from pytake.cli._common import CommandError, add_config_option, configure_logging
from pytake.config import Settings, load_settings

if TYPE_CHECKING:
    from pytake.cli._common import Subcommands

log = logging.getLogger("pytake.cli")

#: Added to the actors' drain deadline before `engine.aclose` is cut short: the engine
#: should keep its own deadline, this only stops a stuck shutdown from hanging forever.
_ACLOSE_GRACE = 5.0

#: The cyclic garbage collector's thresholds for the server.  With Python's defaults
#: (700, 10, 10) a loaded server ran a full collection every half second, each a 100-300 ms
#: pause of everything (thousands of live actors to scan, each message's state snapshot
#: promoted and dropped), which was most of the agent benchmark's p99.  Young cycles are
#: still collected often (every 5,000 allocations); full collections become rare.
GC_THRESHOLDS = (5_000, 20, 100)


def register(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser(
        "serve",
        help="run the engine and its web edge until SIGINT/SIGTERM",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--host", help="address to listen on (default: setting host)")
    parser.add_argument("--port", type=int, help="TCP port to listen on (default: setting port)")
    add_config_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, overrides={"host": args.host, "port": args.port})
    configure_logging(settings.log_level)
    gc.set_threshold(*GC_THRESHOLDS)
    trio.run(serve_until_signalled, settings)
    return 0


async def _watch_signals(stop: trio.Event, force: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            name = signal.Signals(signum).name
            if stop.is_set():
                print(f"pytake: {name} again, stopping now", file=sys.stderr, flush=True)
                force.cancel()
                return
            print(f"pytake: {name} received, shutting down", file=sys.stderr, flush=True)
            stop.set()


async def _close_agent_sockets(stop: trio.Event, engine: Any) -> None:
    """On shutdown, agent WebSockets are closed with 1001 (going away) at once, so clients
    reconnect elsewhere instead of waiting for the connection to drop."""
    await stop.wait()
    engine.sockets.close_all()


async def _announce_setup(app: Any, engine: Any, urls: list[str]) -> None:
    """While no user exists, say where and with which code to create the first admin."""
    from pytake.web import SETUP_EXTENSION

    gate = app.extensions.get(SETUP_EXTENSION)
    if gate is None or not urls or not await engine.identity.needs_setup():
        return
    print(f"pytake: no user yet: open {urls[0]}/setup and enter the set-up code {gate.code} "
          "(or run `pytake users create`)", flush=True)


async def serve_until_signalled(settings: Settings) -> None:
    """Run the engine and serve the web edge until SIGINT/SIGTERM, then shut down cleanly."""
    # Imported here, not at the top: the engine pulls in the whole runtime, which the CLI's
    # other commands and --help don't need.
    from pytake.engine import Engine
    from pytake.web import create_app, serve

    engine = Engine(settings)
    app = create_app(engine)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_watch_signals, stop, nursery.cancel_scope)
        nursery.start_soon(_close_agent_sockets, stop, engine)
        await nursery.start(engine.run)
        # What start-up built lives as long as the process: never scan it again.
        gc.collect()
        gc.freeze()
        try:
            async with trio.open_nursery() as web:
                try:
                    urls = await web.start(
                        functools.partial(
                            serve,
                            app,
                            settings.host,
                            settings.port,
                            shutdown_trigger=stop.wait,
                            access_log=settings.log_level == "debug",
                        )
                    )
                except* OSError as group:
                    error: BaseException = group
                    while isinstance(error, BaseExceptionGroup):
                        error = error.exceptions[0]
                    reason = getattr(error, "strerror", None) or str(error)
                    where = f"{settings.host}:{settings.port}"
                    raise CommandError(f"cannot listen on {where}: {reason}") from None
                for url in urls:
                    print(f"pytake: listening on {url}", flush=True)
                await _announce_setup(app, engine, urls)
        finally:
            with trio.move_on_after(settings.actors.drain_deadline + _ACLOSE_GRACE) as scope:
                await engine.aclose()
            if scope.cancelled_caught:
                log.error("engine did not shut down in time; cancelling it")
            nursery.cancel_scope.cancel()
    print("pytake: stopped", flush=True)
