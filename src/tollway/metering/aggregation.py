"""How usage events become numbers: dimensions, hourly cells, buckets. Pure, no I/O.

Every event of a metric lands in one *cell*: (customer, metric, UTC hour, group
key). A cell keeps its event count, the sum and maximum of the values, the latest
value (latest by ``(timestamp, event_id)``) and, for ``weighted_sum``, the instant of
its first event and the integral of the gauge from that instant to the end of the
hour. Queries combine cells; a period's partial hours at its edges become partial
cells computed from those hours' raw events (:func:`partial_cells`).

``weighted_sum`` treats the metric as a gauge, one per group key: an event sets the
gauge to its value at its timestamp and the value is held until the next event of
the same group (0 before the first). The result is the time integral in
value-hours (GB-hours, core-hours); it is accumulated in value-seconds and divided
by 3600 once, at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal, InvalidOperation, localcontext
from functools import cached_property
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tollway.metering.intake import parse_quantity

HOUR = timedelta(hours=1)
ZERO = Decimal(0)
SECONDS_PER_HOUR = Decimal(3600)
PRECISION = 80
"""Decimal digits kept while summing: exact for any realistic volume of 18-digit values."""
MAX_DISTINCT_LENGTH = 255

Granularity = Literal["hour", "day", "week", "month"]
GRANULARITIES: tuple[Granularity, ...] = ("hour", "day", "week", "month")


@dataclass(frozen=True)
class MetricDef:
    """The parts of a billable metric that aggregation needs."""

    code: str
    aggregation: str
    field: str | None
    filters: dict[str, list[str]]
    group_by: list[str]

    @cached_property
    def dimensions(self) -> tuple[str, ...]:
        """Properties kept in the group key: ``group_by`` plus the filtered ones."""
        return tuple(sorted(set(self.group_by) | set(self.filters)))


def floor_hour(instant: datetime) -> datetime:
    """The start of the UTC hour holding ``instant``."""
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(instant: datetime) -> datetime:
    """The first UTC hour boundary at or after ``instant``."""
    floor = floor_hour(instant)
    return floor if floor == instant else floor + HOUR


def floor_day(instant: datetime) -> datetime:
    """The start of the UTC day holding ``instant``."""
    return floor_hour(instant).replace(hour=0)


def ceil_day(instant: datetime) -> datetime:
    """The first UTC midnight at or after ``instant``."""
    floor = floor_day(instant)
    return floor if floor == instant else floor + timedelta(days=1)


def dimension_value(value: object) -> str | None:
    """A property value as compared and grouped: strings as they are, else JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def group_key(properties: dict[str, Any], dimensions: Sequence[str]) -> str:
    """The canonical JSON of the dimension values, ``""`` for a metric without any."""
    if not dimensions:
        return ""
    values = {name: dimension_value(properties.get(name)) for name in dimensions}
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def parse_group_key(key: str) -> dict[str, str | None]:
    """The dimension values of a group key."""
    if not key:
        return {}
    parsed: dict[str, str | None] = json.loads(key)
    return parsed


def matches(values: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    """Whether every filtered property holds one of its listed values."""
    return all(dimension_value(values.get(name)) in allowed for name, allowed in filters.items())


def event_value(metric: MetricDef, quantity: Decimal, properties: dict[str, Any]) -> Decimal | str:
    """The number an event contributes: its ``field`` property, else its quantity."""
    if metric.field is None or metric.field == "quantity" or metric.aggregation == "unique_count":
        return quantity
    raw = properties.get(metric.field)
    if raw is None:
        return f"property {metric.field!r} is required by metric {metric.code!r}"
    parsed = parse_quantity(raw)
    if isinstance(parsed, str):
        return f"property {metric.field!r} {parsed}"
    return parsed


def distinct_value(metric: MetricDef, quantity: Decimal, properties: dict[str, Any]) -> str:
    """What ``unique_count`` counts distinct values of ("" when the property is missing)."""
    name = metric.field or "quantity"
    if name == "quantity":
        return str(quantity.normalize()) if quantity else "0"
    return (dimension_value(properties.get(name)) or "")[:MAX_DISTINCT_LENGTH]


@dataclass(slots=True)
class Cell:
    """The rollup of one (customer, metric, hour, group key)."""

    count: int
    total: Decimal
    maximum: Decimal
    latest_at: datetime
    latest_event_id: str
    latest_value: Decimal
    first_at: datetime | None = None
    integral: Decimal | None = None
    end: datetime | None = None
    """Where a partial cell (a period edge read from raw events) stops; None for a
    whole hour. ``integral`` of a partial cell runs to ``end``."""

    @classmethod
    def of(cls, at: datetime, event_id: str, value: Decimal) -> Cell:
        return cls(1, value, value, at, event_id, value)

    @classmethod
    def summary(cls, at: datetime, count: int, total: Decimal, maximum: Decimal) -> Cell:
        """Several hours of an additive metric (``count``, ``sum``, ``max``) as one cell
        at ``at``: only ``count``, ``total`` and ``maximum`` mean anything."""
        return cls(count, total, maximum, at, "", ZERO)


def exact() -> AbstractContextManager[Context]:
    """A decimal context with :data:`PRECISION` digits (sums stay exact)."""
    return localcontext(prec=PRECISION)


def seconds(delta: timedelta) -> Decimal:
    """A duration in exact decimal seconds (microsecond resolution)."""
    return Decimal(delta // timedelta(microseconds=1)).scaleb(-6)


def hour_integral(
    hour: datetime, points: Iterable[tuple[datetime, str, Decimal]]
) -> tuple[datetime, Decimal]:
    """``(first_at, integral)`` of a gauge within one hour, from its events in that hour.

    ``points`` are ``(timestamp, event_id, value)``; each value is held until the
    next point (by timestamp, then event id) or the end of the hour.
    """
    ordered = sorted(points, key=lambda p: (p[0], p[1]))
    end = hour + HOUR
    total = ZERO
    with localcontext() as context:
        context.prec = PRECISION
        for (at, _, value), nxt in zip(ordered, [*ordered[1:], None], strict=True):
            until = end if nxt is None else nxt[0]
            total += value * seconds(until - at)
    return ordered[0][0], total


@dataclass(frozen=True)
class Bucket:
    """One data point's span ``[start, end)`` and its label (local date or hour)."""

    start: datetime
    end: datetime
    label: str


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _bucket_floor(local: datetime, granularity: Granularity) -> date:
    day = local.date()
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def _next_start(day: date, granularity: Granularity) -> date:
    if granularity == "day":
        return day + timedelta(days=1)
    if granularity == "week":
        return day + timedelta(days=7)
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def buckets(start: datetime, end: datetime, granularity: Granularity, zone: str) -> list[Bucket]:
    """The buckets covering ``[start, end)``: calendar units of the time zone ``zone``.

    Days, ISO weeks (from Monday) and months begin at local midnight; hours are UTC
    hours labelled in local time. Boundaries inside the period are floored to the
    UTC hour, the resolution of the rollups (exact for every zone with a whole-hour
    offset); the first and last buckets are clipped to the period, to the instant.
    """
    tz = ZoneInfo(zone)
    first, last = floor_hour(start), ceil_hour(end)
    result: list[Bucket] = []
    if granularity == "hour":
        at = first
        while at < last:
            result.append(Bucket(at, at + HOUR, at.astimezone(tz).isoformat()))
            at += HOUR
    else:
        day = _bucket_floor(first.astimezone(tz), granularity)
        while True:
            lower = floor_hour(_local_midnight(day, tz))
            following = _next_start(day, granularity)
            upper = floor_hour(_local_midnight(following, tz))
            if lower >= last:
                break
            if upper > first:
                result.append(Bucket(max(lower, first), min(upper, last), day.isoformat()))
            day = following
    if result:
        result[0] = Bucket(max(result[0].start, start), result[0].end, result[0].label)
        result[-1] = Bucket(result[-1].start, min(result[-1].end, end), result[-1].label)
    return result


def partial_cells(
    metric: MetricDef,
    events: Iterable[tuple[datetime, str, Decimal, dict[str, Any]]],
    lower: datetime,
    upper: datetime,
) -> tuple[dict[str, Cell], dict[str, Decimal], list[tuple[datetime, str, str]]]:
    """Cells of ``[lower, upper)`` (less than an hour) computed from raw events.

    ``events`` are ``(timestamp, event_id, quantity, properties)`` from the start of
    ``lower``'s hour to ``upper``. Returns the partial cell per group key (keyed at
    ``lower``, ending at ``upper``), each group's gauge just before ``lower`` (from
    the events between the hour's start and ``lower``), and the distinct values.
    """
    before: dict[str, tuple[datetime, str, Decimal]] = {}
    inside: dict[str, list[tuple[datetime, str, Decimal]]] = {}
    distinct: list[tuple[datetime, str, str]] = []
    for at, event_id, quantity, properties in events:
        if not matches(properties, metric.filters) or at >= upper:
            continue
        value = event_value(metric, quantity, properties)
        if isinstance(value, str):
            continue
        key = group_key(properties, metric.dimensions)
        if at < lower:
            if key not in before or (at, event_id) > before[key][:2]:
                before[key] = (at, event_id, value)
            continue
        inside.setdefault(key, []).append((at, event_id, value))
        if metric.aggregation == "unique_count":
            distinct.append((lower, key, distinct_value(metric, quantity, properties)))
    cells: dict[str, Cell] = {}
    with exact():
        for key, points in inside.items():
            points.sort(key=lambda p: (p[0], p[1]))
            values = [p[2] for p in points]
            last = points[-1]
            integral = ZERO
            for (at, _, value), nxt in zip(points, [*points[1:], None], strict=True):
                integral += value * seconds((upper if nxt is None else nxt[0]) - at)
            cells[key] = Cell(
                len(points),
                sum(values, ZERO),
                max(values),
                last[0],
                last[1],
                last[2],
                first_at=points[0][0],
                integral=integral,
                end=upper,
            )
    return cells, {key: point[2] for key, point in before.items()}, distinct


@dataclass
class Series:
    """One group key's cells in a period, in hour order, with its gauge before it."""

    values: dict[str, str | None]
    cells: list[tuple[datetime, Cell]] = field(default_factory=list)
    carry: Decimal = ZERO
    """For ``weighted_sum``: the gauge's value when the period starts."""


def _in(cells: list[tuple[datetime, Cell]], start: datetime, end: datetime) -> Iterator[Cell]:
    return (cell for hour, cell in cells if start <= hour < end)


def _weighted(series: Series, spans: Sequence[tuple[datetime, datetime]]) -> list[Decimal]:
    """The gauge integral (value-seconds) over each of ``spans`` (ordered, disjoint)."""
    results: list[Decimal] = []
    carry = series.carry
    index = 0
    cells = series.cells
    with localcontext() as context:
        context.prec = PRECISION
        for lower, upper in spans:
            while index < len(cells) and cells[index][0] < lower:
                carry = cells[index][1].latest_value
                index += 1
            total = ZERO
            at = lower
            while index < len(cells) and cells[index][0] < upper:
                hour, cell = cells[index]
                first_at = cell.first_at or hour
                total += carry * seconds(hour - at) + carry * seconds(first_at - hour)
                total += cell.integral or ZERO
                carry = cell.latest_value
                at = cell.end or hour + HOUR
                index += 1
            total += carry * seconds(upper - at)
            results.append(total)
    return results


def reduce(
    aggregation: str,
    series: Sequence[Series],
    distinct: Sequence[tuple[datetime, str, str]],
    spans: Sequence[tuple[datetime, datetime]],
) -> list[Decimal]:
    """The metric's value over each span, combining the given group series.

    ``distinct`` are ``(hour, group_key, value)`` rows of the selected groups, for
    ``unique_count``. Empty spans are 0 for every aggregation.
    """
    if aggregation == "weighted_sum":
        per_series = [_weighted(s, spans) for s in series]
        with localcontext() as context:
            context.prec = PRECISION
            return [
                sum((row[i] for row in per_series), ZERO) / SECONDS_PER_HOUR
                for i in range(len(spans))
            ]
    results: list[Decimal] = []
    with localcontext() as context:
        context.prec = PRECISION
        for lower, upper in spans:
            if aggregation == "unique_count":
                seen = {value for hour, _, value in distinct if lower <= hour < upper}
                results.append(Decimal(len(seen)))
                continue
            cells = [cell for s in series for cell in _in(s.cells, lower, upper)]
            if not cells:
                results.append(ZERO)
            elif aggregation == "count":
                results.append(Decimal(sum(c.count for c in cells)))
            elif aggregation == "sum":
                results.append(sum((c.total for c in cells), ZERO))
            elif aggregation == "max":
                results.append(max(c.maximum for c in cells))
            elif aggregation == "latest":
                last = max(cells, key=lambda c: (c.latest_at, c.latest_event_id))
                results.append(last.latest_value)
            else:
                raise ValueError(f"unknown aggregation {aggregation!r}")
    return results


def to_decimal(value: object) -> Decimal:
    """A stored decimal (``numeric`` or canonical text) as :class:`Decimal`."""
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a stored decimal: {value!r}") from None
