"""Business hours: weekly ranges, overnight ranges, holidays, exceptions, DST, validation."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytake.actors import converter
from pytake.routing import AfterHours, BusinessHours, Closed, InvalidBusinessHours, Open

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
WEEKDAYS_9_TO_5 = {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}


def local(
    y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, *, fold: int = 0
) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=NY, fold=fold)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def office(**kwargs: object) -> BusinessHours:
    return BusinessHours(timezone="America/New_York", weekly=WEEKDAYS_9_TO_5, **kwargs)  # type: ignore[arg-type]


def test_weekly_ranges_are_half_open() -> None:
    hours = office()
    assert not hours.is_open(local(2024, 5, 6, 8, 59))  # Monday
    assert hours.is_open(local(2024, 5, 6, 9, 0))
    assert hours.is_open(local(2024, 5, 6, 16, 59, 59))
    assert not hours.is_open(local(2024, 5, 6, 17, 0))
    assert not hours.is_open(local(2024, 5, 4, 12, 0))  # Saturday


def test_nine_to_five_local_on_both_sides_of_dst() -> None:
    hours = office()
    # Friday before the March change: EST, UTC-5
    assert hours.is_open(utc(2024, 3, 8, 14, 0)) and not hours.is_open(utc(2024, 3, 8, 13, 59))
    # Monday after it: EDT, UTC-4
    assert hours.is_open(utc(2024, 3, 11, 13, 0)) and not hours.is_open(utc(2024, 3, 11, 12, 59))
    # From Friday evening, the next opening is Monday 09:00 EDT
    opening = hours.next_opening(utc(2024, 3, 8, 23, 0))
    assert opening == utc(2024, 3, 11, 13, 0)
    assert opening is not None and opening.tzinfo == NY and opening.hour == 9
    # and across the November change, Monday 09:00 EST
    assert hours.next_opening(utc(2024, 11, 1, 23, 0)) == utc(2024, 11, 4, 14, 0)


def test_overnight_ranges_run_into_the_next_day() -> None:
    hours = BusinessHours(timezone="America/New_York", weekly={"fri": [("22:00", "02:00")]})
    assert not hours.is_open(local(2024, 5, 10, 21, 59))
    assert hours.is_open(local(2024, 5, 10, 23, 0))
    assert hours.is_open(local(2024, 5, 11, 1, 59))  # Saturday morning
    assert not hours.is_open(local(2024, 5, 11, 2, 0))
    assert hours.next_opening(local(2024, 5, 11, 3, 0)) == local(2024, 5, 17, 22, 0)
    # ending at midnight
    late = BusinessHours(timezone="UTC", weekly={0: [("20:00", "00:00")]})
    assert late.is_open(utc(2024, 5, 6, 23, 59)) and not late.is_open(utc(2024, 5, 7, 0, 0))


def test_a_shift_started_before_a_holiday_runs_to_its_end() -> None:
    hours = BusinessHours(
        timezone="America/New_York",
        weekly={d: [("22:00", "02:00")] for d in ("fri", "sat")},
        holidays=["2024-05-11"],
    )
    assert hours.is_open(local(2024, 5, 11, 1, 0))  # Friday's shift
    assert not hours.is_open(local(2024, 5, 11, 23, 0))  # Saturday's did not start


def test_holidays_and_exceptions() -> None:
    hours = office(
        holidays=[dt.date(2024, 12, 25)],
        exceptions={"2024-12-24": [("09:00", "12:00")], "2024-12-28": [("10:00", "14:00")]},
    )
    assert not hours.is_open(local(2024, 12, 25, 10, 0))
    assert hours.is_open(local(2024, 12, 24, 11, 0))
    assert not hours.is_open(local(2024, 12, 24, 13, 0))
    assert hours.is_open(local(2024, 12, 28, 11, 0))  # a Saturday opened for the day
    assert hours.next_opening(local(2024, 12, 24, 13, 0)) == local(2024, 12, 26, 9, 0)
    assert hours.holidays == ("2024-12-25",)


def test_next_opening_is_now_when_open_and_none_when_never() -> None:
    hours = office()
    now = local(2024, 5, 6, 10, 0)
    assert hours.next_opening(now) == now
    closed = BusinessHours(timezone="UTC")
    assert closed.next_opening(utc(2024, 1, 1)) is None
    one_day = BusinessHours(timezone="UTC", exceptions={"2030-01-02": [("10:00", "11:00")]})
    assert one_day.next_opening(utc(2024, 1, 1)) == utc(2030, 1, 2, 10, 0)
    assert one_day.next_opening(utc(2030, 1, 2, 11, 0)) is None


def test_a_range_starting_in_the_skipped_hour_opens_at_the_change() -> None:
    # 2024-03-10: New York clocks go from 02:00 EST straight to 03:00 EDT (07:00 UTC).
    hours = BusinessHours(timezone="America/New_York", weekly={"sun": [("02:30", "04:00")]})
    assert not hours.is_open(utc(2024, 3, 10, 6, 59, 59))
    assert hours.is_open(utc(2024, 3, 10, 7, 0))
    assert hours.next_opening(utc(2024, 3, 10, 5, 0)) == utc(2024, 3, 10, 7, 0)
    never = BusinessHours(timezone="America/New_York", weekly={"sun": [("02:10", "02:50")]})
    assert never.next_opening(utc(2024, 3, 10, 5, 0)) == local(2024, 3, 17, 2, 10)


def test_both_occurrences_of_a_repeated_hour_are_open() -> None:
    # 2024-11-03: 01:00-02:00 happens twice in New York (EDT, then EST).
    hours = BusinessHours(timezone="America/New_York", weekly={"sun": [("01:30", "01:45")]})
    first = local(2024, 11, 3, 1, 40, fold=0)
    second = local(2024, 11, 3, 1, 40, fold=1)
    assert second.astimezone(UTC) - first.astimezone(UTC) == dt.timedelta(hours=1)
    assert hours.is_open(first) and hours.is_open(second)
    between = local(2024, 11, 3, 1, 50, fold=0)  # after the first 01:45, before the second 01:30
    assert not hours.is_open(between)
    opening = hours.next_opening(between)
    assert opening is not None
    # (compare in UTC: Python never calls a fold=1 time equal to another zone's datetime)
    assert opening.astimezone(UTC) == utc(2024, 11, 3, 6, 30)  # 01:30 EST
    assert (opening.hour, opening.minute, opening.fold) == (1, 30, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"weekly": {"mon": [("9:00", "17:00")]}}, "HH:MM"),
        ({"weekly": {"mon": [("09:00", "25:00")]}}, "not a valid time"),
        ({"weekly": {"mon": [("24:00", "02:00")]}}, "not a valid time"),
        ({"weekly": {"mon": [("09:60", "10:00")]}}, "not a valid time"),
        ({"weekly": {"mon": [("09:00", "09:00")]}}, "empty range"),
        ({"weekly": {"mon": [("09:00", "12:00"), ("11:00", "13:00")]}}, "overlap"),
        ({"weekly": {"funday": [("09:00", "12:00")]}}, "not a weekday"),
        ({"weekly": {7: [("09:00", "12:00")]}}, "not a weekday"),
        ({"weekly": {"mon": [("09:00", "12:00")], 0: [("13:00", "14:00")]}}, "twice"),
        ({"weekly": {"mon": ["09:00-12:00"]}}, "pair"),
        ({"weekly": {"mon": "09:00"}}, "list"),
        ({"holidays": ["2024-02-30"]}, "not a date"),
        ({"exceptions": {"soon": []}}, "not a date"),
    ],
)
def test_bad_hours_are_refused_clearly(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"timezone": "UTC", **kwargs}
    with pytest.raises(InvalidBusinessHours, match=message):
        BusinessHours(**args)  # type: ignore[arg-type]
    assert issubclass(InvalidBusinessHours, ValueError)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        office().is_open(dt.datetime(2024, 5, 6, 10, 0))


def test_weekday_spellings_are_normalised() -> None:
    hours = BusinessHours(timezone="UTC", weekly={0: [("09:00", "10:00")], "Tuesday": []})
    assert hours.weekly == {"mon": (("09:00", "10:00"),), "tue": ()}


def test_after_hours_decisions() -> None:
    hours = office()
    wait = AfterHours(message="We open at 9.")
    assert wait.decide(hours, local(2024, 5, 6, 10, 0)) == Open()
    closed = wait.decide(hours, local(2024, 5, 6, 18, 0))
    assert closed == Closed(
        message="We open at 9.", redirect_to=None, opens_at=local(2024, 5, 7, 9, 0)
    )
    redirect = AfterHours(message="Sending you on.", action="redirect", redirect_to="night")
    decision = redirect.decide(hours, local(2024, 5, 6, 18, 0))
    assert isinstance(decision, Closed) and decision.redirect_to == "night"
    with pytest.raises(InvalidBusinessHours, match="redirect_to"):
        AfterHours(action="redirect")


def test_hours_snapshot_through_cattrs_and_json() -> None:
    hours = office(holidays=["2024-12-25"], exceptions={"2024-12-24": [("09:00", "12:00")]})
    data = json.loads(json.dumps(converter.unstructure(hours)))
    assert converter.structure(data, BusinessHours) == hours


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(["America/New_York", "Europe/Paris", "Australia/Sydney", "UTC"]),
    start=st.integers(0, 23 * 60 + 59),
    length=st.integers(1, 20 * 60),
    instant=st.datetimes(
        min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2026, 1, 1), timezones=st.just(UTC)
    ),
)
def test_next_opening_is_open_and_nothing_earlier_is(
    zone: str, start: int, length: int, instant: dt.datetime
) -> None:
    end = (start + length) % (24 * 60)
    if end == start:
        return
    rng = (f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}")
    hours = BusinessHours(timezone=zone, weekly={"wed": [rng], "sat": [rng]})
    opening = hours.next_opening(instant)
    assert opening is not None and opening >= instant
    assert hours.is_open(opening)
    # closed a second before it, unless it is the instant asked about
    if opening > instant:
        assert not hours.is_open(opening - dt.timedelta(seconds=1))
