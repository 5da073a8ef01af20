"""The pure parts of metering: reading events as sent, buckets, gauge integrals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tollway.metering.aggregation import buckets, hour_integral
from tollway.metering.intake import EventIn, loads, parse_event, parse_quantity, parse_timestamp


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.5", Decimal("1.5")),
        (7, Decimal(7)),
        (Decimal("0.000000000000000001"), Decimal("0.000000000000000001")),
        ("123456789012345678", Decimal("123456789012345678")),
        ("-2", Decimal(-2)),
        ("1.50000000000000000000000", Decimal("1.5")),
        (" 12.25 ", Decimal("12.25")),
        ("-0.0000000000000001", Decimal("-1E-16")),
        ("1e3", Decimal(1000)),
    ],
)
def test_quantities_accepted(raw: object, expected: Decimal) -> None:
    assert parse_quantity(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("NaN", "finite"),
        ("-Infinity", "finite"),
        ("1234567890123456789", "significant digits"),
        ("1.234567890123456789", "significant digits"),
        ("1E+18", "less than 10^18"),
        ("1E-19", "decimal places"),
        ("1e+18", "less than 10^18"),
        ("1e-19", "decimal places"),
        ("0.0000000000000000001", "decimal places"),
        ("sNaN", "finite"),
        ("1.2.3", "not a decimal"),
        (True, "boolean"),
        ("ten", "not a decimal"),
        ([1], "decimal number"),
    ],
)
def test_quantities_refused_with_the_reason(raw: object, reason: str) -> None:
    refused = parse_quantity(raw)
    assert isinstance(refused, str)
    assert reason in refused


def test_json_numbers_are_exact_and_nan_literals_refused() -> None:
    assert loads(b'{"q": 0.1}') == {"q": Decimal("0.1")}
    with pytest.raises(ValueError, match="NaN"):
        loads(b'{"q": NaN}')


def test_timestamps_need_an_offset_and_accept_unix_seconds() -> None:
    assert parse_timestamp("2026-01-15T12:00:00+02:00") == datetime(2026, 1, 15, 10, tzinfo=UTC)
    assert parse_timestamp(1768478400) == datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert "offset" in str(parse_timestamp("2026-01-15T12:00:00"))


def test_event_defaults_and_every_error_at_once() -> None:
    parsed = parse_event({"customer_id": " acme ", "metric": "calls"})
    assert parsed == EventIn("acme", "calls", Decimal(1), None, None, {})
    errors = parse_event({"metric": 3, "quantity": "x", "properties": [], "extra": 1})
    assert isinstance(errors, list)
    assert sorted(field for field, _ in errors) == [
        "customer_id",
        "extra",
        "metric",
        "properties",
        "quantity",
    ]


def test_days_across_a_daylight_saving_change_have_23_hours() -> None:
    start = datetime(2026, 3, 7, 5, tzinfo=UTC)  # 2026-03-07 00:00 in New York (EST)
    end = datetime(2026, 3, 10, 4, tzinfo=UTC)  # 2026-03-10 00:00 in New York (EDT)
    spans = buckets(start, end, "day", "America/New_York")
    assert [b.label for b in spans] == ["2026-03-07", "2026-03-08", "2026-03-09"]
    assert [(b.end - b.start) / timedelta(hours=1) for b in spans] == [24, 23, 24]


def test_months_are_clipped_to_the_period() -> None:
    spans = buckets(
        datetime(2026, 1, 20, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC), "month", "UTC"
    )
    assert [(b.label, b.start.day, b.end.day) for b in spans] == [
        ("2026-01-01", 20, 1),
        ("2026-02-01", 1, 1),
        ("2026-03-01", 1, 2),
    ]


def test_a_gauge_is_held_until_the_next_event_or_the_end_of_the_hour() -> None:
    hour = datetime(2026, 1, 15, 10, tzinfo=UTC)
    first_at, integral = hour_integral(
        hour,
        [
            (hour + timedelta(minutes=30), "b", Decimal(4)),
            (hour + timedelta(minutes=15), "a", Decimal(2)),
        ],
    )
    assert first_at == hour + timedelta(minutes=15)
    assert integral == Decimal(2 * 15 * 60 + 4 * 30 * 60)
