"""Billing periods: month-end clamp and recover, DST, leap years, calendar billing, tiling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tollway.subscriptions.periods import (
    Period,
    Schedule,
    add_days,
    add_months,
    anniversary,
    calendar_billing,
    first_period,
)

SP = ZoneInfo("America/Sao_Paulo")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_month_end_anchor_clamps_and_recovers() -> None:
    schedule = anniversary(utc(2026, 1, 31, 10), "UTC", "monthly")
    starts = [schedule.boundary(n) for n in range(13)]
    assert [(b.month, b.day) for b in starts] == [
        (1, 31), (2, 28), (3, 31), (4, 30), (5, 31), (6, 30),
        (7, 31), (8, 31), (9, 30), (10, 31), (11, 30), (12, 31), (1, 31),
    ]  # fmt: skip
    assert all(b.hour == 10 for b in starts)


def test_leap_years_feb_29_anchor() -> None:
    schedule = anniversary(utc(2028, 2, 29, 0), "UTC", "annual")
    assert [schedule.boundary(n) for n in range(5)] == [
        utc(2028, 2, 29), utc(2029, 2, 28), utc(2030, 2, 28), utc(2031, 2, 28), utc(2032, 2, 29)
    ]  # fmt: skip
    monthly = anniversary(utc(2028, 1, 30), "UTC", "monthly")
    assert monthly.boundary(1) == utc(2028, 2, 29)
    assert monthly.boundary(2) == utc(2028, 3, 30)


def test_quarterly_and_lifetime() -> None:
    quarterly = anniversary(utc(2026, 11, 30, 8), "UTC", "quarterly")
    assert [quarterly.boundary(n) for n in range(3)] == [
        utc(2026, 11, 30, 8), utc(2027, 2, 28, 8), utc(2027, 5, 30, 8)
    ]  # fmt: skip
    lifetime = anniversary(utc(2026, 3, 1), "UTC", "lifetime")
    assert lifetime.period_at(utc(2090, 1, 1)) == Period(utc(2026, 3, 1), None)
    assert lifetime.next_boundary(utc(2026, 3, 1)) is None


def test_local_time_of_day_survives_dst_in_sao_paulo() -> None:
    # Brazil observed DST from 2018-11-04 to 2019-02-17 (UTC-2 instead of UTC-3).
    start = datetime(2018, 10, 10, 9, 0, tzinfo=SP)
    schedule = anniversary(start, "America/Sao_Paulo", "monthly")
    boundaries = [schedule.boundary(n) for n in range(6)]
    assert [b.astimezone(SP).hour for b in boundaries] == [9] * 6
    assert [b.hour for b in boundaries] == [12, 11, 11, 11, 11, 12]
    # The period that crosses the switch is an hour shorter than 31 days.
    assert boundaries[1] - boundaries[0] == timedelta(days=31, hours=-1)


def test_nonexistent_local_midnight_still_moves_forward() -> None:
    # 2018-11-04 00:00 did not exist in Sao Paulo; the boundary lands just after.
    schedule = calendar_billing(
        datetime(2018, 10, 20, tzinfo=SP), "America/Sao_Paulo", "monthly", 4
    )
    period = first_period(schedule, datetime(2018, 10, 20, tzinfo=SP))
    assert period.end is not None
    assert period.end.astimezone(SP).date().isoformat() == "2018-11-04"
    assert schedule.boundary(1) > schedule.boundary(0)


def test_calendar_billing_aligns_to_the_billing_day() -> None:
    start = utc(2026, 3, 11, 12)
    monthly = calendar_billing(start, "UTC", "monthly", 1)
    assert first_period(monthly, start) == Period(start, utc(2026, 4, 1))
    assert monthly.period_at(utc(2026, 4, 1)) == Period(utc(2026, 4, 1), utc(2026, 5, 1))
    quarterly = calendar_billing(start, "UTC", "quarterly", 1)
    assert first_period(quarterly, start).end == utc(2026, 4, 1)
    annual = calendar_billing(start, "UTC", "annual", 15)
    assert first_period(annual, start).end == utc(2027, 1, 15)
    before_day = calendar_billing(utc(2026, 3, 3), "UTC", "monthly", 15)
    assert first_period(before_day, utc(2026, 3, 3)).end == utc(2026, 3, 15)
    with pytest.raises(ValueError, match="billing_day"):
        calendar_billing(start, "UTC", "monthly", 29)


zones = st.sampled_from(
    ["UTC", "America/Sao_Paulo", "Europe/Paris", "Australia/Lord_Howe", "Asia/Kolkata"]
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 (hypothesis bounds are naive)
    max_value=datetime(2060, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
cycles = st.sampled_from(["monthly", "quarterly", "annual"])


@settings(max_examples=300, deadline=None)
@given(anchor=instants, zone=zones, cycle=cycles, count=st.integers(1, 40))
def test_anniversary_periods_tile_time(anchor: datetime, zone: str, cycle: str, count: int) -> None:
    schedule = anniversary(anchor, zone, cycle)
    boundaries = [schedule.boundary(n) for n in range(count + 1)]
    assert boundaries[0] == anchor
    for n in range(count):
        # each boundary is strictly after the previous one: no gaps, no overlaps
        assert boundaries[n] < boundaries[n + 1]
        assert schedule.period_at(boundaries[n]) == Period(boundaries[n], boundaries[n + 1])
        assert schedule.period_at(boundaries[n + 1] - timedelta(microseconds=1)) == Period(
            boundaries[n], boundaries[n + 1]
        )


@settings(max_examples=300, deadline=None)
@given(
    start=instants,
    zone=zones,
    cycle=cycles,
    day=st.integers(1, 28),
    offsets=st.lists(st.integers(0, 10 * 366 * 86400), min_size=1, max_size=5),
)
def test_calendar_periods_contain_every_instant(
    start: datetime, zone: str, cycle: str, day: int, offsets: list[int]
) -> None:
    schedule = calendar_billing(start, zone, cycle, day)
    first = first_period(schedule, start)
    assert first.end is not None
    assert first.start < first.end
    for offset in offsets:
        at = start + timedelta(seconds=offset)
        period = schedule.period_at(at)
        assert period.end is not None
        assert period.start <= at < period.end
        # the next period starts exactly where this one ends
        assert schedule.period_at(period.end).start == period.end


@given(at=instants, months=st.integers(-120, 120), zone=zones)
def test_add_months_keeps_the_day_or_clamps(at: datetime, months: int, zone: str) -> None:
    moved = add_months(at, months, zone).astimezone(ZoneInfo(zone))
    local = at.astimezone(ZoneInfo(zone))
    assert moved.day == local.day or (moved.day < local.day and moved.day >= 28)


def test_schedule_is_a_value() -> None:
    assert Schedule(utc(2026, 1, 1), "UTC", 1) == anniversary(utc(2026, 1, 1), "UTC", "monthly")


NEW_YORK = "America/New_York"


def test_an_anchor_in_the_repeated_dst_hour_is_its_own_first_boundary() -> None:
    # 2026-11-01 06:30Z is 01:30 EST, after the clocks went back (fold=1).
    anchor = utc(2026, 11, 1, 6, 30)
    schedule = anniversary(anchor, NEW_YORK, "monthly")
    assert schedule.boundary(0) == anchor
    assert schedule.period_at(anchor) == Period(anchor, utc(2026, 12, 1, 6, 30))
    assert add_months(anchor, 0, NEW_YORK) == anchor
    # The first 01:30 of the night (EDT, fold=0) also stays itself.
    first = utc(2026, 11, 1, 5, 30)
    assert anniversary(first, NEW_YORK, "monthly").boundary(0) == first
    assert first_period(schedule, anchor) == Period(anchor, utc(2026, 12, 1, 6, 30))


def test_add_months_keeps_the_month_and_the_local_time_of_day() -> None:
    cases = [
        (utc(2026, 1, 31, 14), 1, "UTC", utc(2026, 2, 28, 14)),
        (utc(2026, 1, 31, 14), 2, "UTC", utc(2026, 3, 31, 14)),
        (utc(2026, 3, 1, 5), 1, NEW_YORK, utc(2026, 4, 1, 4)),  # 00:00 EST -> 00:00 EDT
        (utc(2026, 10, 15, 13, 45), 1, NEW_YORK, utc(2026, 11, 15, 14, 45)),  # 09:45 local
        (utc(2026, 12, 15, 10), 14, "UTC", utc(2028, 2, 15, 10)),
        (utc(2026, 3, 31, 12), -1, "UTC", utc(2026, 2, 28, 12)),
    ]
    for at, months, zone, expected in cases:
        moved = add_months(at, months, zone)
        assert moved == expected, (at, months, zone)
        local, local_at = moved.astimezone(ZoneInfo(zone)), at.astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) == (local_at.hour, local_at.minute)


def test_add_days_counts_wall_clock_days() -> None:
    # 09:00 in Berlin on Mar 20 (CET) + 14 days is 09:00 on Apr 3 (CEST).
    assert add_days(utc(2026, 3, 20, 8), 14, "Europe/Berlin") == utc(2026, 4, 3, 7)
    assert add_days(utc(2026, 3, 20, 8), 14, "UTC") == utc(2026, 4, 3, 8)
