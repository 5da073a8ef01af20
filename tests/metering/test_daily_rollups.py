"""Daily rollups: ingestion keeps each UTC day's count, sum and max next to the
hourly rollups, and a period's totals read its whole days from them, to the last
digit, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, text

from tollway.catalog import ChargeSpec, MetricCreate, create_metric
from tollway.customers import Customer, CustomerCreate, create_customer
from tollway.kernel.context import Context
from tollway.kernel.db import make_engine, make_session_factory, unit_of_work
from tollway.metering import ingest, rate_usage
from tollway.metering.models import UsageRollupDaily
from tollway.migrations import upgrade

DAY = datetime(2026, 1, 12, tzinfo=UTC)  # the tests' clock stands at 2026-01-15 12:00
# (hours after DAY, quantity, region): two batches share the day's hours and groups.
FIRST = [(-1, "7", "eu"), (1, "1.25", "eu"), (13.5, "2.5", "us"), (25, "0.75", "eu")]
SECOND = [(1.5, "3.125", "eu"), (23.99, "-0.5", "us"), (13.25, "10.005", "us"), (26.5, "4", "eu")]


def _send(ctx: Context, events: list[tuple[float, str, str]], batch: str) -> None:
    result = ingest(
        ctx,
        [
            {
                "customer_id": "acme",
                "metric": "storage",
                "quantity": quantity,
                "timestamp": (DAY + timedelta(hours=hours)).isoformat(),
                "event_id": f"{batch}-{i}",
                "properties": {"region": region},
            }
            for i, (hours, quantity, region) in enumerate(events)
        ],
    )
    assert (result.accepted, result.rejected) == (len(events), [])


def _setup(ctx: Context) -> Customer:
    create_metric(
        ctx,
        MetricCreate(
            code="storage", name="Storage", aggregation="sum", field=None, group_by=["region"]
        ),
    )
    customer = create_customer(ctx, CustomerCreate(external_id="acme"))
    _send(ctx, FIRST, "a")
    _send(ctx, SECOND, "b")
    return customer


def test_each_day_holds_the_sums_of_its_hours_across_batches(ctx: Context) -> None:
    _setup(ctx)
    stored = {
        (row.day, row.group_key): (row.event_count, row.value_sum, row.value_max)
        for row in ctx.session.scalars(select(UsageRollupDaily))
    }
    eu, us = '{"region":"eu"}', '{"region":"us"}'
    before, after = DAY - timedelta(days=1), DAY + timedelta(days=1)
    assert stored == {
        (before, eu): (1, Decimal("7"), Decimal("7")),
        (DAY, eu): (2, Decimal("4.375"), Decimal("3.125")),
        (DAY, us): (3, Decimal("12.005"), Decimal("10.005")),
        (after, eu): (2, Decimal("4.75"), Decimal("4")),
    }


def test_a_period_of_whole_days_and_edges_rates_every_event_once(ctx: Context) -> None:
    customer = _setup(ctx)
    charge = ChargeSpec.model_validate({"metric": "storage", "model": "standard", "unit_amount": 1})
    everything = FIRST + SECOND
    periods = [
        (DAY - timedelta(hours=2), DAY + timedelta(days=2)),  # three days, on the hour
        (DAY - timedelta(minutes=75), DAY + timedelta(hours=26, minutes=1)),  # partial edges
        (DAY, DAY + timedelta(days=1)),  # exactly one day: no hourly part
        (DAY + timedelta(hours=1), DAY + timedelta(hours=14)),  # within a day: hours only
    ]
    for start, end in periods:
        (rated,) = rate_usage(ctx, customer, [charge], start, end)
        expected = sum(
            (Decimal(q) for h, q, _ in everything if start <= DAY + timedelta(hours=h) < end),
            Decimal(0),
        )
        assert rated.priced.units == expected, (start, end)


def test_the_migration_fills_the_days_from_the_hours_already_stored(
    blank_database_url: str,
) -> None:
    upgrade(blank_database_url, "0019")
    engine = make_engine(blank_database_url)
    hours = [  # (hour after DAY, count, sum, max): two days, decimals on SQLite as text
        (0, 2, "1.5", "1"),
        (5, 1, "0.25", "0.25"),
        (23, 3, "10", "7"),
        (24, 1, "2", "2"),
    ]
    try:
        with engine.begin() as connection:
            for hour, count, total, peak in hours:
                connection.execute(
                    text(
                        "INSERT INTO usage_rollups (product_id, customer_id, metric_code, hour, "
                        "group_key, event_count, value_sum, value_max, latest_at, "
                        "latest_event_id, latest_value) VALUES ('p', 'c', 'm', :hour, '', "
                        ":count, :total, :peak, :hour, 'e', :peak)"
                    ).bindparams(
                        hour=_stored(engine.dialect.name, DAY + timedelta(hours=hour)),
                        count=count,
                        total=total if engine.dialect.name == "sqlite" else Decimal(total),
                        peak=peak if engine.dialect.name == "sqlite" else Decimal(peak),
                    )
                )
        upgrade(blank_database_url)
        with unit_of_work(make_session_factory(engine)) as session:
            days = {
                row.day: (row.event_count, row.value_sum, row.value_max)
                for row in session.scalars(select(UsageRollupDaily))
            }
    finally:
        engine.dispose()
    assert days == {
        DAY: (6, Decimal("11.75"), Decimal("7")),
        DAY + timedelta(days=1): (1, Decimal("2"), Decimal("2")),
    }


def _stored(dialect: str, instant: datetime) -> object:
    """An instant as a raw statement writes it (SQLite: SQLAlchemy's text form)."""
    if dialect == "sqlite":
        return instant.replace(tzinfo=None).isoformat(" ", "microseconds")
    return instant
