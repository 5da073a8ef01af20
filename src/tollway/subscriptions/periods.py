"""Billing periods: where each period of a subscription starts and ends (pure, no I/O).

A schedule is an anchor instant plus a step in calendar months, laid out in the
customer's time zone. Boundary ``n`` is always computed from the anchor, never
from the previous boundary, so a month-end anchor clamps and recovers
(Jan 31 -> Feb 28 -> Mar 31) and the local time of day survives DST changes.
Periods are half-open ``[start, end)`` in aware UTC instants; ``lifetime`` has a
single period with no end.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

BillingCycle = Literal["monthly", "quarterly", "annual", "lifetime"]
CYCLE_MONTHS: dict[str, int] = {"monthly": 1, "quarterly": 3, "annual": 12, "lifetime": 0}


@dataclass(frozen=True)
class Period:
    """``[start, end)``; ``end`` is ``None`` for a lifetime period."""

    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class Schedule:
    """Boundaries ``anchor + n * months`` in ``timezone``, on local day ``anchor_day``."""

    anchor: datetime
    timezone: str
    months: int

    def boundary(self, n: int) -> datetime:
        """The start of period ``n`` (``n`` may be negative) as an aware UTC instant."""
        if self.months == 0:
            if n != 0:
                raise ValueError("a lifetime schedule has a single boundary")
            return self.anchor
        if n == 0:
            return self.anchor  # even in a repeated (DST) hour: the anchor itself
        return add_months(self.anchor, n * self.months, self.timezone)

    def period_at(self, at: datetime) -> Period:
        """The period containing ``at`` (``at`` not before the anchor's first period)."""
        if self.months == 0:
            return Period(self.anchor, None)
        local = self.anchor.astimezone(ZoneInfo(self.timezone))
        at_local = at.astimezone(ZoneInfo(self.timezone))
        months_between = (at_local.year - local.year) * 12 + at_local.month - local.month
        n = months_between // self.months + 1
        while self.boundary(n) > at:
            n -= 1
        while self.boundary(n + 1) <= at:
            n += 1
        return Period(self.boundary(n), self.boundary(n + 1))

    def next_boundary(self, at: datetime) -> datetime | None:
        """The first boundary strictly after ``at``; ``None`` for lifetime."""
        return self.period_at(at).end


def add_months(at: datetime, months: int, timezone: str) -> datetime:
    """``at`` moved ``months`` calendar months in ``timezone``, keeping the local day
    (clamped to the month's last day) and local time of day; returns UTC.

    ``fold`` is kept: a time in a repeated (DST) hour stays on the same side of the
    change, so zero months gives back ``at`` itself."""
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    index = local.year * 12 + (local.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    moved = local.replace(year=year, month=month, day=day)  # keeps the zone and ``fold``
    wall = moved.replace(tzinfo=None)
    if moved.fold and moved.astimezone(UTC).astimezone(zone).replace(tzinfo=None, fold=0) != wall:
        moved = moved.replace(fold=0)  # in a gap: land just after it, as fold 0 does
    return moved.astimezone(UTC)


def anniversary(start: datetime, timezone: str, cycle: str) -> Schedule:
    """Periods that renew on the local day and time of ``start``."""
    return Schedule(anchor=start.astimezone(UTC), timezone=timezone, months=CYCLE_MONTHS[cycle])


def calendar_billing(start: datetime, timezone: str, cycle: str, billing_day: int) -> Schedule:
    """Periods on local midnight of ``billing_day`` (1-28): every month for monthly,
    calendar quarters (Jan, Apr, Jul, Oct) for quarterly, January for annual.

    The first period runs from ``start`` to the next boundary (a stub period).
    """
    if not 1 <= billing_day <= 28:
        raise ValueError("billing_day must be between 1 and 28")
    months = CYCLE_MONTHS[cycle]
    if months == 0:
        return anniversary(start, timezone, cycle)
    zone = ZoneInfo(timezone)
    local = start.astimezone(zone)
    month = local.month - (local.month - 1) % months
    anchor = datetime(local.year, month, billing_day, tzinfo=zone).astimezone(UTC)
    return Schedule(anchor=anchor, timezone=timezone, months=months)


def add_days(at: datetime, days: int, timezone: str) -> datetime:
    """``at`` moved ``days`` wall-clock days in ``timezone`` (same local time of day
    across DST changes); returns UTC."""
    local = at.astimezone(ZoneInfo(timezone))
    return (local + timedelta(days=days)).astimezone(UTC)


def first_period(schedule: Schedule, start: datetime) -> Period:
    """The period a subscription starting at ``start`` is in: ``[start, next boundary)``."""
    return Period(start, schedule.next_boundary(start))
