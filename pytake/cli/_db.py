"""``pytake db``: migrate the database schema and tell which revision a database is at.

``pytake db upgrade`` brings the database named by the ``database_url`` setting (or
``--database-url``) to the newest schema this PyTake knows; running it again does nothing.
``pytake db current`` prints the revision the database is at, without changing anything.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pytake.cli._common import add_actions, add_database_options, command_settings

if TYPE_CHECKING:
    from pytake.cli._common import Subcommands


def register(subcommands: Subcommands) -> None:
    actions = add_actions(
        subcommands, "db", help="migrate the database schema (upgrade, current)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    upgrade = actions.add_parser(
        "upgrade",
        help="migrate the database to the newest schema (idempotent)",
        description="Migrate the database to the newest schema revision. Safe to run again, "
        "and from several nodes at once (they take turns).",
    )
    upgrade.add_argument(
        "--revision",
        default="head",
        help="migrate up to this revision instead of the newest (default: head)",
    )
    current = actions.add_parser(
        "current",
        help="print the schema revision the database is at",
        description="Print the schema revision the database is at, and whether it is the newest.",
    )
    for action in (upgrade, current):
        add_database_options(action)
    upgrade.set_defaults(handler=run_upgrade)
    current.set_defaults(handler=run_current)


def _say(line: str) -> None:
    print(f"pytake: {line}", flush=True)


def run_upgrade(args: argparse.Namespace) -> int:
    # Imported here: --help and the other commands don't need SQLAlchemy and Alembic.
    from pytake.store import current, describe_url, head, upgrade

    url = command_settings(args).database_url
    _say(f"database: {describe_url(url)}")
    before = current(url)
    _say(f"current revision: {before or 'none (empty database)'}")
    # Errors (StorageUnavailable, SchemaError) are PyTakeErrors: reported in one line.
    after = upgrade(url, args.revision, progress=lambda step: _say(f"applying {step}"))
    if after == before:
        _say(f"already at revision {after}, nothing to do")
    suffix = " (head)" if after == head() else ""
    _say(f"database is at revision {after}{suffix}")
    return 0


def run_current(args: argparse.Namespace) -> int:
    from pytake.store import current, describe_url, head, revisions

    url = command_settings(args).database_url
    _say(f"database: {describe_url(url)}")
    revision = current(url)
    newest = head()
    if revision is None:
        note = "empty database: run 'pytake db upgrade'"
    elif revision == newest:
        note = "head"
    elif revision in revisions():
        note = f"behind {newest}: run 'pytake db upgrade'"
    else:
        note = "unknown to this PyTake: migrated by a newer version?"
    _say(f"revision {revision or 'none'} ({note})")
    return 0
