"""``pytake serve``: run the engine and its web edge until SIGINT or SIGTERM.

With ``--demo`` the WhatsApp settings are demo mode's (`pytake.cli._demo_mode`): PyTake
sends to the Cloud API stand-in that ``pytake demo`` serves on 127.0.0.1 (port 8089, or
``--demo-port``) and accepts the webhooks its simulated customers sign. It is refused when
a WhatsApp access token is configured, so a real configuration is never replaced unseen.

With ``--certfile`` and ``--keyfile`` (or the ``tls_certfile``/``tls_keyfile`` settings) the
port speaks HTTPS and WSS only; the files are checked before the engine starts, so a missing
file or a key that is not the certificate's stops PyTake at once with a line naming it.

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
from pytake.cli._demo_mode import (
    DEMO_SERVER,
    DEMO_STANDIN_PORT,
    demo_api_base,
    demo_whatsapp_settings,
    pytake_command,
)
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
    parser.add_argument(
        "--certfile",
        metavar="PATH",
        help="serve HTTPS and WSS with this PEM certificate chain, with --keyfile (default: "
        "setting tls_certfile; see docs/configuration.md, TLS)",
    )
    parser.add_argument(
        "--keyfile",
        metavar="PATH",
        help="the certificate's private key, a PEM file (default: setting tls_keyfile)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="demo mode: WhatsApp is the local Cloud API stand-in that `pytake demo` serves "
        "(its API base, token and app secret replace the WhatsApp settings); refused when a "
        "WhatsApp access token is configured. See docs/demo.md",
    )
    parser.add_argument(
        "--demo-port",
        type=int,
        metavar="PORT",
        help=f"with --demo: the stand-in's port on 127.0.0.1 (default {DEMO_STANDIN_PORT}; "
        "`pytake demo --port` must be the same)",
    )
    add_config_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, object] = {"host": args.host, "port": args.port,
                                    "tls_certfile": args.certfile, "tls_keyfile": args.keyfile}
    standin_port = DEMO_STANDIN_PORT if args.demo_port is None else args.demo_port
    if args.demo_port is not None and not args.demo:
        raise CommandError("--demo-port goes with --demo")
    if not 1 <= standin_port <= 65535:
        raise CommandError(f"--demo-port: a port is between 1 and 65535, got {standin_port}")
    if args.demo:
        _refuse_real_whatsapp(load_settings(args.config, overrides=overrides))
        overrides |= demo_whatsapp_settings(standin_port)
    settings = load_settings(args.config, overrides=overrides)
    banner = _demo_banner(settings, standin_port) if args.demo else None
    configure_logging(settings.log_level)
    gc.set_threshold(*GC_THRESHOLDS)
    trio.run(functools.partial(serve_until_signalled, settings, banner=banner))
    return 0


def _demo_banner(settings: Settings, standin_port: int) -> str:
    """Demo mode's line: where WhatsApp is, and the `pytake demo` that matches this server."""
    demo = f"{pytake_command()} demo"
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    scheme = "https" if settings.tls_certfile else "http"
    server = f"{scheme}://{f'[{host}]' if ':' in host else host}:{settings.port}"
    if server != DEMO_SERVER:
        demo += f" --server {server}"
    if standin_port != DEMO_STANDIN_PORT:
        demo += f" --port {standin_port}"
    return (f"pytake: demo mode: WhatsApp is the local stand-in on {demo_api_base(standin_port)}"
            f", not Meta; run `{demo}` in another terminal for customers")


def _refuse_real_whatsapp(settings: Settings) -> None:
    """Demo mode replaces the WhatsApp settings: never a configured access token unseen."""
    if settings.whatsapp_access_token:
        raise CommandError(
            "--demo replaces the WhatsApp settings with the local stand-in's, but a WhatsApp "
            "access token is configured (PYTAKE_WHATSAPP_ACCESS_TOKEN or the settings file): "
            "run `pytake serve` without --demo to use it, or remove it for the demo"
        )


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


async def serve_until_signalled(settings: Settings, *, banner: str | None = None) -> None:
    """Run the engine and serve the web edge until SIGINT/SIGTERM, then shut down cleanly;
    ``banner`` is printed once listening (before the first run's set-up advice)."""
    # Imported here, not at the top: the engine pulls in the whole runtime, which the CLI's
    # other commands and --help don't need.
    from pytake.engine import Engine
    from pytake.web import create_app, serve, tls_context

    if settings.tls_certfile and settings.tls_keyfile:
        # Checked before the engine starts (and migrates): a bad file is a one-line error.
        tls_context(settings.tls_certfile, settings.tls_keyfile)
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
                            certfile=settings.tls_certfile,
                            keyfile=settings.tls_keyfile,
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
                if banner:
                    print(banner, flush=True)
                await _announce_setup(app, engine, urls)
        finally:
            with trio.move_on_after(settings.actors.drain_deadline + _ACLOSE_GRACE) as scope:
                await engine.aclose()
            if scope.cancelled_caught:
                log.error("engine did not shut down in time; cancelling it")
            nursery.cancel_scope.cancel()
    print("pytake: stopped", flush=True)
