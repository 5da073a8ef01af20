"""Every aggregation, filter, group-by and granularity against a naive reference.

Hypothesis draws events (with duplicate ids, several batches, groups and filters),
stores them through :func:`tollway.metering.ingest` on each backend, then compares
:func:`tollway.metering.usage` (which reads rollups), and the totals
:func:`tollway.metering.rate_usage` rates, with a computation over the raw list of
events that knows nothing about rollups.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tollway.catalog import ChargeSpec, MetricCreate, create_metric
from tollway.customers import CustomerCreate, create_customer
from tollway.kernel.context import Context
from tollway.metering import ingest, rate_usage, usage

BASE = datetime(2026, 1, 10, tzinfo=UTC)
ZONES = ("UTC", "America/New_York", "Europe/Paris", "Asia/Tokyo")
AGGREGATIONS = ("count", "sum", "max", "unique_count", "latest", "weighted_sum")
REGIONS = ("eu", "us", "ap", None)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Ev:
    event_id: str
    at: datetime
    quantity: Decimal
    region: str | None
    tier: str
    user: str


events_strategy = st.lists(
    st.builds(
        Ev,
        event_id=st.sampled_from([f"e{i}" for i in range(40)]),
        at=st.integers(0, 80 * 3600).map(lambda s: BASE + timedelta(seconds=s)),
        quantity=st.decimals(-50, 500, places=2, allow_nan=False, allow_infinity=False),
        region=st.sampled_from(REGIONS),
        tier=st.sampled_from(("a", "b")),
        user=st.sampled_from(("u1", "u2", "u3", "u4")),
    ),
    max_size=40,
)


def _props(ev: Ev) -> dict[str, Any]:
    props: dict[str, Any] = {"tier": ev.tier, "user": ev.user}
    if ev.region is not None:
        props["region"] = ev.region
    return props


def _value(  # noqa: PLR0911 - one branch per aggregation
    aggregation: str, evs: list[Ev], lower: datetime, upper: datetime
) -> Decimal:
    """The naive aggregation of ``evs`` over ``[lower, upper)``."""
    inside = [e for e in evs if lower <= e.at < upper]
    if aggregation == "weighted_sum":
        total = Decimal(0)
        with localcontext() as context:
            context.prec = 80
            gauges: dict[tuple[str | None, str], list[Ev]] = defaultdict(list)
            for e in evs:
                gauges[(e.region, e.tier)].append(e)
            for points in gauges.values():
                points.sort(key=lambda e: (e.at, e.event_id))
                for e, nxt in zip(points, [*points[1:], None], strict=True):
                    held_from = max(e.at, lower)
                    held_to = min(nxt.at if nxt else upper, upper)
                    if held_to > held_from:
                        micros = (held_to - held_from) // timedelta(microseconds=1)
                        total += e.quantity * Decimal(micros).scaleb(-6)
            return total / 3600
    if not inside:
        return Decimal(0)
    if aggregation == "count":
        return Decimal(len(inside))
    if aggregation == "sum":
        return sum((e.quantity for e in inside), Decimal(0))
    if aggregation == "max":
        return max(e.quantity for e in inside)
    if aggregation == "latest":
        return max(inside, key=lambda e: (e.at, e.event_id)).quantity
    return Decimal(len({e.user for e in inside}))


def _labels(
    start: datetime, end: datetime, granularity: str, zone: str
) -> list[tuple[str, datetime, datetime]]:
    """Buckets by walking every hour (clipped to the period) and naming it in local time."""
    tz = ZoneInfo(zone)
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    at = start.replace(minute=0, second=0, microsecond=0)
    while at < end:
        local = at.astimezone(tz)
        day = local.date()
        if granularity == "hour":
            label = local.isoformat()
        elif granularity == "day":
            label = day.isoformat()
        elif granularity == "week":
            label = (day - timedelta(days=day.weekday())).isoformat()
        else:
            label = day.replace(day=1).isoformat()
        spans.setdefault(label, []).append((max(at, start), min(at + HOUR, end)))
        at += HOUR
    return [(label, pieces[0][0], pieces[-1][1]) for label, pieces in spans.items()]


_counter = itertools.count()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=events_strategy,
    aggregation=st.sampled_from(AGGREGATIONS),
    metric_filter=st.sampled_from([None, ["eu", "us"]]),
    query_region=st.sampled_from([None, "eu", "us"]),
    group_by_tier=st.booleans(),
    cuts=st.lists(st.integers(0, 40), max_size=2),
    start_hour=st.integers(-30, 70),
    hours=st.integers(0, 120),
    start_second=st.sampled_from([0, 0, 1, 1800, 3599]) | st.integers(0, 3599),
    end_second=st.sampled_from([0, 0, 1, 1800, 3599]) | st.integers(0, 3599),
    granularity=st.sampled_from(("hour", "day", "week", "month")),
    zone=st.sampled_from(ZONES),
)
def test_usage_matches_the_naive_reference(
    ctx: Context,
    *,
    events: list[Ev],
    aggregation: str,
    metric_filter: list[str] | None,
    query_region: str | None,
    group_by_tier: bool,
    cuts: list[int],
    start_hour: int,
    hours: int,
    start_second: int,
    end_second: int,
    granularity: str,
    zone: str,
) -> None:
    n = next(_counter)
    code = f"m{n}"
    create_metric(
        ctx,
        MetricCreate(
            code=code,
            name=code,
            aggregation=aggregation,  # type: ignore[arg-type]
            field="user" if aggregation == "unique_count" else None,
            filters={"region": metric_filter} if metric_filter else {},
            group_by=["region", "tier"],
        ),
    )
    customer = create_customer(ctx, CustomerCreate(external_id=f"c{n}", timezone=zone))
    payloads = [
        {
            "customer_id": customer.external_id,
            "metric": code,
            "quantity": str(e.quantity),
            "timestamp": e.at.isoformat(),
            "event_id": f"{n}-{e.event_id}",
            "properties": _props(e),
        }
        for e in events
    ]
    accepted = 0
    bounds = [0, *sorted(min(c, len(payloads)) for c in cuts), len(payloads)]
    for lower, upper in itertools.pairwise(bounds):
        result = ingest(ctx, payloads[lower:upper])
        assert result.rejected == []
        accepted += result.accepted
    first: dict[str, Ev] = {}
    for e in events:
        first.setdefault(e.event_id, e)
    assert accepted == len(first)
    kept = [e for e in first.values() if not metric_filter or e.region in metric_filter]
    selected = [e for e in kept if query_region is None or e.region == query_region]

    # Periods start and end anywhere: on the hour (rollups only) or inside one.
    start = BASE + timedelta(hours=start_hour, seconds=start_second)
    end = BASE + timedelta(hours=start_hour + hours, seconds=end_second)
    assume(end > start)
    result = usage(
        ctx,
        customer,
        code,
        start=start,
        end=end,
        granularity=granularity,  # type: ignore[arg-type]
        filters={"region": [query_region]} if query_region else None,
        group_by=["tier"] if group_by_tier else [],
    )
    expected_points = [
        (label, _value(aggregation, selected, lower, upper))
        for label, lower, upper in _labels(start, end, granularity, zone)
    ]
    assert result.total == _value(aggregation, selected, start, end)
    assert result.points == expected_points
    # Rating reads the same totals through its batched path (no query filter).
    charge = ChargeSpec.model_validate({"metric": code, "model": "standard", "unit_amount": 1})
    (rated,) = rate_usage(ctx, customer, [charge], start, end)
    assert rated.priced.units == _value(aggregation, kept, start, end)
    if group_by_tier:
        assert result.groups is not None
        tiers = sorted({e.tier for e in selected if start <= e.at < end})
        if aggregation == "weighted_sum":  # a gauge set before the period still counts
            tiers = sorted({e.tier for e in selected if e.at < end})
        assert [g.group for g in result.groups] == [{"tier": t} for t in tiers]
        for group in result.groups:
            members = [e for e in selected if e.tier == group.group["tier"]]
            assert group.total == _value(aggregation, members, start, end)
