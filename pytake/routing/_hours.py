"""A team's business hours and holidays, and what a hand-off does outside them.

Everything that decides whether a team is open lives in this file.

Rules:

1. Hours are wall-clock times in the team's IANA ``timezone`` (``"America/Sao_Paulo"``), so
   "09:00-18:00" means nine to six local time all year, across DST changes.
2. ``weekly`` maps a weekday (``"mon"`` … ``"sun"``; ``0`` … ``6`` are accepted and stored
   as names) to ranges ``("HH:MM", "HH:MM")``.  A range is ``[start, end)``; ``"24:00"`` is
   allowed as an end.  An end earlier than its start (``"00:00"`` included) runs overnight
   into the next day: ``("22:00", "02:00")`` on Friday is open from Friday 22:00
   to Saturday 02:00.  ``start == end`` is refused (say ``"00:00"``-``"24:00"`` for all
   day), as are overlapping ranges of one day and malformed times.
3. A range belongs to the day it starts on.  ``holidays`` (ISO dates) close those days:
   their ranges do not start; ``exceptions`` replace a date's ranges (``()`` closes it, like
   a holiday).  A shift that started the day before still runs to its end.
4. In the hour that repeats when clocks go back, both occurrences of a time in a range are
   open; a range that starts inside the hour skipped when clocks go forward opens at the
   change.  Ranges lying wholly inside that skipped hour never open.
5. Outside hours, :meth:`AfterHours.decide` says what a hand-off does: send the team's
   message and wait in its queue, or go to another team.

Dates and times are stored as strings so the object is plain cattrs/JSON data; ``is_open``
and ``next_opening`` take timezone-aware datetimes (a naive one raises ``ValueError``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from ..errors import InvalidBusinessHours

__all__ = ["WEEKDAYS", "AfterHours", "BusinessHours", "Closed", "HandoffDecision", "Open"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_TIME = re.compile(r"^(\d\d):(\d\d)$")
# Dated exceptions and holidays further out than this are still honoured by next_opening;
# with only weekly hours a year is plenty to find the next range.
_HORIZON_DAYS = 400

Ranges = tuple[tuple[str, str], ...]


def _minutes(value: str, *, where: str, end: bool) -> int:
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidBusinessHours(f"{where}: {value!r} is not a time of the form 'HH:MM'")
    hours, minutes = int(match[1]), int(match[2])
    if (hours, minutes) == (24, 0) and end:
        return 24 * 60
    if hours > 23 or minutes > 59:
        raise InvalidBusinessHours(f"{where}: {value!r} is not a valid time of day")
    return hours * 60 + minutes


def _span(start: str, end: str, *, where: str) -> tuple[int, int]:
    """``(start, end)`` in minutes from the start day's midnight; ``end`` may pass 1440."""
    s = _minutes(start, where=where, end=False)
    e = _minutes(end, where=where, end=True)
    if s == e:
        raise InvalidBusinessHours(
            f"{where}: empty range {start}-{end} (use 00:00-24:00 for the whole day)"
        )
    if e < s:
        e += 24 * 60  # overnight
    return s, e


def _ranges(value: Iterable[Sequence[str]], *, where: str) -> Ranges:
    if isinstance(value, str | bytes):
        raise InvalidBusinessHours(f"{where}: expected a list of [start, end] pairs")
    out: list[tuple[str, str]] = []
    for pair in value:
        if isinstance(pair, str | bytes) or len(pair) != 2:
            raise InvalidBusinessHours(f"{where}: {pair!r} is not a [start, end] pair")
        start, end = pair[0], pair[1]
        _span(start, end, where=where)
        out.append((start, end))
    out.sort(key=lambda p: _span(*p, where=where))
    spans = [_span(*p, where=where) for p in out]
    for (_s1, e1), (s2, _e2), p1, p2 in zip(spans, spans[1:], out, out[1:], strict=False):
        if s2 < e1:
            raise InvalidBusinessHours(
                f"{where}: ranges {p1[0]}-{p1[1]} and {p2[0]}-{p2[1]} overlap"
            )
    return tuple(out)


def _weekday(key: str | int) -> str:
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
        return WEEKDAYS[key]
    if isinstance(key, str) and key.lower()[:3] in WEEKDAYS and (
        len(key) == 3 or key.lower() in _LONG_DAYS
    ):
        return key.lower()[:3]
    raise InvalidBusinessHours(
        f"weekly: {key!r} is not a weekday (use mon..sun, monday..sunday or 0..6)"
    )


_LONG_DAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}


def _weekly(value: Mapping[str | int, Iterable[Sequence[str]]]) -> dict[str, Ranges]:
    if not isinstance(value, Mapping):
        raise InvalidBusinessHours("weekly: expected a mapping of weekday to ranges")
    out: dict[str, Ranges] = {}
    for key, ranges in value.items():
        day = _weekday(key)
        if day in out:
            raise InvalidBusinessHours(f"weekly: {day} is given twice")
        out[day] = _ranges(ranges, where=f"weekly[{day}]")
    return {day: out[day] for day in WEEKDAYS if day in out}


def _iso(value: str | dt.date, *, where: str) -> str:
    if isinstance(value, dt.datetime):
        raise InvalidBusinessHours(f"{where}: {value!r} is a datetime, not a date")
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise InvalidBusinessHours(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def _holidays(value: Iterable[str | dt.date]) -> tuple[str, ...]:
    if isinstance(value, str | bytes):
        raise InvalidBusinessHours("holidays: expected a list of dates")
    return tuple(sorted({_iso(d, where="holidays") for d in value}))


def _exceptions(value: Mapping[str | dt.date, Iterable[Sequence[str]]]) -> dict[str, Ranges]:
    if not isinstance(value, Mapping):
        raise InvalidBusinessHours("exceptions: expected a mapping of date to ranges")
    out: dict[str, Ranges] = {}
    for key, ranges in value.items():
        day = _iso(key, where="exceptions")
        out[day] = _ranges(ranges, where=f"exceptions[{day}]")
    return dict(sorted(out.items()))


def _zone(instance: BusinessHours, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidBusinessHours(f"timezone: unknown time zone {value!r}") from None


@attrs.frozen(kw_only=True)
class BusinessHours:
    """When a team is open (rules 1-4).  Validated on construction: a bad value raises
    :class:`InvalidBusinessHours` naming it."""

    timezone: str = attrs.field(validator=_zone)
    weekly: dict[str, Ranges] = attrs.field(factory=dict, converter=_weekly)
    #: closed all day (ISO dates, local to ``timezone``)
    holidays: tuple[str, ...] = attrs.field(default=(), converter=_holidays)
    #: a date's own ranges instead of its weekday's (``()``: closed)
    exceptions: dict[str, Ranges] = attrs.field(factory=dict, converter=_exceptions)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def ranges_on(self, day: dt.date) -> Ranges:
        """The ranges that start on local date ``day`` (rule 3)."""
        iso = day.isoformat()
        if iso in self.exceptions:
            return self.exceptions[iso]
        if iso in self.holidays:
            return ()
        return self.weekly.get(WEEKDAYS[day.weekday()], ())

    def _spans_on(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """Naive local wall-clock ``[start, end)`` of the ranges starting on ``day``."""
        midnight = dt.datetime.combine(day, dt.time())
        return [
            (midnight + dt.timedelta(minutes=s), midnight + dt.timedelta(minutes=e))
            for s, e in (_span(a, b, where="") for a, b in self.ranges_on(day))
        ]

    def is_open(self, at: dt.datetime) -> bool:
        """Whether the team is open at the instant ``at`` (timezone-aware)."""
        wall = _local_wall(at, self.zone)
        day = wall.date()
        for d in (day - dt.timedelta(days=1), day):
            for start, end in self._spans_on(d):
                if start <= wall < end:
                    return True
        return False

    def next_opening(self, at: dt.datetime) -> dt.datetime | None:
        """The first instant at or after ``at`` when the team is open (``at`` itself if open
        now), in the team's time zone; ``None`` if it never opens again.

        In a repeated hour the result may carry ``fold=1``; Python never calls such a
        datetime equal to one in another zone, so compare ``.timestamp()`` values or convert
        both to UTC."""
        if self.is_open(at):
            return at.astimezone(self.zone)
        zone = self.zone
        # Compare instants in UTC: aware datetimes sharing a tzinfo compare by wall clock,
        # which is wrong in the repeated hour.
        after = at.astimezone(dt.UTC)
        first = _local_wall(at, zone).date() - dt.timedelta(days=1)
        last = first + dt.timedelta(days=_HORIZON_DAYS)
        if self.exceptions:
            last = max(last, dt.date.fromisoformat(max(self.exceptions)) + dt.timedelta(days=1))
        day = first
        while day <= last:
            best: dt.datetime | None = None
            for start, _end in self._spans_on(day):
                for instant in _instants(start, zone):
                    if instant > after and self.is_open(instant):
                        best = instant if best is None else min(best, instant)
            if best is not None:
                return best.astimezone(zone)
            day += dt.timedelta(days=1)
        return None


def _local_wall(at: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} is naive: pass a timezone-aware datetime")
    return at.astimezone(zone).replace(tzinfo=None, fold=0)


def _instants(wall: dt.datetime, zone: ZoneInfo) -> list[dt.datetime]:
    """The instants (in UTC) whose local wall clock first reads ``wall``: two in a repeated
    hour, the clock change itself when ``wall`` falls in a skipped hour (rule 4)."""
    found: list[dt.datetime] = []
    for fold in (0, 1):
        candidate = wall.replace(tzinfo=zone, fold=fold)
        if candidate.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) == wall:
            found.append(candidate.astimezone(dt.UTC))
    if found:
        return sorted(set(found))
    # A skipped wall time: the first instant whose wall clock reads later than ``wall`` is
    # the clock change, which lies between the fold=1 and fold=0 readings.  Bisect it to
    # the second (zones change on whole seconds).
    lo = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    hi = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    lo, hi = min(lo, hi), max(lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dt.datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return [dt.datetime.fromtimestamp(hi, dt.UTC)]


# --- what a hand-off does outside hours -------------------------------------------------


@attrs.frozen(kw_only=True)
class Open:
    """The team is open: queue the conversation."""


@attrs.frozen(kw_only=True)
class Closed:
    """The team is closed: send ``message`` (if any) and either wait in this team's queue
    (``redirect_to is None``) or hand off to ``redirect_to``.  ``opens_at`` is the next
    opening (for "we open at 9:00" messages), ``None`` if it never opens again."""

    message: str
    redirect_to: str | None
    opens_at: dt.datetime | None


HandoffDecision = Open | Closed


@attrs.frozen(kw_only=True)
class AfterHours:
    """A team's after-hours behaviour: its ``message`` and ``action`` (``"wait"`` in this
    team's queue, or ``"redirect"`` to ``redirect_to``)."""

    message: str = ""
    action: Literal["wait", "redirect"] = "wait"
    redirect_to: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.action not in ("wait", "redirect"):
            raise InvalidBusinessHours(f"after_hours.action: {self.action!r} is not wait/redirect")
        if (self.action == "redirect") != (self.redirect_to is not None):
            raise InvalidBusinessHours(
                "after_hours: redirect_to is required with action 'redirect' and only then"
            )

    def decide(self, hours: BusinessHours, at: dt.datetime) -> HandoffDecision:
        """What a hand-off at ``at`` does (rule 5); also answers a flow's "is it open?"."""
        if hours.is_open(at):
            return Open()
        return Closed(
            message=self.message,
            redirect_to=self.redirect_to if self.action == "redirect" else None,
            opens_at=hours.next_opening(at),
        )
