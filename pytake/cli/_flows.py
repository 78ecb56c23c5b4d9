"""``pytake flows``: check flow documents before they are published.

``pytake flows validate FILE...`` reads each JSON file and prints every problem, one per
line, as ``FILE: PATH: MESSAGE`` (``boleto.json: nodes[3].buttons[1].title: at most 20
characters (WhatsApp's limit), got 27``), then exits 1; when every file is valid it prints one
summary line per file and exits 0.  ``--json`` prints the problems as a JSON list instead.
``--modules`` also checks module nodes against the manifests of the installed modules (their
inputs and outcomes, and that the module exists); without it a module node needs only its
``error`` edge and one other.  The format is described in docs/flows.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytake.cli._common import CommandError, add_actions, add_database_options, command_settings

if TYPE_CHECKING:
    from pytake.cli._common import Subcommands
    from pytake.flows import NodeTypeLike, Problem


def register(subcommands: Subcommands) -> None:
    actions = add_actions(subcommands, "flows", help="check flow documents",
                          description="Work with flow documents (docs/flows.md).")
    check = actions.add_parser(
        "validate",
        help="report every problem of flow files",
        description="Validate flow files as publishing would: print every problem with its "
        "path and exit 1, or print a summary per file and exit 0.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="a flow document (JSON)")
    check.add_argument(
        "--json", action="store_true", help="print the problems as a JSON list on stdout"
    )
    check.add_argument(
        "--modules",
        action="store_true",
        help="check module nodes against the installed modules' manifests",
    )
    load = actions.add_parser(
        "import",
        help="store flow files in the database (and publish them)",
        description="Validate each flow file against the installed modules and store it as "
        "the next version of its flow; with --publish it becomes the version that runs (the "
        "one published before is archived). Nothing is stored if any file has a problem.",
    )
    load.add_argument("files", nargs="+", metavar="FILE", help="a flow document (JSON)")
    load.add_argument("--publish", action="store_true", help="publish the new versions")
    load.add_argument(
        "--share",
        type=float,
        metavar="FRACTION",
        help="instead of publishing, let the new versions take this share (0..1) of the "
        "conversations that start their flow (traffic split); --publish later makes one the "
        "version for all",
    )
    dump = actions.add_parser(
        "export",
        help="print a stored flow as JSON",
        description="Print the published version of a flow (or --version N) as JSON.",
    )
    dump.add_argument("name", help="the flow's id")
    dump.add_argument("--version", type=int, help="a version number (default: the published)")
    play = actions.add_parser(
        "simulate",
        help="run a flow against typed customer messages, without WhatsApp",
        description="Play customer messages to a flow file and print each step, every "
        "message the bot would send, the variables and the module calls. Messages come from "
        "--say (repeatable) or, without it, one per line on stdin ('/timer' fires the timer "
        "the flow waits on). Module actions answer from --stubs (a JSON file mapping "
        "'module.action' to {outcome, outputs, messages}); unstubbed ones fail, as a failing "
        "module would. Subflows are read from files next to FILE (<id>.json).",
    )
    play.add_argument("file", metavar="FILE", help="the flow document (JSON)")
    play.add_argument("--say", action="append", metavar="TEXT", help="a customer message")
    play.add_argument("--stubs", metavar="JSON_FILE", help="answers for module actions")
    play.add_argument("--json", action="store_true", help="print the transcript as JSON")
    for action in (load, dump):
        add_database_options(action)
    check.set_defaults(handler=run_validate)
    load.set_defaults(handler=run_import)
    dump.set_defaults(handler=run_export)
    play.set_defaults(handler=run_simulate)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in a JSON object")
        result[key] = value
    return result


def _read(path: Path) -> tuple[Any, str | None]:
    """The parsed document in ``path``, or ``None`` and why it could not be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    except UnicodeDecodeError:
        return None, "cannot read: not UTF-8 text"
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates), None
    except json.JSONDecodeError as exc:
        return None, f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"
    except ValueError as exc:
        return None, f"invalid JSON: {exc}"


def _installed_node_types() -> dict[str, NodeTypeLike]:
    import trio

    from pytake.modules import ModuleRegistry

    registry = ModuleRegistry.discover()
    try:
        for skipped in registry.skipped:
            print(f"pytake: module skipped: {skipped}", file=sys.stderr)
        return dict(registry.node_types())
    finally:
        trio.run(registry.aclose)


def run_validate(args: argparse.Namespace) -> int:
    from pytake.flows import validate

    node_types = _installed_node_types() if args.modules else {}
    found: list[dict[str, str]] = []
    summaries: list[str] = []
    for name in args.files:
        document, unreadable = _read(Path(name))
        problems: list[Problem] = []
        if unreadable is None:
            problems = validate(
                document, node_types=node_types, require_known_modules=args.modules
            )
        if unreadable is not None:
            found.append({"file": name, "path": "", "message": unreadable, "code": "unreadable"})
        for p in problems:
            found.append({"file": name, "path": p.path, "message": p.message, "code": p.code})
        if unreadable is None and not problems:
            summaries.append(
                f"{name}: valid flow {document['id']!r} (format {document['format']}, "
                f"{len(document['nodes'])} nodes, {len(document.get('edges', []))} edges)"
            )
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        for item in found:
            where = f"{item['path']}: " if item["path"] else ""
            print(f"{item['file']}: {where}{item['message']}")
        for line in summaries:
            print(line)
    if not found:
        return 0
    files = len({item["file"] for item in found})
    count = len(found)
    if not args.json:
        raise CommandError(
            f"{count} problem{'s' * (count != 1)} in {files} file{'s' * (files != 1)}"
        )
    return 1


def _database(args: argparse.Namespace) -> str:
    from pytake.store import upgrade

    url = command_settings(args).database_url
    upgrade(url)
    return url


def run_import(args: argparse.Namespace) -> int:
    import trio

    from pytake.flowrun import publish, set_candidate, store_draft
    from pytake.flows import InvalidFlow, validate
    from pytake.store import SYSTEM, Database, record_audit

    node_types = _installed_node_types()
    documents = []
    for name in args.files:
        document, unreadable = _read(Path(name))
        if unreadable is not None:
            raise CommandError(f"{name}: {unreadable}")
        problems = validate(document, node_types=node_types, require_known_modules=True)
        if problems:
            for p in problems:
                print(f"{name}: {p.path}: {p.message}", file=sys.stderr)
            raise CommandError(f"{name}: {len(problems)} problem(s); nothing was stored")
        documents.append((name, document))
    url = _database(args)

    async def store() -> list[tuple[str, int]]:
        db = Database(url)
        try:
            def write(session: Any) -> list[tuple[str, int]]:
                keep = publish if args.publish else store_draft
                stored = [(name, keep(session, document)) for name, document in documents]
                for (_, document), (_, version) in zip(documents, stored, strict=True):
                    record_audit(session, "flow.publish" if args.publish else "flow.import",
                                 SYSTEM, target_type="flow", target_id=document["id"],
                                 details={"version": version})
                if args.share is not None and not args.publish:
                    for (_, document), (_, version) in zip(documents, stored, strict=True):
                        set_candidate(session, str(document["id"]), version, args.share)
                return stored

            return await db.run(write)
        finally:
            await db.aclose()

    if args.share is not None and not 0.0 <= args.share <= 1.0:
        raise CommandError(f"--share must be between 0 and 1, got {args.share}")
    try:
        stored = trio.run(store)
    except InvalidFlow as exc:
        for p in exc.problems:
            print(f"{p.path}: {p.message}", file=sys.stderr)
        raise CommandError(f"{len(exc.problems)} problem(s) when publishing; nothing was "
                           "stored") from None
    for name, version in stored:
        state = "published" if args.publish else "stored as a draft"
        if args.share is not None and not args.publish:
            state = f"takes {args.share:.0%} of new conversations"
        print(f"{name}: version {version} {state}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    import trio

    from pytake.flowrun import FlowLibrary
    from pytake.store import Database

    url = _database(args)

    async def fetch() -> Any:
        db = Database(url)
        try:
            stored = await FlowLibrary(db).load(args.name, args.version)
            return None if stored is None else stored.flow.to_json()
        finally:
            await db.aclose()

    document = trio.run(fetch)
    if document is None:
        which = f"version {args.version}" if args.version else "published version"
        raise CommandError(f"flow {args.name!r} has no {which}")
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0


def _flow_from(path: Path) -> Any:
    from pytake.flows import InvalidFlow, load_flow

    document, unreadable = _read(path)
    if unreadable is not None:
        raise CommandError(f"{path}: {unreadable}")
    try:
        return load_flow(document)
    except InvalidFlow as exc:
        raise CommandError(f"{path}: {exc}") from None


def run_simulate(args: argparse.Namespace) -> int:
    import trio

    from pytake.flowrun import BadSimulation, simulate

    path = Path(args.file)
    flow = _flow_from(path)
    stubs: Any = None
    if args.stubs:
        stubs, unreadable = _read(Path(args.stubs))
        if unreadable is not None:
            raise CommandError(f"{args.stubs}: {unreadable}")
    lines = args.say if args.say is not None else [ln.rstrip("\n") for ln in sys.stdin]
    messages: list[Any] = [{"timer": True} if ln == "/timer" else ln for ln in lines]

    async def load(name: str, version: int | None) -> Any:
        sibling = path.with_name(f"{name}.json")
        return _flow_from(sibling) if sibling.exists() else None

    try:
        transcript = trio.run(lambda: simulate(flow, messages, load=load, stubs=stubs))
    except BadSimulation as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        print(json.dumps(transcript.to_json(), ensure_ascii=False, indent=2))
        return 0
    for turn in transcript.turns:
        said = "(timer)" if turn.message.get("timer") else repr(turn.message.get("text"))
        print(f"customer: {said}")
        for step in turn.steps:
            print(f"  step   {step.flow}/{step.node} -> {step.outcome}")
        for call in turn.module_calls:
            print(f"  module {call.module}.{call.action}({json.dumps(call.inputs)}) -> "
                  f"{call.outcome} {json.dumps(call.outputs, default=str)} [{call.source}]"
                  + (f" error: {call.error}" if call.error else ""))
        for message in turn.sent:
            print(f"  bot    {json.dumps(message, ensure_ascii=False)}")
        print(f"  vars   {json.dumps(turn.variables, ensure_ascii=False, default=str)}")
    print(f"result: {json.dumps(transcript.result, ensure_ascii=False, default=str)}")
    return 0
