"""Run a local WhatsApp Cloud API stand-in, or simulated customers, for demos and tests.

``serve`` runs the Cloud API stand-in (point PyTake at it with PYTAKE_WHATSAPP_API_BASE);
``customers`` posts signed webhooks from simulated customers to a PyTake server.
"""

from __future__ import annotations

import argparse
import functools
import json
import signal
import sys
from typing import TYPE_CHECKING

import trio

from pytake.cli._common import CommandError

if TYPE_CHECKING:
    from pytake.cli._common import Subcommands
    from pytake.standins.whatsapp import CustomerSimulator

_SERVE_EPILOG = """\
example:
  pytake whatsapp-sim serve --port 8089 --token demo-token \\
      --app-secret demo-secret --webhook-url http://127.0.0.1:8000/webhooks/whatsapp
  PYTAKE_WHATSAPP_API_BASE=http://127.0.0.1:8089 pytake serve

Control routes for tests and demos (no auth): GET /_sim/sent?after=N&wait=S,
GET|POST /_sim/faults (JSON, e.g. {"rate_limit_next": 3}), POST /_sim/media,
POST /_sim/media/expire, POST /_sim/reset. See docs/whatsapp-sim.md.
"""

_CUSTOMERS_EPILOG = """\
example:
  pytake whatsapp-sim customers --target http://127.0.0.1:8000/webhooks/whatsapp \\
      --app-secret demo-secret --customers 50 --rate 20 --duration 30 \\
      --types text,image,location --duplicates 0.05 --batch 3 \\
      --standin http://127.0.0.1:8089
"""


def register(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser(
        "whatsapp-sim",
        help="run a local WhatsApp Cloud API stand-in or simulated customers",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)

    serve = actions.add_parser(
        "serve",
        help="serve the Cloud API stand-in until SIGINT/SIGTERM",
        description="Serve the WhatsApp Cloud API stand-in (send, mark as read, media, "
        "templates, fault injection). With --webhook-url it also posts the statuses "
        "(sent, delivered, read) of every message it accepts to that URL, signed with "
        "--app-secret; each status names the phone number id the message was sent from.",
        epilog=_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    serve.add_argument("--port", type=int, default=8089, help="TCP port (%(default)s; 0: any)")
    serve.add_argument(
        "--token", default="sim-token", help="the accepted Bearer token (%(default)s)"
    )
    serve.add_argument("--app-secret", help="app secret signing the status webhooks")
    serve.add_argument("--webhook-url", metavar="URL", help="where to post status webhooks")
    serve.add_argument("--phone-number-id", help="accept sends only from this phone number id")
    serve.add_argument("--waba-id", default="310000000000001", help="WABA id in webhooks")
    serve.add_argument(
        "--media-url-ttl", type=float, default=300.0, help="media URL lifetime, s (%(default)s)"
    )
    serve.add_argument("--seed", type=int, help="random seed for probability faults")
    serve.add_argument(
        "--faults", metavar="JSON", help="initial faults, e.g. '{\"rate_limit_probability\": 0.01}'"
    )
    serve.set_defaults(handler=run_serve)

    customers = actions.add_parser(
        "customers",
        help="post signed webhooks from simulated customers to a PyTake server",
        description="Post Meta-shaped, signed webhook notifications from simulated customers "
        "at a steady rate, retrying non-200 answers like Meta, then print a summary.",
        epilog=_CUSTOMERS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    customers.add_argument(
        "--target", required=True, metavar="URL", help="webhook URL (…/webhooks/whatsapp)"
    )
    customers.add_argument("--app-secret", required=True, help="the app secret to sign with")
    customers.add_argument(
        "--customers", type=int, default=10, help="number of customers (%(default)s)"
    )
    customers.add_argument(
        "--rate", type=float, default=5.0, help="messages per second (%(default)s)"
    )
    customers.add_argument("--duration", type=float, default=10.0, help="seconds (%(default)s)")
    customers.add_argument(
        "--types",
        default="text",
        help="comma-separated message types: text,image,location,button_reply,reaction "
        "(%(default)s)",
    )
    customers.add_argument(
        "--duplicates", type=float, default=0.0, help="probability of a second delivery (0..1)"
    )
    customers.add_argument(
        "--batch", type=int, default=1, help="updates per POST, at most (%(default)s)"
    )
    customers.add_argument(
        "--out-of-order", type=float, default=0.0, help="probability statuses come reversed"
    )
    customers.add_argument(
        "--standin",
        metavar="URL",
        help="the stand-in's base URL: register media there and post statuses for its sends",
    )
    customers.add_argument("--phone-number-id", default="420000000000002")
    customers.add_argument("--waba-id", default="310000000000001")
    customers.add_argument("--seed", type=int, help="random seed")
    customers.add_argument("--json", action="store_true", help="print the summary as JSON")
    customers.set_defaults(handler=run_customers)


# -- serve ---------------------------------------------------------------------------------


def run_serve(args: argparse.Namespace) -> int:
    if args.webhook_url and not args.app_secret:
        raise CommandError("--webhook-url needs --app-secret to sign the status webhooks")
    faults = None
    if args.faults:
        from pytake.standins.whatsapp import Faults

        faults = Faults()
        try:
            faults.update(json.loads(args.faults))
        except (ValueError, AttributeError, TypeError) as exc:
            raise CommandError(f"--faults: {exc}") from None
    trio.run(functools.partial(_serve, args, faults))
    return 0


async def _serve(args: argparse.Namespace, faults: object) -> None:
    from pytake.standins.whatsapp import (
        Business,
        CloudApiStandIn,
        CustomerSimulator,
        Faults,
        serve_standin,
    )

    standin = CloudApiStandIn(
        token=args.token,
        phone_number_ids=[args.phone_number_id] if args.phone_number_id else None,
        media_url_ttl=args.media_url_ttl,
        faults=faults if isinstance(faults, Faults) else None,
        seed=args.seed,
    )
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_watch_signals, stop, nursery.cancel_scope)
        # The server gets a nursery of its own so that, once it has shut down gracefully,
        # cancelling the outer one only stops the signal watcher.
        async with trio.open_nursery() as server:
            try:
                urls: list[str] = await server.start(
                    functools.partial(
                        serve_standin, standin, args.host, args.port, shutdown_trigger=stop.wait
                    )
                )
            except* OSError as group:
                reason = group.exceptions[0]
                where = f"{args.host}:{args.port}"
                raise CommandError(f"cannot listen on {where}: {reason}") from None
            standin.base_url = urls[0]
            for url in urls:
                print(
                    f"whatsapp-sim: Cloud API stand-in on {url} (token {args.token!r})", flush=True
                )
            if args.webhook_url:
                # Statuses take the phone number id of each send, so without
                # --phone-number-id they still name the number PyTake sent from.
                business = Business(
                    waba_id=args.waba_id,
                    phone_number_id=args.phone_number_id or Business().phone_number_id,
                )
                simulator = CustomerSimulator(
                    args.webhook_url,
                    args.app_secret,
                    customers=0,
                    business=business,
                    standin=standin,
                )
                print(f"whatsapp-sim: posting statuses to {args.webhook_url}", flush=True)
                async with simulator:
                    await stop.wait()
        nursery.cancel_scope.cancel()
    print("whatsapp-sim: stopped", flush=True)


async def _watch_signals(stop: trio.Event, force: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            name = signal.Signals(signum).name
            if stop.is_set():
                force.cancel()
                return
            print(f"whatsapp-sim: {name} received, shutting down", file=sys.stderr, flush=True)
            stop.set()


# -- customers -----------------------------------------------------------------------------


def run_customers(args: argparse.Namespace) -> int:
    from pytake.standins.whatsapp import MESSAGE_TYPES

    types = [t.strip() for t in args.types.split(",") if t.strip()]
    unknown = [t for t in types if t not in MESSAGE_TYPES]
    if unknown or not types:
        raise CommandError(
            f"--types: unknown {', '.join(unknown) or '(none)'}; "
            f"choose from {','.join(MESSAGE_TYPES)}"
        )
    if args.customers < 1 or args.rate <= 0 or args.duration <= 0 or args.batch < 1:
        raise CommandError("--customers, --rate, --duration and --batch must be positive")
    for name in ("duplicates", "out_of_order"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise CommandError(f"--{name.replace('_', '-')} is a probability between 0 and 1")
    summary = trio.run(functools.partial(_customers, args, types))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return 0 if summary["failed"] == 0 else 1


async def _customers(args: argparse.Namespace, types: list[str]) -> dict[str, object]:
    from pytake.standins.whatsapp import Business, CustomerSimulator

    simulator = CustomerSimulator(
        args.target,
        args.app_secret,
        customers=args.customers,
        business=Business(waba_id=args.waba_id, phone_number_id=args.phone_number_id),
        standin_url=args.standin,
        duplicates=args.duplicates,
        batch=args.batch,
        out_of_order=args.out_of_order,
        seed=args.seed,
    )
    async with simulator, trio.open_nursery() as nursery:
        nursery.start_soon(_progress, simulator)
        print(
            f"whatsapp-sim: {args.customers} customers -> {args.target}, "
            f"{args.rate:g}/s for {args.duration:g}s ({','.join(types)})",
            flush=True,
        )
        stats = await simulator.run(args.rate, args.duration, types)
        nursery.cancel_scope.cancel()
    return stats.summary()


async def _progress(simulator: CustomerSimulator) -> None:
    while True:
        await trio.sleep(1.0)
        stats = simulator.stats
        codes = " ".join(f"{k}:{v}" for k, v in sorted(stats.status_codes.items()))
        print(
            f"  sent {stats.sent}  posts {stats.posts}  acked {stats.acked}  "
            f"retries {stats.retries}  failed {stats.failed}  codes {codes or '-'}",
            flush=True,
        )


def _print_summary(summary: dict[str, object]) -> None:
    print("whatsapp-sim: summary")
    for key, value in summary.items():
        if isinstance(value, dict):
            value = " ".join(f"{k}={v}" for k, v in value.items()) or "-"
        print(f"  {key:<17} {value}")
