"""Usage ingestion: validate, deduplicate, store raw events and roll them up.

One call is one batch and runs in the caller's transaction: every accepted event,
its rollups and every recorded refusal are written together or not at all. One
bad event never sinks the batch: it is listed with its reasons and skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from operator import attrgetter
from typing import Any, Protocol

from tollway.catalog import find_metrics
from tollway.customers import Customer, find_customers
from tollway.kernel.access import require_full_access
from tollway.kernel.audit import audit
from tollway.kernel.context import Context
from tollway.kernel.errors import FieldError
from tollway.kernel.ids import new_id
from tollway.kernel.tenancy import read_settings
from tollway.metering.aggregation import (
    HOUR,
    Cell,
    MetricDef,
    distinct_value,
    event_value,
    exact,
    group_key,
    hour_integral,
    matches,
)
from tollway.metering.intake import EventIn, parse_event
from tollway.metering.repository import UsageRepository
from tollway.metering.schemas import MeteringSettings
from tollway.metering.writes import CellKey, RawEvent, UsageWriter

SETTINGS_SECTION = "metering"


@dataclass(frozen=True)
class Rejected:
    """Event number ``index`` of the batch was refused for ``errors``."""

    index: int
    errors: list[FieldError]


@dataclass
class IngestResult:
    """What became of a batch; ``event_ids``/``timestamps`` follow the batch order."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    event_ids: list[str | None] = field(default_factory=list)
    timestamps: list[datetime | None] = field(default_factory=list)
    duplicate_ids: set[str] = field(default_factory=set)
    recorded: int = 0
    """Refusals of well-formed events, kept for ``GET /v1/usage/rejections``."""


class MetricParts(Protocol):
    """What aggregation reads of a metric: a catalog metric or a row with these columns."""

    @property
    def code(self) -> str: ...
    @property
    def aggregation(self) -> str: ...
    @property
    def field(self) -> str | None: ...
    @property
    def filters(self) -> dict[str, Any]: ...
    @property
    def group_by(self) -> list[str]: ...


def metric_def(metric: MetricParts) -> MetricDef:
    """The aggregation view of a catalog metric."""
    return MetricDef(
        code=metric.code,
        aggregation=metric.aggregation,
        field=metric.field,
        filters={k: list(v) for k, v in metric.filters.items()},
        group_by=list(metric.group_by),
    )


@dataclass
class _Batch:
    ctx: Context
    backfill: bool
    result: IngestResult
    rejections: list[dict[str, Any]] = field(default_factory=list)

    @cached_property
    def settings(self) -> MeteringSettings:
        """The acceptance window (read only when an event carries its own timestamp)."""
        return read_settings(self.ctx, SETTINGS_SECTION, MeteringSettings)

    @cached_property
    def window(self) -> tuple[timedelta, timedelta]:
        """How far before and after the customer's now an event's timestamp may be."""
        return (
            timedelta(days=self.settings.max_past_days),
            timedelta(seconds=self.settings.max_future_seconds),
        )

    def refuse(self, index: int, errors: list[FieldError]) -> None:
        self.result.rejected.append(Rejected(index, errors))

    def record(
        self,
        index: int,
        event: EventIn,
        reason: str,
        error: FieldError,
        customer: Customer | None,
    ) -> None:
        """Refuse a well-formed event and keep the refusal for ``GET /v1/usage/rejections``."""
        self.refuse(index, [error])
        self.result.recorded += 1
        self.rejections.append(
            {
                "id": new_id("urj"),
                "product_id": self.ctx.product_id,
                "customer_id": customer.id if customer else None,
                "external_customer_id": event.customer_id,
                "metric_code": event.metric,
                "event_id": event.event_id,
                "reason": reason,
                "errors": [{"field": error.field, "message": error.message}],
                "event": {
                    "customer_id": event.customer_id,
                    "metric": event.metric,
                    "quantity": str(event.quantity),
                    "timestamp": event.timestamp.isoformat() if event.timestamp else None,
                    "event_id": event.event_id,
                    "properties": event.properties,
                },
                "created_at": self.ctx.now(customer.test_clock_id if customer else None),
            }
        )


BeforeWrite = Callable[[Context, Collection[tuple[Customer, str]]], None]
"""Told the (customer, metric code) pairs a batch's accepted events will add to, in
the batch's transaction, before anything is written (quotas flag their counters)."""


def ingest(
    ctx: Context,
    events: Sequence[object],
    *,
    backfill: bool = False,
    before_write: BeforeWrite | None = None,
) -> IngestResult:
    """Store a batch of raw events (dicts as sent): accepted, duplicates and refusals.

    ``backfill`` accepts timestamps older than the product's window (they are then
    required). Duplicates (same ``event_id`` in the product, in this batch or any
    earlier one) are counted once. Never commits.
    """
    require_full_access(ctx, "send usage events")
    batch = _Batch(ctx, backfill, IngestResult())
    parsed = _parse(batch, events)
    customers = find_customers(ctx, {e.customer_id for _, e in parsed})
    metrics = {
        code: metric_def(m) for code, m in find_metrics(ctx, {e.metric for _, e in parsed}).items()
    }
    rows = _accept(batch, parsed, customers, metrics)
    if before_write is not None and rows:
        by_id = {c.id: c for c in customers.values()}
        before_write(ctx, {(by_id[r.customer_id], r.metric_code) for r in rows})
    return _write(batch, rows, metrics)


def ingest_one(ctx: Context, event: object, customer: Customer, metric: MetricDef) -> IngestResult:
    """:func:`ingest` of a single event whose customer and metric the caller already
    resolved (a quota consume): the same rules, deduplication and rollups, without
    looking either up again. Never commits."""
    require_full_access(ctx, "send usage events")
    batch = _Batch(ctx, False, IngestResult())
    parsed = _parse(batch, [event])
    metrics = {metric.code: metric}
    return _write(batch, _accept(batch, parsed, {customer.external_id: customer}, metrics), metrics)


def _parse(batch: _Batch, events: Sequence[object]) -> list[tuple[int, EventIn]]:
    """The well-formed events with their index; refuses the others."""
    result = batch.result
    parsed: list[tuple[int, EventIn]] = []
    for index, raw in enumerate(events):
        event = parse_event(raw)
        result.event_ids.append(None)
        result.timestamps.append(None)
        if isinstance(event, list):
            batch.refuse(index, [FieldError(f, m) for f, m in event])
        elif batch.backfill and event.timestamp is None:
            batch.refuse(index, [FieldError("timestamp", "is required when backfilling")])
        else:
            parsed.append((index, event))
    return parsed


def _write(batch: _Batch, rows: list[RawEvent], metrics: dict[str, MetricDef]) -> IngestResult:
    """Deduplicate, store and roll up the accepted events."""
    ctx, result, backfill = batch.ctx, batch.result, batch.backfill
    writer = UsageWriter(ctx)
    writer.add_rejections(batch.rejections)
    folded = _fold(rows, metrics)
    stored = writer.store_events(rows, ctx.now(), folded.cells)
    new_ids = stored.new_ids
    fresh = [r for r in rows if r.event_id in new_ids]
    result.duplicates += len(rows) - len(fresh)
    result.duplicate_ids.update(r.event_id for r in rows if r.event_id not in new_ids)
    result.accepted = len(fresh)
    if not stored.rolled_up:  # some were duplicates: only the new ones count
        folded = _fold(fresh, metrics)
        writer.add_to_rollups(folded.cells)
    _add_distinct_and_integrals(writer, folded, metrics)
    result.rejected.sort(key=lambda r: r.index)
    if backfill and fresh:
        audit(
            ctx,
            "usage.backfill",
            subject_type="usage_batch",
            subject_id=new_id("ubf"),
            before=None,
            after={
                "accepted": len(fresh),
                "duplicates": result.duplicates,
                "rejected": len(result.rejected),
                "earliest": min(r.timestamp for r in fresh).isoformat(),
                "latest": max(r.timestamp for r in fresh).isoformat(),
            },
        )
    return result


def _accept(
    batch: _Batch,
    parsed: list[tuple[int, EventIn]],
    customers: dict[str, Customer],
    metrics: dict[str, MetricDef],
) -> list[RawEvent]:
    """The events to write (first of each event_id in the batch); refuses the others."""
    ctx, result = batch.ctx, batch.result
    seen: set[str] = set()
    rows: list[RawEvent] = []
    clocks: dict[str | None, datetime] = {}
    known: dict[str, tuple[str, datetime]] = {}  # external id: (id, now), read once each
    for index, event in parsed:
        customer = customers.get(event.customer_id)
        if customer is None:
            batch.record(
                index,
                event,
                "unknown_customer",
                FieldError("customer_id", f"no customer with external id {event.customer_id!r}"),
                None,
            )
            continue
        metric = metrics.get(event.metric)
        if metric is None:
            batch.record(
                index,
                event,
                "unknown_metric",
                FieldError("metric", f"no billable metric with code {event.metric!r}"),
                customer,
            )
            continue
        if (facts := known.get(event.customer_id)) is None:
            clock_id = customer.test_clock_id
            if (now := clocks.get(clock_id)) is None:
                now = clocks[clock_id] = ctx.now(clock_id)
            facts = known[event.customer_id] = (customer.id, now)
        customer_id, now = facts
        timestamp = event.timestamp or now
        if event.timestamp is not None and (reason := _outside_window(batch, timestamp, now)):
            batch.record(index, event, reason[0], reason[1], customer)
            continue
        value = event_value(metric, event.quantity, event.properties)
        if isinstance(value, str):
            batch.record(
                index, event, "invalid_property", FieldError("properties", value), customer
            )
            continue
        event_id = event.event_id or new_id("uev")
        result.event_ids[index] = event_id
        result.timestamps[index] = timestamp
        if event_id in seen:
            result.duplicates += 1
            result.duplicate_ids.add(event_id)
            continue
        seen.add(event_id)
        rows.append(
            RawEvent(
                event_id,
                customer_id,
                metric.code,
                timestamp,
                event.quantity,
                event.properties,
                value,
            )
        )
    return rows


def _outside_window(
    batch: _Batch, timestamp: datetime, now: datetime
) -> tuple[str, FieldError] | None:
    """Why a sent timestamp is refused (too far ahead of or behind ``now``), if it is."""
    past, future = batch.window
    settings = batch.settings
    if timestamp > now + future:
        return "in_the_future", FieldError(
            "timestamp",
            f"is more than {settings.max_future_seconds} s after the customer's "
            f"current time {now.isoformat()}",
        )
    if timestamp < now - past and not batch.backfill:
        return "too_old", FieldError(
            "timestamp",
            f"is more than {settings.max_past_days} days before the customer's current "
            f"time {now.isoformat()}; send it to POST /v1/usage/backfill",
        )
    return None


_order = attrgetter("timestamp", "event_id")


def _group(
    memo: dict[tuple[Any, ...], str], dimensions: tuple[str, ...], properties: dict[str, Any]
) -> str:
    """:func:`group_key`, remembered per batch for plain string values."""
    values = (dimensions, *(properties.get(d) for d in dimensions))
    try:
        return memo[values]
    except (KeyError, TypeError):  # TypeError: an unhashable (JSON object) value
        group = group_key(properties, dimensions)
        if all(v is None or isinstance(v, str) for v in values[1:]):
            memo[values] = group
        return group


@dataclass(frozen=True, slots=True)
class _Folded:
    """Events folded into what their rollups add."""

    cells: dict[CellKey, Cell]
    distinct: list[tuple[str, str, datetime, str, str]]
    """(customer_id, metric_code, hour, group_key, value) of unique_count metrics."""
    gauges: set[tuple[str, str, datetime]]
    """(customer_id, metric_code, hour) of weighted_sum metrics, to integrate again."""


def _fold(rows: list[RawEvent], metrics: dict[str, MetricDef]) -> _Folded:
    """Fold events into their hourly cells, distinct values and gauge hours."""
    by_cell: dict[CellKey, list[RawEvent]] = {}
    distinct: list[tuple[str, str, datetime, str, str]] = []
    gauges: set[tuple[str, str, datetime]] = set()
    groups: dict[tuple[Any, ...], str] = {}
    for row in rows:
        metric = metrics[row.metric_code]
        if metric.filters and not matches(row.properties, metric.filters):
            continue
        hour = row.timestamp.replace(minute=0, second=0, microsecond=0)  # UTC already
        group = _group(groups, metric.dimensions, row.properties) if metric.dimensions else ""
        key = (row.customer_id, metric.code, hour, group)
        members = by_cell.get(key)
        if members is None:
            by_cell[key] = [row]
        else:
            members.append(row)
        if metric.aggregation == "unique_count":
            distinct.append((*key, distinct_value(metric, row.quantity, row.properties)))
        elif metric.aggregation == "weighted_sum":
            gauges.add((row.customer_id, metric.code, hour))
    cells: dict[CellKey, Cell] = {}
    with exact():
        for key, members in by_cell.items():
            values = [row.value for row in members]
            last = max(members, key=_order)
            cells[key] = Cell(
                len(members),
                sum(values, Decimal(0)),
                max(values),
                last.timestamp,
                last.event_id,
                last.value,
            )
    return _Folded(cells, distinct, gauges)


def _add_distinct_and_integrals(
    writer: UsageWriter, folded: _Folded, metrics: dict[str, MetricDef]
) -> None:
    """Record the new events' distinct values and integrate their gauge cells again
    (after the cells were added). Only the batch's own cells: another group's
    integral of the same hour did not change, and its row is not locked by this
    batch's upsert (updating it too would lock rows out of key order, a deadlock with
    a concurrent batch of that group)."""
    writer.add_distinct(folded.distinct)
    integrals: dict[CellKey, tuple[datetime, Decimal]] = {}
    reader = UsageRepository(writer.ctx)
    for customer_id, code, hour in sorted(folded.gauges):
        metric = metrics[code]
        points: dict[str, list[tuple[datetime, str, Decimal]]] = {}
        for at, event_id, quantity, properties in reader.events_between(
            customer_id, code, hour, hour + HOUR
        ):
            if not matches(properties, metric.filters):
                continue
            value = event_value(metric, quantity, properties)
            if isinstance(value, Decimal):
                points.setdefault(group_key(properties, metric.dimensions), []).append(
                    (at, event_id, value)
                )
        for group, series in points.items():
            if (key := (customer_id, code, hour, group)) in folded.cells:
                integrals[key] = hour_integral(hour, series)
    writer.set_integrals(integrals)
