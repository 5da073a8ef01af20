"""Usage queries, read from the hourly rollups (never from raw events)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tollway.catalog import BillableMetric, get_metric
from tollway.customers import Customer, get_customer_by_id
from tollway.kernel.context import Context
from tollway.kernel.errors import FieldError, ValidationFailed
from tollway.kernel.pagination import Page, PageRequest
from tollway.metering.aggregation import (
    Bucket,
    Cell,
    Granularity,
    MetricDef,
    Series,
    buckets,
    ceil_hour,
    floor_hour,
    matches,
    parse_group_key,
    partial_cells,
    reduce,
)
from tollway.metering.models import UsageRejection
from tollway.metering.repository import UsageRepository
from tollway.metering.service.ingest import metric_def

MAX_DATA_POINTS = 5000
RawRow = tuple[datetime, str, Decimal, dict[str, Any]]
"""A raw event: ``(timestamp, event_id, quantity, properties)``."""
Points = list[tuple[str, Decimal]]


@dataclass(frozen=True)
class GroupUsage:
    """Usage of one combination of ``group_by`` values."""

    group: dict[str, str | None]
    total: Decimal
    points: list[tuple[str, Decimal]]


@dataclass(frozen=True)
class Usage:
    """A metric's usage over ``[start, end)``: total and, with a granularity, points."""

    metric: BillableMetric
    start: datetime
    end: datetime
    granularity: Granularity | None
    total: Decimal
    points: list[tuple[str, Decimal]]
    groups: list[GroupUsage] | None


def _check_dimensions(
    metric: MetricDef, filters: dict[str, list[str]], group_by: Sequence[str]
) -> None:
    allowed = set(metric.dimensions)
    errors = [
        FieldError(
            f"{kind}.{name}" if kind == "filters" else kind,
            f"{name!r} is not a dimension of metric {metric.code!r}; "
            f"filter and group by its group_by or filters properties: {sorted(allowed)}",
        )
        for kind, names in (("filters", list(filters)), ("group_by", list(group_by)))
        for name in names
        if name not in allowed
    ]
    if errors:
        raise ValidationFailed(errors)


def usage(
    ctx: Context,
    customer: Customer,
    metric: str,
    *,
    start: datetime,
    end: datetime,
    granularity: Granularity | None = None,
    filters: dict[str, list[str]] | None = None,
    group_by: Sequence[str] = (),
) -> Usage:
    """A customer's usage of ``metric`` over ``[start, end)``, from the hourly rollups.

    Exact at the period's edges; buckets follow the customer's time zone (inner
    boundaries at UTC-hour resolution).
    ``filters`` and ``group_by`` name dimensions of the metric (its ``group_by`` and
    ``filters`` properties). 422 when the period is empty or has too many points.
    """
    billable = get_metric(ctx, metric)
    definition = metric_def(billable)
    filters = filters or {}
    _check_dimensions(definition, filters, group_by)
    if end <= start:
        raise ValidationFailed.field("end", "must be after start")
    spans: list[Bucket] = []
    if granularity is not None:
        spans = buckets(start, end, granularity, customer.timezone)
        if len(spans) > MAX_DATA_POINTS:
            raise ValidationFailed.field(
                "granularity", f"gives {len(spans)} data points; at most {MAX_DATA_POINTS}"
            )
    series, distinct = _read(ctx, customer, definition, (start, end), filters)
    bucket_spans = [(b.start, b.end) for b in spans]

    def compute(selected: list[Series], keys: set[str]) -> tuple[Decimal, Points]:
        rows = [row for row in distinct if row[1] in keys]
        total = reduce(definition.aggregation, selected, rows, [(start, end)])[0]
        values = reduce(definition.aggregation, selected, rows, bucket_spans) if spans else []
        return total, [(b.label, v) for b, v in zip(spans, values, strict=True)]

    total, points = compute(list(series.values()), set(series))
    groups: list[GroupUsage] | None = None
    if group_by:
        partition: dict[tuple[str | None, ...], dict[str, Series]] = {}
        for key, one in series.items():
            partition.setdefault(tuple(one.values.get(n) for n in group_by), {})[key] = one
        groups = []
        for combination in sorted(partition, key=lambda c: tuple((v is None, v or "") for v in c)):
            members = partition[combination]
            group_total, group_points = compute(list(members.values()), set(members))
            groups.append(
                GroupUsage(dict(zip(group_by, combination, strict=True)), group_total, group_points)
            )
    return Usage(billable, start, end, granularity, total, points, groups)


ADDITIVE = frozenset({"count", "sum", "max"})
"""Aggregations whose whole hours combine in the database, every group together."""


def usage_totals(
    ctx: Context,
    customers: Sequence[Customer],
    metrics: Sequence[MetricDef],
    start: datetime,
    end: datetime,
) -> dict[str, dict[str, Decimal]]:
    """The totals of already resolved ``metrics`` over ``[start, end)`` for each of
    ``customers``, by customer id and code: what :func:`usage` gives without buckets,
    groups or filters (an empty period has none).

    The whole hours of ``count``, ``sum`` and ``max`` metrics are read in one query for
    all of them and all the customers, and the partial hours at the period's edges in
    another per customer; the other aggregations read their metric's cells.
    """
    if end <= start:
        return {c.id: {metric.code: Decimal(0) for metric in metrics} for c in customers}
    whole_start, whole_end = ceil_hour(start), floor_hour(end)
    additive = [m.code for m in metrics if m.aggregation in ADDITIVE]
    repo = UsageRepository(ctx)
    summaries: dict[tuple[str, str], tuple[int, Decimal, Decimal]] = {}
    if additive and whole_start < whole_end:
        summaries = repo.hour_totals([c.id for c in customers], additive, whole_start, whole_end)
    found: dict[str, dict[str, Decimal]] = {}
    on_the_hour = not _edges(start, end)
    for customer in customers:
        edge_events = _edge_events(repo, customer, [m.code for m in metrics], start, end)
        totals = found[customer.id] = {}
        for metric in metrics:
            whole: list[tuple[str, datetime, Cell]] | None = None
            if metric.code in additive:
                summary = summaries.get((customer.id, metric.code))
                whole = (
                    []
                    if summary is None
                    else [("", whole_start, Cell.summary(whole_start, *summary))]
                )
                if on_the_hour:  # the summary is all there is: no edge, no group to split
                    groups = [Series({}, [(hour, cell)]) for _, hour, cell in whole]
                    totals[metric.code] = reduce(metric.aggregation, groups, [], [(start, end)])[0]
                    continue
            series, distinct = _read(
                ctx,
                customer,
                metric,
                (start, end),
                {},
                whole=whole,
                edge_events=edge_events[metric.code],
            )
            totals[metric.code] = reduce(
                metric.aggregation, list(series.values()), distinct, [(start, end)]
            )[0]
    return found


def _edge_events(
    repo: UsageRepository, customer: Customer, codes: list[str], start: datetime, end: datetime
) -> dict[str, dict[datetime, list[RawRow]]]:
    """The raw events each edge of ``[start, end)`` needs (from its hour's start), by
    metric and by the edge's start, read in one query."""
    edges = _edges(start, end)
    found: dict[str, dict[datetime, list[RawRow]]] = {code: {} for code in codes}
    if not edges:
        return found
    spans = [(floor_hour(lower), upper) for lower, upper in edges]
    for code, at, event_id, quantity, properties in repo.events_in(customer.id, codes, spans):
        lower = next(lower for lower, upper in edges if at < upper)  # edges are ordered
        found[code].setdefault(lower, []).append((at, event_id, quantity, properties))
    return found


def _edges(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The parts of ``[start, end)`` that are not whole UTC hours."""
    whole_start, whole_end = ceil_hour(start), floor_hour(end)
    if whole_start > whole_end:  # the period lies inside one hour
        return [(start, end)]
    edges = []
    if start < whole_start:
        edges.append((start, whole_start))
    if whole_end < end:
        edges.append((whole_end, end))
    return edges


def _read(
    ctx: Context,
    customer: Customer,
    metric: MetricDef,
    period: tuple[datetime, datetime],
    filters: dict[str, list[str]],
    *,
    whole: list[tuple[str, datetime, Cell]] | None = None,
    edge_events: dict[datetime, list[RawRow]] | None = None,
) -> tuple[dict[str, Series], list[tuple[datetime, str, str]]]:
    """The group series of ``[start, end)``: whole hours from the rollups (or the
    ``whole`` cells already read), and the partial hours at either edge (when the
    period does not start or end on the hour) from that hour's raw events (or the
    ``edge_events`` already read, by the edge's start)."""
    repo = UsageRepository(ctx)
    start, end = period
    whole_start, whole_end = ceil_hour(start), floor_hour(end)
    rows: list[tuple[str, datetime, Cell]] = [] if whole is None else whole
    distinct: list[tuple[datetime, str, str]] = []
    if whole is None and whole_start < whole_end:
        rows = repo.cells(customer.id, metric.code, whole_start, whole_end)
        if metric.aggregation == "unique_count":
            distinct = repo.distinct_values(customer.id, metric.code, whole_start, whole_end)
    carry: dict[str, Decimal] = {}
    if metric.aggregation == "weighted_sum":
        carry = repo.gauges_before(customer.id, metric.code, floor_hour(start))
    for lower, upper in _edges(start, end):
        events = (
            repo.events_between(customer.id, metric.code, floor_hour(lower), upper)
            if edge_events is None
            else edge_events.get(lower, [])
        )
        cells, before, values = partial_cells(metric, events, lower, upper)
        rows.extend((key, lower, cell) for key, cell in cells.items())
        distinct.extend(values)
        if lower == start and metric.aggregation == "weighted_sum":
            carry.update(before)
    rows.sort(key=lambda row: row[1])
    series: dict[str, Series] = {}
    for key, hour, cell in rows:
        values_of = parse_group_key(key)
        if matches(values_of, filters):
            series.setdefault(key, Series(values_of)).cells.append((hour, cell))
    for key, value in carry.items():
        values_of = parse_group_key(key)
        if matches(values_of, filters):
            series.setdefault(key, Series(values_of)).carry = value
    return series, [row for row in distinct if row[1] in series]


def current_usage(
    ctx: Context, customer_id: str, metric: str, start: datetime, end: datetime
) -> Decimal:
    """The aggregated usage of ``metric`` by customer ``customer_id`` (internal id) over
    the caller's period ``[start, end)``, exact to the instant (rollups for whole hours,
    raw events only for the partial hours at the edges)."""
    customer = get_customer_by_id(ctx, customer_id)
    return usage(ctx, customer, metric, start=start, end=end).total


@dataclass(frozen=True)
class MetricStatistics:
    metric: str
    event_count: int
    total_quantity: Decimal


def usage_statistics(
    ctx: Context, *, start: datetime, end: datetime, customer: Customer | None = None
) -> list[MetricStatistics]:
    """Events counted and the sum of their values per metric over ``[start, end)``.

    For one customer, or the whole product. Only events that passed their metric's
    filters are counted (rollups hold nothing else).
    """
    start, end = floor_hour(start), floor_hour(end)
    if end <= start:
        raise ValidationFailed.field("end", "must be at least one hour after start")
    counts: dict[str, int] = {}
    sums: dict[str, Decimal] = {}
    for code, count, total in UsageRepository(ctx).totals(
        customer.id if customer else None, start, end
    ):
        counts[code] = counts.get(code, 0) + count
        sums[code] = sums.get(code, Decimal(0)) + total
    return [MetricStatistics(code, counts[code], sums[code]) for code in sorted(counts)]


def list_rejections(ctx: Context, page: PageRequest) -> Page[UsageRejection]:
    """Recently refused events of the product, newest first."""
    return UsageRepository(ctx).rejections(page)
