"""Rating real usage events with a plan's charges, to the cent, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tollway.catalog import ChargeSpec, MetricCreate, create_metric
from tollway.customers import Customer, CustomerCreate, create_customer
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound
from tollway.metering import RatedCharge, ingest, rate_usage, usage

DAY = datetime(2026, 1, 14, tzinfo=UTC)
TIERS = [
    {"up_to": 100, "unit_amount": "10"},
    {"up_to": 1000, "unit_amount": "5"},
    {"unit_amount": "1"},
]


def _charge(metric: str, model: str, **fields: Any) -> ChargeSpec:
    return ChargeSpec.model_validate({"metric": metric, "model": model, **fields})


def _metric(ctx: Context, code: str, aggregation: str, **fields: Any) -> None:
    create_metric(
        ctx,
        MetricCreate.model_validate(
            {"code": code, "name": code, "aggregation": aggregation, **fields}
        ),
    )


def _send(ctx: Context, events: list[dict[str, Any]]) -> None:
    result = ingest(ctx, [{"customer_id": "acme", **event} for event in events])
    assert result.accepted == len(events)


def _at(hours: float) -> str:
    return (DAY + timedelta(hours=hours)).isoformat()


@pytest.fixture
def customer(ctx: Context) -> Customer:
    return create_customer(ctx, CustomerCreate(external_id="acme"))


def _amounts(rated: list[RatedCharge]) -> list[int]:
    return [r.priced.amount for r in rated]


def test_resource_rates_on_weighted_gauges_make_140(ctx: Context, customer: Customer) -> None:
    _metric(ctx, "cpu", "weighted_sum", field="cores", unit="core-hour")
    _metric(ctx, "memory", "weighted_sum", field="gb", unit="GB-hour")
    # 2 cores and 4 GB from 00:00 to 10:00, then stopped.
    _send(
        ctx,
        [
            {"metric": "cpu", "timestamp": _at(0), "properties": {"cores": 2}},
            {"metric": "memory", "timestamp": _at(0), "properties": {"gb": 4}},
            {"metric": "cpu", "timestamp": _at(10), "properties": {"cores": 0}},
            {"metric": "memory", "timestamp": _at(10), "properties": {"gb": 0}},
        ],
    )
    charges = [
        _charge("cpu", "standard", unit_amount="5"),
        _charge("memory", "standard", unit_amount="1"),
    ]
    rated = rate_usage(ctx, customer, charges, DAY, DAY + timedelta(days=1))
    assert [r.charge for r in rated] == charges
    assert [(r.priced.units, r.priced.amount) for r in rated] == [(20, 100), (40, 40)]
    assert sum(_amounts(rated)) == 140
    # A period starting at 00:30 holds 9.5 hours of each.
    late = rate_usage(ctx, customer, charges, DAY + timedelta(minutes=30), DAY + timedelta(days=1))
    assert [(r.priced.units, r.priced.amount) for r in late] == [(19, 95), (38, 38)]


def test_included_core_hours_then_overage(ctx: Context, customer: Customer) -> None:
    _metric(ctx, "cpu", "weighted_sum", field="cores")
    _send(
        ctx,
        [
            {"metric": "cpu", "timestamp": _at(0), "properties": {"cores": 12}},
            {"metric": "cpu", "timestamp": _at(10), "properties": {"cores": 0}},
        ],
    )
    charge = _charge("cpu", "standard", unit_amount="5", included_units=100)
    (rated,) = rate_usage(ctx, customer, [charge], DAY, DAY + timedelta(days=1))
    assert (rated.priced.units, rated.priced.billable_units, rated.priced.amount) == (
        120,
        20,
        100,
    )


def test_graduated_and_volume_on_1500_events(ctx: Context, customer: Customer) -> None:
    _metric(ctx, "calls", "count")
    _send(ctx, [{"metric": "calls", "timestamp": _at(i / 100)} for i in range(1500)])
    charges = [_charge("calls", "graduated", tiers=TIERS), _charge("calls", "volume", tiers=TIERS)]
    graduated, volume = rate_usage(ctx, customer, charges, DAY, DAY + timedelta(days=1))
    assert graduated.priced.units == 1500
    assert [(ln.quantity, ln.amount) for ln in graduated.priced.lines] == [
        (100, 1000),
        (900, 4500),
        (500, 500),
    ]
    assert (graduated.priced.amount, volume.priced.amount) == (6000, 1500)
    # Only the period's events count: the first five hours hold 500 of them.
    (early,) = rate_usage(ctx, customer, charges[:1], DAY, DAY + timedelta(hours=5))
    assert (early.priced.units, early.priced.amount) == (500, 3000)


def test_percentage_on_each_events_amount(ctx: Context, customer: Customer) -> None:
    _metric(ctx, "payments", "sum", field="amount", filters={"status": ["succeeded"]})
    _send(
        ctx,
        [
            {"metric": "payments", "timestamp": _at(-1), "properties": _paid(5000)},
            {"metric": "payments", "timestamp": _at(1), "properties": _paid(100)},
            {"metric": "payments", "timestamp": _at(2.5), "properties": _paid(10_000)},
            {
                "metric": "payments",
                "timestamp": _at(3),
                "properties": {"amount": 7000, "status": "failed"},
            },
            {"metric": "payments", "timestamp": _at(4), "properties": _paid(100_000)},
            {"metric": "payments", "timestamp": _at(25), "properties": _paid(5000)},
        ],
    )
    charge = _charge(
        "payments", "percentage", rate="2.9", fixed_amount="30", min_amount="50", max_amount="500"
    )
    (rated,) = rate_usage(ctx, customer, [charge], DAY, DAY + timedelta(days=1))
    # 32.9 -> min 50; 290 + 30 = 320; 2,930 -> max 500. The failed payment is filtered out,
    # the payments before and after the period are not in it.
    assert (rated.priced.units, rated.priced.billable_units, rated.priced.amount) == (
        110_100,
        3,
        870,
    )
    first_free = charge.model_copy(update={"included_units": 1})
    (rated,) = rate_usage(ctx, customer, [first_free], DAY, DAY + timedelta(days=1))
    assert rated.priced.amount == 820


def _paid(amount: int) -> dict[str, Any]:
    return {"amount": amount, "status": "succeeded"}


def test_no_usage_and_no_charges(ctx: Context, customer: Customer) -> None:
    _metric(ctx, "calls", "count")
    assert rate_usage(ctx, customer, [], DAY, DAY + timedelta(days=1)) == []
    flat = _charge("calls", "flat", amount=9900)
    (rated,) = rate_usage(ctx, customer, [flat], DAY, DAY + timedelta(days=1))
    assert (rated.priced.units, rated.priced.amount, rated.priced.lines) == (0, 0, ())
    (empty,) = rate_usage(ctx, customer, [flat], DAY, DAY)
    assert empty.priced.units == 0


def test_an_unknown_metric_is_not_found(ctx: Context, customer: Customer) -> None:
    charges = [_charge("nope", "standard", unit_amount="1")]
    with pytest.raises(NotFound, match="nope"):
        rate_usage(ctx, customer, charges, DAY, DAY + timedelta(days=1))
    _metric(ctx, "nope", "count")  # created later in the same session: found then
    _send(ctx, [{"metric": "nope", "timestamp": _at(1)}])
    (rated,) = rate_usage(ctx, customer, charges, DAY, DAY + timedelta(days=1))
    assert rated.priced.amount == 1


def test_units_are_decimals(ctx: Context, customer: Customer) -> None:
    _metric(ctx, "storage", "sum", field="quantity")
    _send(ctx, [{"metric": "storage", "timestamp": _at(1), "quantity": "2.5"}])
    (rated,) = rate_usage(
        ctx, customer, [_charge("storage", "standard", unit_amount="1")], DAY, DAY + timedelta(1)
    )
    assert rated.priced.units == Decimal("2.5")
    assert rated.priced.amount == 2  # 2.5 rounds half-even


@pytest.mark.parametrize(
    "aggregation", ["count", "sum", "max", "latest", "unique_count", "weighted_sum"]
)
def test_rated_units_are_the_usage_totals(
    ctx: Context, customer: Customer, aggregation: str
) -> None:
    field = None if aggregation == "count" else "v"
    _metric(ctx, "m", aggregation, field=field, group_by=["region"])
    _metric(ctx, "n", "sum", field="quantity")  # rated together with m: shared reads
    _send(
        ctx,
        [
            {
                "metric": metric,
                "timestamp": _at(minute / 60),
                "quantity": minute,
                "properties": {"v": minute % 7, "region": ("eu", "us")[minute % 2]},
            }
            for minute in range(5, 600, 13)
            for metric in ("m", "n")
        ],
    )
    charges = [_charge(code, "standard", unit_amount="1") for code in ("m", "n")]
    periods = [
        (DAY, DAY + timedelta(hours=6)),
        (DAY + timedelta(minutes=20), DAY + timedelta(hours=9, minutes=41)),
        (DAY + timedelta(hours=2, minutes=10), DAY + timedelta(hours=2, minutes=50)),
        (DAY + timedelta(hours=3), DAY + timedelta(hours=3, minutes=1)),
    ]
    for start, end in periods:
        rated = rate_usage(ctx, customer, charges, start, end)
        expected = [usage(ctx, customer, c, start=start, end=end).total for c in ("m", "n")]
        assert [r.priced.units for r in rated] == expected, (start, end)
