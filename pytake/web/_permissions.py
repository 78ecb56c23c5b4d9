"""Who may do what: one table of permissions by role, and the decorators that enforce it.

Every route of the app declares one permission (`requires`), or declares that it is open
(`public`); ``tests/test_route_matrix.py`` enumerates the app's URL map and fails on a route
that declares neither, then checks every route against the table for each kind of caller.
Agent socket commands name theirs in `COMMAND_PERMISSIONS`; the CLI acts with the database's
own credentials, as an administrator (`CLI_PERMISSION`).  docs/auth.md prints the table.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Awaitable, Callable
from typing import Final, ParamSpec, TypeVar

from pytake.identity import Principal
from pytake.store import UserRole

P = ParamSpec("P")
R = TypeVar("R")

#: The attribute a view function carries its declaration in (a `Permission`, or `PUBLIC`).
DECLARED: Final = "__pytake_permission__"


class Permission(enum.StrEnum):
    SELF_READ = "self:read"
    DESK_CONNECT = "desk:connect"
    DESK_WORK = "desk:work"
    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_REPLY = "conversations:reply"
    CONVERSATIONS_SUPERVISE = "conversations:supervise"
    QUEUES_READ = "queues:read"
    TEAMS_READ = "teams:read"
    TEAMS_MANAGE = "teams:manage"
    MEMBERS_MANAGE = "members:manage"
    AGENTS_READ = "agents:read"
    FLOWS_READ = "flows:read"
    FLOWS_WRITE = "flows:write"
    MODULES_MANAGE = "modules:manage"
    OPS_READ = "ops:read"
    DEAD_LETTER_PAYLOADS = "dead-letters:payloads"
    #: deliver a dead letter to its actor again, or discard it (admins)
    DEAD_LETTERS_MANAGE = "dead-letters:manage"
    SELF_MANAGE = "self:manage"
    USERS_MANAGE = "users:manage"
    CANNED_READ = "canned-responses:read"
    CANNED_MANAGE = "canned-responses:manage"
    WEBHOOKS_MANAGE = "webhooks:manage"
    NUMBERS_MANAGE = "numbers:manage"
    SETTINGS_MANAGE = "settings:manage"
    #: customers' rights (LGPD): look customers up, export, anonymise, erase their data
    CUSTOMERS_MANAGE = "customers:manage"
    AUDIT_READ = "audit:read"
    #: running the installation itself: serving, migrating, local stand-ins (command line)
    INSTALLATION_OPERATE = "installation:operate"


class Open(enum.StrEnum):
    """Routes anyone may call, and why."""

    HEALTH = "public:health"
    SIGN_IN = "public:sign-in"
    #: the OpenAPI document and its reference page (they describe the API, not its data)
    DOCS = "public:docs"
    #: ``/metrics``: its own scrape token (``PYTAKE_METRICS_TOKEN``), see the ops routes
    SCRAPE = "public:scrape"
    #: the first-run set-up: works only while no user exists, and needs the set-up code
    SETUP = "public:setup"
    #: the web app's files (HTML, scripts, styles): no data, everything needs a sign-in
    APP = "public:app"


_AGENT: Final = frozenset({
    Permission.SELF_READ,
    Permission.SELF_MANAGE,
    Permission.CANNED_READ,
    Permission.DESK_CONNECT,
    Permission.DESK_WORK,
    Permission.CONVERSATIONS_READ,
    Permission.CONVERSATIONS_REPLY,
    Permission.QUEUES_READ,
    Permission.TEAMS_READ,
})
_SUPERVISOR: Final = _AGENT | {
    Permission.CONVERSATIONS_SUPERVISE,
    Permission.MEMBERS_MANAGE,
    Permission.AGENTS_READ,
    Permission.FLOWS_READ,
    Permission.OPS_READ,
    Permission.CANNED_MANAGE,
}
_ADMIN: Final = frozenset(Permission)

#: The one table: what each role may do.
ROLE_PERMISSIONS: Final[dict[UserRole, frozenset[Permission]]] = {
    UserRole.AGENT: _AGENT,
    UserRole.SUPERVISOR: frozenset(_SUPERVISOR),
    UserRole.ADMIN: _ADMIN,
}

#: What each agent socket command needs (an agent may act only on its own conversations;
#: the conversation checks that).
COMMAND_PERMISSIONS: Final[dict[str, Permission]] = {
    "accept": Permission.DESK_WORK,
    "decline": Permission.DESK_WORK,
    "send": Permission.CONVERSATIONS_REPLY,
    "note": Permission.DESK_WORK,
    "label": Permission.DESK_WORK,
    "priority": Permission.DESK_WORK,
    "transfer": Permission.DESK_WORK,
    "assign": Permission.CONVERSATIONS_SUPERVISE,
    "resolve": Permission.DESK_WORK,
    "mark_read": Permission.DESK_WORK,
    "typing": Permission.DESK_WORK,
    "presence": Permission.DESK_WORK,
    "queue_stats": Permission.QUEUES_READ,
    "watch_teams": Permission.CONVERSATIONS_SUPERVISE,
}

#: The CLI reads the database's URL and writes with its credentials: whoever runs it is an
#: administrator of the installation.
CLI_PERMISSION: Final = "cli:database-credentials"


def allowed(role: UserRole | str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(UserRole(role), frozenset())


def roles_with(permission: Permission) -> tuple[UserRole, ...]:
    return tuple(role for role in UserRole if allowed(role, permission))


def requires(
    permission: Permission,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorate an async view: only a signed-in, active user whose role has ``permission``
    reaches it (401 otherwise, 403 for a role without it).  Put it below the route."""
    from pytake.web._auth_routes import authenticate

    def decorate(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(view)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            await authenticate(*roles_with(permission))
            return await view(*args, **kwargs)

        setattr(guarded, DECLARED, permission)
        return guarded

    return decorate


def public(
    why: Open,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Declare an async view open to anyone (``why`` says which kind of open route)."""

    def decorate(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        setattr(view, DECLARED, why)
        return view

    return decorate


def checked_inside(
    permission: Permission,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Declare ``permission`` for a view that checks it itself (the agent socket does, in its
    handshake, where a refusal is a close frame, not an HTTP status)."""

    def decorate(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        setattr(view, DECLARED, permission)
        return view

    return decorate


def may(principal: Principal, permission: Permission) -> bool:
    """Whether ``principal`` has ``permission`` (for what a route shows, not who enters)."""
    return allowed(principal.role, permission)
