"""What the subcommands share: the ``--config`` option, actions, work on the database,
logging, error reporting."""

from __future__ import annotations

import argparse
import contextvars
import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias, TypeVar

import trio

from pytake.config import CONFIG_ENV, Settings, load_settings
from pytake.errors import CommandError

if TYPE_CHECKING:

    from pytake.store import AuditScope, Database

    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

#: A subcommand's entry point: parsed arguments in, exit status out.
Handler: TypeAlias = Callable[[argparse.Namespace], int]

T = TypeVar("T")

#: The ``"command action"`` being run (``pytake users create`` → ``"users create"``), for the
#: audit row of a change made from the command line.
running_command: contextvars.ContextVar[str] = contextvars.ContextVar(
    "pytake_cli_command", default="")


def add_actions(
    subcommands: Subcommands, name: str, *, help: str, description: str | None
) -> Subcommands:
    """Add the command ``name``, which does one of its actions (``pytake NAME ACTION``):
    add the actions' parsers to what this returns; the one chosen is ``args.<name>_action``."""
    parser = subcommands.add_parser(name, help=help, description=description)
    return parser.add_subparsers(
        title="actions", metavar="ACTION", dest=f"{name}_action", required=True
    )


def report(exc: BaseException) -> None:
    """Print ``pytake: error: <message>`` on stderr."""
    print(f"pytake: error: {exc}", file=sys.stderr)


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"TOML settings file (default: ${CONFIG_ENV}, else none)",
    )


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """``--database-url`` and ``--config``, for the subcommands that work on the database
    (read back with `command_settings`)."""
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="database to use (default: setting database_url, sqlite:///pytake.db)",
    )
    add_config_option(parser)


def command_settings(args: argparse.Namespace) -> Settings:
    """The settings (``--config``, the environment), ``--database-url`` taking precedence."""
    return load_settings(args.config, overrides={"database_url": args.database_url})


def configure_logging(level: str) -> None:
    """Log to stderr at ``level`` (a `pytake.config.LOG_LEVELS` name)."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # httpx logs every request at INFO: at a few hundred Cloud API sends a second that
        # buries the operator's log (failures are logged by the callers that see them).
        # Alembic logs its plugins and its dialect at INFO each time the schema is checked
        # (seven lines per start); PyTake says what matters itself ("database at revision").
        for name in ("httpx", "httpcore", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)


def migrate_before_writing(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (as ``pytake db upgrade`` would),
    saying so on stderr, before a command writes to it."""
    from pytake.store import current, describe_url, upgrade

    before = current(url)
    after = upgrade(
        url,
        progress=lambda step: print(f"pytake: applying {step}", file=sys.stderr, flush=True),
    )
    if after != before:
        print(f"pytake: {describe_url(url)} migrated to {after}", file=sys.stderr)


def require_current_schema(url: str) -> None:
    """Refuse, naming the fix, to read a database whose schema is not the newest."""
    from pytake.store import current, head

    if current(url) != head():
        raise CommandError("the database schema is not current; run 'pytake db upgrade'")


def run_on_database(url: str, work: Callable[[Database], Awaitable[T]], *, write: bool) -> T:
    """``await work(db)`` on the database at ``url``, in a trio run of its own.

    A command that writes migrates the database first if it is behind (as ``pytake db
    upgrade`` would); one that only reads asks for that instead.
    """
    from pytake.store import Database

    if write:
        migrate_before_writing(url)
    else:
        require_current_schema(url)

    async def run() -> T:
        # A change that recorded no audit row of its own gets one naming the command.
        scope = begin_cli_audit()
        async with Database(url, max_threads=2) as db:
            result = await work(db)
            if write and not scope.recorded:
                from pytake.store import record_audit

                command = running_command.get() or "unknown"
                await db.run(functools.partial(
                    record_audit, action=f"cli.{command.replace(' ', '.')}", actor=scope.actor,
                    target_type=None, target_id=None))
            return result

    return trio.run(run)


def begin_cli_audit() -> AuditScope:
    """The audit scope of this command: the rows its changes record say they came from the
    command line (`pytake.store.record_audit` fills the role and the "browser" from it)."""
    from pytake import __version__
    from pytake.store import Actor, AuditScope, audit_scope

    scope = audit_scope.get()
    if scope is None or scope.actor.role != "cli":
        scope = AuditScope(Actor(role="cli", user_agent=f"pytake {__version__} (command line)"))
        audit_scope.set(scope)
    return scope

