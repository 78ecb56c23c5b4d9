"""``pytake customers``: customers' rights (LGPD) from the command line.

``find`` looks customers up by phone, BSUID or name; ``export`` writes everything held about
one to a zip; ``anonymise`` replaces their personal data and keeps their conversations for the
aggregates; ``erase`` removes every trace of them (database, Redis, media files); each asks
for the customer's id to be typed again unless ``--yes``.  ``requests`` lists the data
requests with their proof reports; ``resume`` finishes those a crash left running.  They do
what ``/api/v1/customers`` does (docs/privacy.md), on the stores named by the settings.  A
server running meanwhile ends the customer's live conversation within seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from pytake.cli._common import (
    CommandError,
    add_actions,
    add_database_options,
    command_settings,
    run_on_database,
)

if TYPE_CHECKING:
    from pytake.cli._common import Subcommands
    from pytake.config import Settings
    from pytake.privacy import PrivacyService, RequestRow
    from pytake.store import Database

T = TypeVar("T")

#: How long the command waits for a configured Redis before giving up.
REDIS_WAIT = 5.0


def register(subcommands: Subcommands) -> None:
    actions = add_actions(
        subcommands, "customers",
        help="customers' rights (LGPD): find, export, anonymise, erase; data requests",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    find = actions.add_parser(
        "find", help="look customers up by phone, BSUID or name",
        description="List the customers whose phone number or wa_id holds the digits of "
        "QUERY (3 or more), whose BSUID is QUERY, or whose name holds QUERY; newest first.")
    find.add_argument("query", help="a phone number, a BSUID or part of a name")
    find.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    export = actions.add_parser(
        "export", help="write everything held about a customer to a zip",
        description="Write customer.json (the customer, their conversations, messages, "
        "events, what flows collected, raw webhook bodies about them) and media/ (their "
        "files) to a zip. The file appears only once complete.")
    export.add_argument("customer", type=int, help="the customer's id")
    export.add_argument("--output", "-o", required=True, metavar="FILE",
                        help="where to write the zip (refused if it exists)")
    anonymise = actions.add_parser(
        "anonymise", help="replace a customer's personal data, keep their conversations",
        description="Replace the customer's phone, ids, name and attributes, what they and "
        "agents wrote, what flows collected, their files and raw copies; their conversations "
        "stay, with their events, for the metrics. Asks for the id again unless --yes.")
    erase = actions.add_parser(
        "erase", help="remove every trace of a customer",
        description="Remove the customer from the database, Redis and the media directory "
        "(the proof report says what was found and removed where). Asks for the id again "
        "unless --yes. Erasing a customer erased before prints that erasure's report.")
    for action in (anonymise, erase):
        action.add_argument("customer", type=int, help="the customer's id")
        action.add_argument("--yes", action="store_true",
                            help="do not ask for the id to be typed again")
    requests = actions.add_parser(
        "requests", help="list data requests and their proof reports",
        description="List exports, anonymisations and erasures, newest first, with their "
        "state and report (counts only).")
    requests.add_argument("--customer", type=int, help="only this customer's")
    requests.add_argument("--limit", type=int, default=50, help="at most this many")
    requests.add_argument("--json", action="store_true", help="one JSON object per line")
    resume = actions.add_parser(
        "resume", help="finish the data requests a crash left running",
        description="Run again every erasure and anonymisation left running by a process "
        "that stopped (each step is idempotent); mark such exports failed. A server does "
        "this itself when it starts.")
    for action in (find, export, anonymise, erase, requests, resume):
        add_database_options(action)
    find.set_defaults(handler=run_find)
    export.set_defaults(handler=run_export)
    anonymise.set_defaults(handler=run_change, kind="anonymise")
    erase.set_defaults(handler=run_change, kind="erase")
    requests.set_defaults(handler=run_requests)
    resume.set_defaults(handler=run_resume)


def _say(text: str) -> None:
    print(f"pytake: {text}", file=sys.stderr, flush=True)


def _with_service(args: argparse.Namespace,
                  work: Callable[[PrivacyService], Awaitable[T]], *, write: bool) -> T:
    """``await work(service)`` with a `PrivacyService` on the configured stores; its
    refusals become CLI errors."""
    from pytake.privacy import PrivacyError

    settings = command_settings(args)

    async def run(db: Database) -> T:
        return await _on_stores(settings, db, work)

    try:
        return run_on_database(settings.database_url, run, write=write)
    except PrivacyError as exc:
        raise CommandError(str(exc)) from None


async def _on_stores(settings: Settings, db: Database,
                     work: Callable[[PrivacyService], Awaitable[T]]) -> T:
    from pytake.privacy import PrivacyService
    from pytake.store import RedisConnection, RedisSnapshotStore

    if not settings.redis_url:
        return await work(PrivacyService(db, settings.whatsapp_media_dir, via="cli"))
    redis = RedisConnection(settings.redis_url, prefix=settings.redis_prefix)
    async with trio.open_nursery() as nursery:
        await nursery.start(redis.run)
        with trio.move_on_after(REDIS_WAIT):
            await redis.connected.wait()
        if not redis.connected.is_set():
            nursery.cancel_scope.cancel()
            raise CommandError(f"Redis is configured (redis_url) but did not answer within "
                               f"{REDIS_WAIT:.0f} s; its copies could not be removed: start it "
                               "and run the command again")
        service = PrivacyService(db, settings.whatsapp_media_dir, via="cli",
                                 redis=RedisSnapshotStore(redis))
        try:
            return await work(service)
        finally:
            nursery.cancel_scope.cancel()


def _confirm(args: argparse.Namespace, what: str) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise CommandError(f"refusing to {what} without confirmation: no terminal to ask on; "
                           "pass --yes")
    typed = input(f"This will {what} customer {args.customer}; it cannot be undone.\n"
                  f"Type the customer's id ({args.customer}) to go on: ")
    if typed.strip() != str(args.customer):
        raise CommandError("not confirmed; nothing was done")


def _summary(request: RequestRow) -> str:
    report = request.report
    parts = []
    for store, zeros in (("postgresql", False), ("redis", True), ("media", True)):
        section = report.get(store)
        if section == {"configured": False}:
            parts.append(f"{store}: not configured")
        elif isinstance(section, dict):
            # The database's tables are many: only those that held something are named.
            counts = ", ".join(f"{k} {_count(v)}" for k, v in section.items()
                               if zeros or _count(v))
            parts.append(f"{store}: {counts or 'nothing'}")
    live = report.get("live")
    if isinstance(live, dict) and live.get("was"):
        parts.append(f"live conversation ended (was {live['was']}, "
                     f"{live.get('agents_told', 0)} agent(s) told)")
    elif isinstance(live, dict) and live.get("in_this_process") is False:
        parts.append("a server running now ends its live conversation within seconds")
    return "; ".join(parts) or "nothing found"


def _count(value: Any) -> Any:
    if isinstance(value, dict):
        return sum(v for v in value.values() if isinstance(v, int))
    return value


def run_find(args: argparse.Namespace) -> int:
    found = _with_service(args, lambda s: s.find(args.query, limit=args.limit), write=True)
    if not found:
        _say(f"no customer matches {args.query!r}")
        return 0
    header = ("ID", "NUMBER ID", "PHONE", "CONVERSATIONS", "ANONYMISED", "NAME")
    rows = [(str(c.id), c.business_phone_number_id, c.phone or c.bsuid or "-",
             str(c.conversations), "yes" if c.anonymized_at else "no", c.name or "")
            for c in found]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))
    return 0


def run_export(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.exists():
        raise CommandError(f"{output} exists; choose another --output")
    if not output.parent.is_dir():
        raise CommandError(f"{output.parent} is not a directory")
    _say(f"exporting customer {args.customer} ...")

    async def export(service: PrivacyService) -> RequestRow:
        # Built next to the output, then renamed: FILE is there complete or not at all.
        done = await service.export(args.customer, directory=str(output.parent))
        try:
            os.replace(done.path, output)
        except OSError as exc:
            done.path.unlink(missing_ok=True)
            raise CommandError(f"could not write {output}: {exc}") from None
        return done.request

    request = _with_service(args, export, write=True)
    size = output.stat().st_size
    _say(f"wrote {output} ({size} bytes): {_summary(request)}")
    _say(f"data request {request.id} done")
    return 0


def run_change(args: argparse.Namespace) -> int:
    what = "erase" if args.kind == "erase" else "anonymise"
    _confirm(args, what)
    _say(f"{'erasing' if what == 'erase' else 'anonymising'} customer {args.customer} ...")

    async def change(service: PrivacyService) -> tuple[RequestRow, bool]:
        if what == "erase":
            return await service.erase(args.customer)
        return await service.anonymise(args.customer), False

    request, already = _with_service(args, change, write=True)
    if already:
        _say(f"customer {args.customer} was erased before (data request {request.id}, "
             f"{request.finished_at:%Y-%m-%d %H:%M} UTC): nothing left to do")
    _say(_summary(request))
    _say(f"data request {request.id} {request.state}")
    return 0


def run_requests(args: argparse.Namespace) -> int:
    found = _with_service(args, lambda s: s.requests(limit=args.limit,
                                                     customer_id=args.customer), write=False)
    if args.json:
        for request in found:
            print(json.dumps(request.as_json(), ensure_ascii=False))
        return 0
    if not found:
        _say("no data requests yet")
        return 0
    for r in found:
        print(f"{r.id}  {r.kind:<9}  customer {r.customer_id:<8}  {r.state:<7}  "
              f"{r.started_at:%Y-%m-%d %H:%M}  attempts {r.attempts}  "
              f"{r.error or _summary(r)}")
    return 0


def run_resume(args: argparse.Namespace) -> int:
    _say("resuming the data requests left running ...")
    done = _with_service(args, lambda s: s.resume(), write=True)
    if not done:
        _say("none was left running")
        return 0
    failed = 0
    for r in done:
        _say(f"data request {r.id} ({r.kind} of customer {r.customer_id}): {r.state}"
             + (f" ({r.error})" if r.error else ""))
        failed += r.state != "done"
    return 1 if failed else 0
