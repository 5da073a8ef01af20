"""Periods that start or end inside an hour are exact: a billing period from 14:37."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tollway.catalog import MetricCreate, create_metric
from tollway.customers import CustomerCreate, create_customer
from tollway.kernel.context import Context
from tollway.metering import current_usage, ingest

HOUR = datetime(2026, 1, 14, 14, tzinfo=UTC)


def _send(ctx: Context, *points: tuple[int, str]) -> str:
    customer = create_customer(ctx, CustomerCreate(external_id="acme"))
    result = ingest(
        ctx,
        [
            {
                "customer_id": "acme",
                "metric": "m",
                "quantity": quantity,
                "timestamp": (HOUR + timedelta(minutes=minute)).isoformat(),
            }
            for minute, quantity in points
        ],
    )
    assert result.accepted == len(points)
    return customer.id


def test_a_period_starting_mid_hour_counts_only_later_events(ctx: Context) -> None:
    create_metric(ctx, MetricCreate(code="m", name="m", aggregation="sum"))
    customer_id = _send(ctx, (30, "1"), (50, "10"), (70, "100"), (130, "1000"))
    start, end = HOUR + timedelta(minutes=37), HOUR + timedelta(minutes=125)
    assert current_usage(ctx, customer_id, "m", start, end) == Decimal(110)
    assert current_usage(ctx, customer_id, "m", HOUR, start) == Decimal(1)
    inside = current_usage(
        ctx, customer_id, "m", start, start + timedelta(minutes=20)
    )  # 14:37 to 14:57, within one hour
    assert inside == Decimal(10)


def test_a_gauge_is_integrated_from_the_instant_the_period_starts(ctx: Context) -> None:
    create_metric(ctx, MetricCreate(code="m", name="m", aggregation="weighted_sum"))
    customer_id = _send(ctx, (0, "6"), (30, "12"))
    # 14:15 to 15:00: 6 held 15 minutes, then 12 held 30 minutes = 1.5 + 6 value-hours.
    start = HOUR + timedelta(minutes=15)
    assert current_usage(ctx, customer_id, "m", start, HOUR + timedelta(hours=1)) == Decimal("7.5")
    # 14:45 to 16:10: 12 held for 85 minutes.
    late = current_usage(
        ctx, customer_id, "m", HOUR + timedelta(minutes=45), HOUR + timedelta(minutes=130)
    )
    assert late == Decimal(12 * 85) / 60
