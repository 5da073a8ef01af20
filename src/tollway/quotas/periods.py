"""Quota periods: pure calculation, in the customer's time zone (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

TOTAL_START = datetime(2000, 1, 1, tzinfo=UTC)
"""Start of the ``total`` period (before any event Tollway can hold)."""


def _local_midnight(day: datetime, zone: ZoneInfo) -> datetime:
    return datetime.combine(day.date(), time(), tzinfo=zone).astimezone(UTC)


def quota_period(
    period: str,
    now: datetime,
    timezone: str,
    billing_period: tuple[datetime, datetime | None] | None = None,
) -> tuple[datetime, datetime | None]:
    """The half-open period ``[start, end)`` containing ``now``; ``end`` is ``None`` for
    ``total``. ``billing_period`` falls back to the calendar month without one."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if period == "hourly":
        start = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        return start, start + timedelta(hours=1)
    if period == "daily":
        start = _local_midnight(local, zone)
        return start, _local_midnight(local + timedelta(days=1), zone)
    if period == "billing_period" and billing_period is not None:
        start, end = billing_period
        if end is not None and start <= now < end:
            return start, end
    if period in ("monthly", "billing_period"):
        first = local.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return _local_midnight(first, zone), _local_midnight(following, zone)
    if period == "total":
        return TOTAL_START, None
    raise ValueError(f"unknown quota period {period!r}")


def usage_end(end: datetime | None, now: datetime) -> datetime:
    """Where to stop reading usage: the period's end, or (``total``) past any event."""
    if end is not None:
        return end
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)


def percent(used: Decimal, limit: int) -> Decimal | None:
    """``used`` as a percentage of ``limit`` to two places (``None`` when unlimited)."""
    if limit < 0:
        return None
    if limit == 0:
        return Decimal("0.00") if used <= 0 else None
    return (used * 100 / limit).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def reached(thresholds: list[int], used: Decimal, limit: int) -> list[int]:
    """The thresholds (percent) that ``used`` has reached of a positive ``limit``."""
    if limit <= 0:
        return []
    return [t for t in thresholds if used * 100 >= t * limit]


def retry_after(resets_at: datetime | None, now: datetime) -> int | None:
    """Whole seconds until ``resets_at`` (at least 1), for ``Retry-After``."""
    if resets_at is None:
        return None
    seconds = (resets_at - now).total_seconds()
    return max(1, int(-(-seconds // 1)))
