"""``pytake users``: create users (the first admin, above all) and list them.

``pytake users create --email E --name N --role admin`` asks for the password twice on the
terminal (or reads one line from stdin with ``--password-stdin``), migrates the database if it
is behind (as ``pytake db upgrade`` would), creates the user and prints its id on stdout.
``pytake users list`` prints every user.
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from typing import TYPE_CHECKING

import trio

from pytake.cli._common import (
    CommandError,
    add_database_options,
    command_settings,
    migrate_before_writing,
    require_current_schema,
)

if TYPE_CHECKING:
    from pytake.cli._common import Subcommands
    from pytake.identity import IdentityService, UserInfo
    from pytake.store import Database

_ROLES = ("admin", "supervisor", "agent")


def register(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser(
        "users",
        help="create and list users (create the first admin)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    actions = parser.add_subparsers(
        title="actions", metavar="ACTION", dest="users_action", required=True
    )
    create = actions.add_parser(
        "create",
        help="create a user and print its id",
        description="Create an active user and print its id. The password is asked for on the "
        "terminal, or read from the first line of stdin with --password-stdin. It must have "
        "at least 8 characters and not be a common password or the email address.",
    )
    create.add_argument("--email", required=True, help="sign-in email (stored lower-cased)")
    create.add_argument("--name", required=True, help="name shown to other users")
    create.add_argument("--role", required=True, choices=_ROLES, help="what the user may do")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin instead of prompting",
    )
    listing = actions.add_parser(
        "list",
        help="list every user",
        description="List every user: id, email, role, active, name.",
    )
    for action in (create, listing):
        add_database_options(action)
    create.set_defaults(handler=run_create)
    listing.set_defaults(handler=run_list)


def _service(db: Database) -> IdentityService:
    from pytake.identity import IdentityService

    # No token is signed here, so any key does.
    return IdentityService(db, secrets.token_urlsafe(48))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise CommandError("--password-stdin: no password on stdin")
        return password
    if not sys.stdin.isatty():
        raise CommandError("no terminal to ask for the password on; use --password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != password:
        raise CommandError("the passwords do not match")
    return password


def run_create(args: argparse.Namespace) -> int:
    from pytake.identity import InvalidUser, password_problem
    from pytake.store import Database

    url = command_settings(args).database_url
    password = _read_password(args.password_stdin)
    # Checked before touching the database, so a typo costs nothing.
    problem = password_problem(password, email=args.email)
    if problem:
        raise CommandError(problem)
    migrate_before_writing(url)

    async def create() -> UserInfo:
        async with Database(url, max_threads=2) as db:
            return await _service(db).create_user(args.email, args.name, args.role, password)

    try:
        user = trio.run(create)
    except InvalidUser as exc:
        raise CommandError(exc.reason) from None
    print(f"pytake: created {user.role} {user.email} with id {user.id}", file=sys.stderr)
    print(user.id, flush=True)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from pytake.store import Database

    url = command_settings(args).database_url
    require_current_schema(url)

    async def users() -> list[UserInfo]:
        async with Database(url, max_threads=2) as db:
            return await _service(db).list_users()

    rows = [
        (str(u.id), u.email, str(u.role), "yes" if u.active else "no", u.name)
        for u in trio.run(users)
    ]
    if not rows:
        print("pytake: no users yet; create the first admin with 'pytake users create'")
        return 0
    header = ("ID", "EMAIL", "ROLE", "ACTIVE", "NAME")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))
    return 0
