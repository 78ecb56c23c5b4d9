"""What the database says about a team: queue policy, business hours, after-hours message.

``teams.settings`` holds the policy fields (``reservation_timeout``, ``sticky_hours``,
``aging_per_minute``, ``offline_policy``, ``after_hours``); ``teams.business_hours`` holds
``{"weekly": {...}, "holidays": [...], "exceptions": {...}}`` (a bare weekday mapping is read
as ``weekly``).  No hours configured means always open.  A stored value that does not
validate (written around the API) is logged and replaced by the default, never fatal.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import attrs
import trio

from ..routing import (
    AfterHours,
    BusinessHours,
    OfflinePolicy,
    QueuePolicy,
    RoutingError,
    Strategy,
)
from ..store import Database, Team
from ._repo.queue_rows import team_id_of, team_ids, team_row

log = logging.getLogger("pytake.queues")


@attrs.frozen
class TeamProfile:
    exists: bool
    name: str = ""
    policy: QueuePolicy = attrs.field(factory=QueuePolicy)
    hours: BusinessHours | None = None
    after_hours: AfterHours = attrs.field(factory=AfterHours)


def policy_from(strategy: str, settings: dict[str, Any]) -> QueuePolicy:
    """A :class:`QueuePolicy` from a team's strategy and settings (raises on bad values)."""
    options: dict[str, Any] = {"strategy": Strategy(str(strategy))}
    for name in ("reservation_timeout", "aging_per_minute", "sticky_hours"):
        if settings.get(name) is not None:
            options[name] = float(settings[name])
    if settings.get("offline_policy") is not None:
        options["offline_policy"] = OfflinePolicy(settings["offline_policy"])
    return QueuePolicy(**options)


def hours_from(timezone: str, stored: dict[str, Any]) -> BusinessHours | None:
    if not stored:
        return None
    weekly = stored.get("weekly", stored)
    return BusinessHours(
        timezone=timezone,
        weekly=weekly,
        holidays=tuple(stored.get("holidays", ())) if "weekly" in stored else (),
        exceptions=dict(stored.get("exceptions", {})) if "weekly" in stored else {},
    )


def after_hours_from(settings: dict[str, Any]) -> AfterHours:
    raw = settings.get("after_hours") or {}
    return AfterHours(
        message=str(raw.get("message", "")),
        action=raw.get("action", "wait"),
        redirect_to=None if raw.get("redirect_to") is None else str(raw["redirect_to"]),
    )


def _profile(team: Team | None, team_id: int) -> TeamProfile:
    if team is None:
        return TeamProfile(exists=False)
    settings = dict(team.settings or {})
    strategy = team.routing_strategy.value if team.routing_strategy else "least_busy"
    try:
        policy = policy_from(strategy, settings)
    except (ValueError, TypeError, RoutingError) as exc:
        log.error("team %s: invalid queue settings (%s); using the defaults", team_id, exc)
        policy = QueuePolicy()
    try:
        hours = hours_from(team.timezone or "UTC", dict(team.business_hours or {}))
        after = after_hours_from(settings)
    except (ValueError, TypeError, KeyError, RoutingError) as exc:
        log.error("team %s: invalid business hours (%s); treating it as always open", team_id, exc)
        hours, after = None, AfterHours()
    return TeamProfile(exists=True, name=team.name, policy=policy, hours=hours, after_hours=after)


class TeamDirectory:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def profile(self, team_id: int) -> TeamProfile:
        return _profile(await self._db.run(team_row, team_id, readonly=True), team_id)


class TeamNames:
    """Team names (or ids), as flows and the configuration give them → team ids, each re-read
    every ``ttl`` seconds so a team created (or renamed) at run time is found.  One per engine
    (given to conversations as their `pytake.contracts.Teams`, with `TeamLookup`): a flow's
    hand-off does not read the database."""

    def __init__(self, db: Database, ttl: float = 5.0) -> None:
        self._db = db
        self._ttl = ttl
        self._cached: dict[str, tuple[float, str | None]] = {}

    async def id_of(self, name_or_id: str) -> str | None:
        """The team's id, or ``None`` if there is no such team."""
        name = name_or_id.strip()
        if not name:
            return None
        now = trio.current_time()
        cached = self._cached.get(name)
        if cached is None or now - cached[0] > self._ttl:
            cached = self._cached[name] = (now, await self._db.run(team_id_of, name, readonly=True))
        return cached[1]


class TeamResolver:
    """The configured default team (``routing_default_team``) → its id."""

    def __init__(self, names: TeamNames, name_or_id: str) -> None:
        self._names = names
        self._name = name_or_id.strip()
        self._warned = False

    async def __call__(self) -> str | None:
        if not self._name:
            return None
        team = await self._names.id_of(self._name)
        if team is None and not self._warned:
            log.warning("routing_default_team %r is not a team; the bot keeps the "
                        "conversation", self._name)
        self._warned = team is None
        return team


class TeamLookup:
    """`pytake.contracts.Teams` for conversations: names through `TeamNames`, hours from
    each team's profile."""

    def __init__(self, names: TeamNames, directory: TeamDirectory) -> None:
        self._names = names
        self._directory = directory

    async def id_of(self, name_or_id: str) -> str | None:
        return await self._names.id_of(name_or_id)

    async def is_open(self, team_id: str, at: datetime) -> bool:
        profile = await self._directory.profile(int(team_id))
        return profile.hours is None or profile.hours.is_open(at)


async def all_team_ids(db: Database) -> list[str]:
    return await db.run(team_ids, readonly=True)
