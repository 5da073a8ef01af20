"""Quota periods in the customer's time zone, percentages, thresholds and Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tollway.quotas.periods import TOTAL_START, percent, quota_period, reached, retry_after


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "timezone", "now", "expected"),
    [
        (
            "hourly",
            "UTC",
            utc(2026, 1, 15, 12, 59, 59),
            (utc(2026, 1, 15, 12), utc(2026, 1, 15, 13)),
        ),
        # India is UTC+5:30: its hours start at :30 UTC.
        (
            "hourly",
            "Asia/Kolkata",
            utc(2026, 1, 15, 12, 10),
            (utc(2026, 1, 15, 11, 30), utc(2026, 1, 15, 12, 30)),
        ),
        (
            "daily",
            "America/New_York",
            utc(2026, 1, 15, 3),
            (utc(2026, 1, 14, 5), utc(2026, 1, 15, 5)),
        ),
        # The day daylight saving starts in New York has 23 hours.
        (
            "daily",
            "America/New_York",
            utc(2026, 3, 8, 12),
            (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)),
        ),
        (
            "monthly",
            "Europe/Berlin",
            utc(2026, 1, 31, 23, 30),
            (utc(2026, 1, 31, 23), utc(2026, 2, 28, 23)),
        ),
        (
            "monthly",
            "UTC",
            utc(2026, 12, 31, 23),
            (utc(2026, 12, 1), utc(2027, 1, 1)),
        ),
        (
            "total",
            "UTC",
            utc(2026, 5, 1),
            (TOTAL_START, None),
        ),
    ],
)
def test_periods_follow_the_customers_calendar(
    period: str, timezone: str, now: datetime, expected: tuple[datetime, datetime | None]
) -> None:
    assert quota_period(period, now, timezone) == expected


def test_billing_period_uses_the_subscription_period_and_falls_back_to_the_month() -> None:
    current = (utc(2026, 1, 10, 9, 30), utc(2026, 2, 10, 9, 30))
    assert quota_period("billing_period", utc(2026, 1, 20), "UTC", current) == current
    assert quota_period("billing_period", utc(2026, 2, 11), "UTC", current) == (
        utc(2026, 2, 1),
        utc(2026, 3, 1),
    )
    assert quota_period("billing_period", utc(2026, 1, 20), "UTC", None) == (
        utc(2026, 1, 1),
        utc(2026, 2, 1),
    )


def test_percent_thresholds_and_retry_after() -> None:
    assert percent(Decimal(1), 3) == Decimal("33.33")
    assert percent(Decimal(5), -1) is None
    assert percent(Decimal(0), 0) == Decimal("0.00")
    assert reached([80, 90, 100], Decimal(30), 37) == [80]
    assert reached([80, 90, 100], Decimal(37), 37) == [80, 90, 100]
    assert reached([80], Decimal(10**6), -1) == []
    now = utc(2026, 1, 15, 12, 45, 10)
    assert retry_after(utc(2026, 1, 15, 13), now) == 890
    assert retry_after(utc(2026, 1, 15, 12, 45, 10, 1), now) == 1
    assert retry_after(None, now) is None
