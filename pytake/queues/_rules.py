"""What a team and a team member may be: the checks a change passes before it is stored, the
settings a team has when it sets none, and the errors a refused change raises.

Pure: nothing here reads the database (`pytake.queues._repo` does, and adds the checks that
need it: a free name, an existing redirect target, no open conversations left behind).

The messages are written for the client: the web edge answers them as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from ..routing import AfterHours, BusinessHours, InvalidBusinessHours, RoutingError
from ..store import RoutingStrategy

__all__ = [
    "DEFAULT_MAX_CONCURRENT",
    "DEFAULT_SETTINGS",
    "InvalidTeam",
    "TeamConflict",
    "TeamError",
    "TeamNotFound",
    "effective_settings",
    "member_fields",
    "team_fields",
]

MAX_NAME: Final = 120
MAX_SKILLS: Final = 50
MAX_SKILL_LENGTH: Final = 64
MAX_CONCURRENT: Final = 100
DEFAULT_MAX_CONCURRENT: Final = 5
#: WhatsApp's limit on a text message body.
MAX_AFTER_HOURS_MESSAGE: Final = 4096
#: An offer may be reserved for an agent at most a day.
MAX_RESERVATION_TIMEOUT: Final = 86400.0

#: The queue policy a team has for every setting it does not set (QueuePolicy's defaults).
DEFAULT_SETTINGS: Final[Mapping[str, Any]] = {
    "reservation_timeout": 30.0,
    "sticky_hours": None,
    "aging_per_minute": 0.0,
    "offline_policy": "requeue",
    "after_hours": {"message": "", "action": "wait", "redirect_to": None},
}
_TEAM_FIELDS: Final = frozenset(
    {"name", "timezone", "routing_strategy", "business_hours", "settings"}
)
_HOURS_KEYS: Final = ("weekly", "holidays", "exceptions")
_STRATEGIES: Final = tuple(s.value for s in RoutingStrategy)
_OFFLINE_POLICIES: Final = ("requeue", "keep")


class TeamError(RoutingError):
    """A change of a team or of its members was refused; the message says why."""


class TeamNotFound(TeamError, LookupError):
    """The team, the user or the membership a request names does not exist."""


class TeamConflict(TeamError):
    """The change conflicts with what is stored: a name taken, open conversations, a team
    that redirects to the one being deleted, a row changed meanwhile."""


class InvalidTeam(TeamError, ValueError):
    """A team's or a member's fields are refused (shape, range, a deactivated user, a
    redirect to a team that is not another existing one)."""


def effective_settings(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """A team's stored settings over `DEFAULT_SETTINGS` (``after_hours`` merged key by key)."""
    settings = {**DEFAULT_SETTINGS, **(stored or {})}
    after = settings.get("after_hours")
    if isinstance(after, dict):
        settings["after_hours"] = {**DEFAULT_SETTINGS["after_hours"], **after}
    return settings


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _unknown(where: str, given: Mapping[str, Any], known: Any) -> None:
    extra = sorted(set(given) - set(known))
    if extra:
        raise InvalidTeam(
            f"{where}unknown field {extra[0]!r} (known: {', '.join(sorted(known))})"
        )


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidTeam("name must be a non-empty string")
    name = value.strip()
    if len(name) > MAX_NAME:
        raise InvalidTeam(f"name must have at most {MAX_NAME} characters")
    if any(ord(c) < 32 for c in name):
        raise InvalidTeam("name must not contain control characters")
    return name


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise InvalidTeam("timezone must be an IANA time zone name such as 'America/Sao_Paulo'")
    try:
        BusinessHours(timezone=value)
    except InvalidBusinessHours as exc:
        raise InvalidTeam(str(exc)) from None
    return value


def _strategy(value: Any) -> str:
    if value not in _STRATEGIES:
        raise InvalidTeam(
            f"routing_strategy must be one of {', '.join(_STRATEGIES)}; got {value!r}"
        )
    return str(value)


def _ranges_shape(where: str, value: Any) -> None:
    if not isinstance(value, list):
        raise InvalidTeam(f"{where}: expected a list of [\"HH:MM\", \"HH:MM\"] ranges")
    for pair in value:
        pair_ok = isinstance(pair, list) and len(pair) == 2
        if not pair_ok or not all(isinstance(t, str) for t in pair):
            raise InvalidTeam(f"{where}: {pair!r} is not a [\"HH:MM\", \"HH:MM\"] range")


def _business_hours(value: Any, timezone: str) -> dict[str, Any]:
    """``value`` checked by `BusinessHours` and normalized; ``{}`` or ``None``: none set.

    The shape does not depend on the zone, so any valid ``timezone`` will do for checking."""
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise InvalidTeam("business_hours must be an object with weekly, holidays, exceptions")
    _unknown("business_hours: ", value, _HOURS_KEYS)
    weekly = value.get("weekly", {})
    holidays = value.get("holidays", [])
    exceptions = value.get("exceptions", {})
    if not isinstance(weekly, dict):
        raise InvalidTeam("business_hours.weekly must map weekdays (mon..sun) to ranges")
    for day, ranges in weekly.items():
        _ranges_shape(f"business_hours.weekly[{day}]", ranges)
    if not isinstance(holidays, list) or not all(isinstance(d, str) for d in holidays):
        raise InvalidTeam("business_hours.holidays must be a list of dates (YYYY-MM-DD)")
    if not isinstance(exceptions, dict):
        raise InvalidTeam("business_hours.exceptions must map dates (YYYY-MM-DD) to ranges")
    for day, ranges in exceptions.items():
        _ranges_shape(f"business_hours.exceptions[{day}]", ranges)
    try:
        hours = BusinessHours(
            timezone=timezone, weekly=weekly, holidays=holidays, exceptions=exceptions
        )
    except InvalidBusinessHours as exc:
        raise InvalidTeam(f"business_hours: {exc}") from None
    return {
        "weekly": {day: [list(r) for r in ranges] for day, ranges in hours.weekly.items()},
        "holidays": list(hours.holidays),
        "exceptions": {day: [list(r) for r in rs] for day, rs in hours.exceptions.items()},
    }


def _after_hours(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidTeam(
            "settings.after_hours must be an object with message, action, redirect_to"
        )
    _unknown("settings.after_hours: ", value, ("message", "action", "redirect_to"))
    message = value.get("message", "")
    action = value.get("action", "wait")
    redirect_to = value.get("redirect_to")
    if not isinstance(message, str) or len(message) > MAX_AFTER_HOURS_MESSAGE:
        raise InvalidTeam(
            f"settings.after_hours.message must be a string of at most "
            f"{MAX_AFTER_HOURS_MESSAGE} characters"
        )
    if action not in ("wait", "redirect"):
        raise InvalidTeam(f"settings.after_hours.action must be wait or redirect; got {action!r}")
    if redirect_to is not None and (type(redirect_to) is not int or redirect_to < 1):
        raise InvalidTeam(
            f"settings.after_hours.redirect_to must be a team id or null; got {redirect_to!r}"
        )
    try:
        AfterHours(
            message=message,
            action=action,
            redirect_to=None if redirect_to is None else str(redirect_to),
        )
    except InvalidBusinessHours as exc:
        raise InvalidTeam(f"settings.{exc}") from None
    return {"message": message, "action": action, "redirect_to": redirect_to}


def _settings(value: Any) -> dict[str, Any]:
    """The settings ``value`` gives, checked; only the keys it gives."""
    if not isinstance(value, dict):
        raise InvalidTeam("settings must be an object")
    _unknown("settings: ", value, DEFAULT_SETTINGS)
    out: dict[str, Any] = {}
    if "reservation_timeout" in value:
        v = value["reservation_timeout"]
        if not _is_number(v) or not 0 < v <= MAX_RESERVATION_TIMEOUT:
            raise InvalidTeam(
                "settings.reservation_timeout must be a number of seconds greater than 0 and "
                f"at most {MAX_RESERVATION_TIMEOUT:g}; got {v!r}"
            )
        out["reservation_timeout"] = float(v)
    if "sticky_hours" in value:
        v = value["sticky_hours"]
        if v is not None and (not _is_number(v) or v < 0):
            raise InvalidTeam(f"settings.sticky_hours must be null or a number >= 0; got {v!r}")
        out["sticky_hours"] = None if v is None else float(v)
    if "aging_per_minute" in value:
        v = value["aging_per_minute"]
        if not _is_number(v) or v < 0:
            raise InvalidTeam(f"settings.aging_per_minute must be a number >= 0; got {v!r}")
        out["aging_per_minute"] = float(v)
    if "offline_policy" in value:
        v = value["offline_policy"]
        if v not in _OFFLINE_POLICIES:
            raise InvalidTeam(f"settings.offline_policy must be requeue or keep; got {v!r}")
        out["offline_policy"] = v
    if "after_hours" in value:
        out["after_hours"] = _after_hours(value["after_hours"])
    return out


def team_fields(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The team fields ``body`` gives, checked and normalized; `InvalidTeam` otherwise."""
    _unknown("", body, _TEAM_FIELDS)
    if creating and "name" not in body:
        raise InvalidTeam("name must be a non-empty string")
    fields: dict[str, Any] = {}
    if "name" in body:
        fields["name"] = _name(body["name"])
    if "timezone" in body:
        fields["timezone"] = _timezone(body["timezone"])
    if "routing_strategy" in body:
        fields["routing_strategy"] = _strategy(body["routing_strategy"])
    if "business_hours" in body:
        zone = fields.get("timezone", "UTC")
        fields["business_hours"] = _business_hours(body["business_hours"], zone)
    if "settings" in body:
        fields["settings"] = _settings(body["settings"])
    return fields


def member_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """A member's fields (``skills``, ``max_concurrent``) ``body`` gives, checked and
    normalized (skills stripped, unique, sorted); `InvalidTeam` otherwise."""
    _unknown("", body, ("skills", "max_concurrent"))
    fields: dict[str, Any] = {}
    if "skills" in body:
        skills = body["skills"]
        if not isinstance(skills, list) or not all(
            isinstance(s, str) and s.strip() and len(s.strip()) <= MAX_SKILL_LENGTH
            for s in skills
        ):
            raise InvalidTeam(
                f"skills must be a list of non-empty strings of at most {MAX_SKILL_LENGTH} "
                "characters"
            )
        unique = sorted({s.strip() for s in skills})
        if len(unique) > MAX_SKILLS:
            raise InvalidTeam(f"skills must hold at most {MAX_SKILLS} skills")
        fields["skills"] = unique
    if "max_concurrent" in body:
        value = body["max_concurrent"]
        if type(value) is not int or not 1 <= value <= MAX_CONCURRENT:
            raise InvalidTeam(
                f"max_concurrent must be an integer from 1 to {MAX_CONCURRENT}; got {value!r}"
            )
        fields["max_concurrent"] = value
    return fields
