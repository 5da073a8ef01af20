"""A rollup cell written by several batches: counts and sums add exactly, the maximum
stays the largest, and the latest value is the one with the latest timestamp (then
event id), whatever order the batches arrive in; on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from tollway.catalog import MetricCreate, create_metric
from tollway.customers import CustomerCreate, create_customer
from tollway.kernel.context import Context
from tollway.metering import ingest, usage
from tollway.metering.models import UsageRollup

HOUR = datetime(2026, 1, 14, 10, tzinfo=UTC)  # the tests' clock stands at 2026-01-15 12:00


def _send(ctx: Context, event_id: str, minutes: int, quantity: str) -> None:
    result = ingest(
        ctx,
        [
            {
                "customer_id": "acme",
                "metric": "disk",
                "quantity": quantity,
                "timestamp": (HOUR + timedelta(minutes=minutes)).isoformat(),
                "event_id": event_id,
            }
        ],
    )
    assert result.accepted == 1


def test_batches_into_one_cell_merge_in_timestamp_order(ctx: Context) -> None:
    create_metric(ctx, MetricCreate(code="disk", name="Disk", aggregation="latest"))
    customer = create_customer(ctx, CustomerCreate(external_id="acme"))
    _send(ctx, "b", 30, "5.5")
    _send(ctx, "a", 10, "9.25")  # earlier: not the latest
    _send(ctx, "c", 30, "0.125")  # same instant as "b", larger id: the latest
    _send(ctx, "d", 20, "-1")
    (cell,) = ctx.session.scalars(select(UsageRollup))
    assert (cell.event_count, cell.value_sum, cell.value_max) == (
        4,
        Decimal("13.875"),
        Decimal("9.25"),
    )
    assert (cell.latest_at, cell.latest_event_id, cell.latest_value) == (
        HOUR + timedelta(minutes=30),
        "c",
        Decimal("0.125"),
    )
    found = usage(ctx, customer, "disk", start=HOUR, end=HOUR + timedelta(hours=1))
    assert found.total == Decimal("0.125")
