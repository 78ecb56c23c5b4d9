"""``pytake users``: create, invite and list users, change roles, deactivate, reset passwords.

``pytake users create --email E --name N --role admin`` asks for the password twice on the
terminal (or reads one line from stdin with ``--password-stdin``), migrates the database if it
is behind (as ``pytake db upgrade`` would), creates the user and prints its id on stdout.
``pytake users list`` prints every user.  ``invite``, ``role``, ``deactivate``,
``reactivate`` and ``reset-password`` do what ``/api/v1/users`` does (docs/rest-api.md,
"Users"): the same checks (the last active admin stays), the same revoked sessions; a
one-time set-password token or a temporary password is printed once, on stdout.
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from pytake.cli._common import (
    CommandError,
    add_actions,
    add_database_options,
    command_settings,
    run_on_database,
)

if TYPE_CHECKING:
    from pytake.cli._common import Subcommands
    from pytake.identity import Credential, IdentityService, UserAdmin, UserInfo
    from pytake.store import Database

_ROLES = ("admin", "supervisor", "agent")
T = TypeVar("T")


def register(subcommands: Subcommands) -> None:
    actions = add_actions(
        subcommands, "users", help="create, invite, list, deactivate users; roles, password resets",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    create = actions.add_parser(
        "create",
        help="create a user and print its id",
        description="Create an active user and print its id. The password is asked for on the "
        "terminal, or read from the first line of stdin with --password-stdin. It must have "
        "at least 8 characters and not be a common password or the email address.",
    )
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
    invite = actions.add_parser(
        "invite",
        help="create a user who sets their own password; print the one-time token",
        description="Create an active user and print, once, a one-time set-password token "
        "(--delivery link, valid for days; the user redeems it at POST "
        "/api/v1/auth/set-password) or a temporary password (--delivery password).",
    )
    for action in (create, invite):
        action.add_argument("--email", required=True, help="sign-in email (stored lower-cased)")
        action.add_argument("--name", required=True, help="name shown to other users")
        action.add_argument("--role", required=True, choices=_ROLES,
                            help="what the user may do")
    role = actions.add_parser(
        "role", help="change a user's role (signs them out)",
        description="Change a user's role. Their sessions end: refresh tokens are revoked "
        "and access tokens stop working within a second.",
    )
    role.add_argument("user", help="the user's id or email")
    role.add_argument("role", choices=_ROLES, help="the new role")
    deactivate = actions.add_parser(
        "deactivate", help="stop a user from signing in (signs them out)",
        description="Deactivate a user: sign-in is refused, refresh tokens are revoked and "
        "access tokens stop working within a second. The last active admin stays.",
    )
    reactivate = actions.add_parser(
        "reactivate", help="let a deactivated user sign in again",
        description="Reactivate a user; they sign in again with their password.",
    )
    reset = actions.add_parser(
        "reset-password", help="replace a user's password; print the one-time token",
        description="Replace a user's password by a one-time set-password token or a "
        "temporary password, printed once; every session of the user ends.",
    )
    second_factor = actions.add_parser(
        "reset-2fa", help="remove a user's TOTP second factor (a lost phone)",
        description="Remove a user's TOTP second factor and recovery codes, for a user who "
        "lost both; they sign in with the password alone until they set up a new one.",
    )
    for action in (deactivate, reactivate, reset, second_factor):
        action.add_argument("user", help="the user's id or email")
    for action in (invite, reset):
        action.add_argument("--delivery", choices=("link", "password"), default="link",
                            help="a one-time token (default) or a temporary password")
    for action in (create, listing, invite, role, deactivate, reactivate, reset,
                   second_factor):
        add_database_options(action)
    create.set_defaults(handler=run_create)
    listing.set_defaults(handler=run_list)
    invite.set_defaults(handler=run_invite)
    role.set_defaults(handler=run_change)
    deactivate.set_defaults(handler=run_change, active=False)
    reactivate.set_defaults(handler=run_change, active=True)
    reset.set_defaults(handler=run_reset)
    second_factor.set_defaults(handler=run_reset_second_factor)


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

    url = command_settings(args).database_url
    password = _read_password(args.password_stdin)
    # Checked before touching the database, so a typo costs nothing.
    problem = password_problem(password, email=args.email)
    if problem:
        raise CommandError(problem)

    def create(db: Database) -> Awaitable[UserInfo]:
        return _service(db).create_user(args.email, args.name, args.role, password)

    try:
        user = run_on_database(url, create, write=True)
    except InvalidUser as exc:
        raise CommandError(exc.reason) from None
    print(f"pytake: created {user.role} {user.email} with id {user.id}", file=sys.stderr)
    print(user.id, flush=True)
    return 0


def run_list(args: argparse.Namespace) -> int:
    url = command_settings(args).database_url
    users = run_on_database(url, lambda db: _service(db).list_users(), write=False)
    rows = [
        (str(u.id), u.email, str(u.role), "yes" if u.active else "no", u.name) for u in users
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


def _admin_call(args: argparse.Namespace, call: Callable[[UserAdmin], Awaitable[T]]) -> T:
    """Run ``call`` with a `UserAdmin` on the database; its refusals become CLI errors."""
    from pytake.errors import IdentityError
    from pytake.identity import UserAdmin

    url = command_settings(args).database_url
    try:
        return run_on_database(url, lambda db: call(UserAdmin(_service(db))), write=True)
    except IdentityError as exc:
        raise CommandError(str(exc)) from None


async def _user_id(admin: UserAdmin, user: str) -> int:
    """The id of ``user``, given as an id or an email."""
    if user.isdigit():
        return (await admin.get(int(user))).id
    wanted = user.strip().lower()
    for info in await admin.identity.list_users():
        if info.email == wanted:
            return info.id
    raise CommandError(f"no user with email {user!r}")


def _print_credential(verb: str, credential: Credential) -> None:
    user = credential.user
    print(f"pytake: {verb} {user.role} {user.email} (id {user.id})", file=sys.stderr)
    if credential.temporary_password is not None:
        print("pytake: temporary password (shown once; the user signs in with it):",
              file=sys.stderr)
        print(credential.temporary_password, flush=True)
    else:
        print(f"pytake: one-time set-password token, valid until {credential.expires_at} "
              "(shown once; redeemed at POST /api/v1/auth/set-password):", file=sys.stderr)
        print(credential.token, flush=True)


def run_invite(args: argparse.Namespace) -> int:
    credential = _admin_call(args, lambda admin: admin.invite(
        args.email, args.name, args.role, args.delivery))
    _print_credential("invited", credential)
    return 0


def run_change(args: argparse.Namespace) -> int:
    async def change(admin: UserAdmin) -> UserInfo:
        user_id = await _user_id(admin, args.user)
        if getattr(args, "active", None) is not None:
            return await admin.update(user_id, active=args.active)
        return await admin.update(user_id, role=args.role)

    user = _admin_call(args, change)
    state = "active" if user.active else "deactivated"
    print(f"pytake: {user.email} (id {user.id}) is now {user.role}, {state}", file=sys.stderr)
    return 0


def run_reset(args: argparse.Namespace) -> int:
    async def reset(admin: UserAdmin) -> Credential:
        return await admin.reset_password(await _user_id(admin, args.user), args.delivery)

    _print_credential("reset the password of", _admin_call(args, reset))
    return 0


def run_reset_second_factor(args: argparse.Namespace) -> int:
    async def reset(admin: UserAdmin) -> tuple[int, bool]:
        user_id = await _user_id(admin, args.user)
        return user_id, await admin.identity.second_factors.reset(user_id, actor=None)

    user_id, had = _admin_call(args, reset)
    if had:
        print(f"pytake: removed the second factor of user {user_id}", file=sys.stderr)
    else:
        print(f"pytake: user {user_id} had no second factor; nothing changed", file=sys.stderr)
    return 0
