"""Reads of metering: rollups, distinct values, raw events at a period's edges.

The write path (raw events, dedup keys, rollup upserts) is ``tollway.metering.writes``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    delete,
    func,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from tollway.kernel.context import Context
from tollway.kernel.db import among
from tollway.kernel.pagination import Page, PageRequest, paginate
from tollway.metering.aggregation import Cell, ceil_day, exact, floor_day, to_decimal
from tollway.metering.models import (
    UsageEvent,
    UsageRejection,
    UsageRollup,
    UsageRollupDaily,
    UsageRollupDistinct,
)


class UsageRepository:
    """Usage rows of ``ctx``'s product (and customer, for scoped readers)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.postgres = ctx.session.get_bind().dialect.name == "postgresql"

    def events_between(
        self, customer_id: str, metric_code: str, lower: datetime, upper: datetime
    ) -> list[tuple[datetime, str, Decimal, dict[str, Any]]]:
        """Raw events of one customer's metric in ``[lower, upper)``, at most an hour:
        gauge recomputation and the partial hours at a period's edges."""
        stmt = select(
            UsageEvent.timestamp, UsageEvent.event_id, UsageEvent.quantity, UsageEvent.properties
        ).where(
            UsageEvent.product_id == self.ctx.product_id,
            UsageEvent.customer_id == customer_id,
            UsageEvent.metric_code == metric_code,
            UsageEvent.timestamp >= lower,
            UsageEvent.timestamp < upper,
        )
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(UsageEvent.customer_id == self.ctx.customer_scope)
        return [(r[0], r[1], r[2], r[3]) for r in self.ctx.session.execute(stmt)]

    def events_in(
        self,
        customer_id: str,
        metric_codes: Sequence[str],
        spans: Sequence[tuple[datetime, datetime]],
    ) -> list[tuple[str, datetime, str, Decimal, dict[str, Any]]]:
        """``(metric_code, timestamp, event_id, quantity, properties)`` of one customer's
        raw events of several metrics in any of ``spans`` (each at most an hour): the
        partial hours at a period's edges, in one query."""
        stmt = select(
            UsageEvent.metric_code,
            UsageEvent.timestamp,
            UsageEvent.event_id,
            UsageEvent.quantity,
            UsageEvent.properties,
        ).where(
            UsageEvent.product_id == self.ctx.product_id,
            UsageEvent.customer_id == customer_id,
            UsageEvent.metric_code.in_(metric_codes),
            or_(*(and_(UsageEvent.timestamp >= lo, UsageEvent.timestamp < hi) for lo, hi in spans)),
        )
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(UsageEvent.customer_id == self.ctx.customer_scope)
        return [(r[0], r[1], r[2], r[3], r[4]) for r in self.ctx.session.execute(stmt)]

    def event_values(
        self, customer_id: str, metric_code: str, start: datetime, end: datetime
    ) -> list[tuple[Decimal, dict[str, Any]]]:
        """``(quantity, properties)`` of one customer's raw events of a metric in
        ``[start, end)``, in event order: only for charges priced per event."""
        stmt = (
            select(UsageEvent.quantity, UsageEvent.properties)
            .where(
                UsageEvent.product_id == self.ctx.product_id,
                UsageEvent.customer_id == customer_id,
                UsageEvent.metric_code == metric_code,
                UsageEvent.timestamp >= start,
                UsageEvent.timestamp < end,
            )
            .order_by(UsageEvent.timestamp, UsageEvent.event_id)
        )
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(UsageEvent.customer_id == self.ctx.customer_scope)
        return [(r[0], r[1]) for r in self.ctx.session.execute(stmt)]

    def _rollups(self, customer_id: str, metric_code: str) -> Select[Any]:
        stmt = select(*_CELL_COLUMNS).where(
            UsageRollup.product_id == self.ctx.product_id,
            UsageRollup.customer_id == customer_id,
            UsageRollup.metric_code == metric_code,
        )
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(UsageRollup.customer_id == self.ctx.customer_scope)
        return stmt

    def cells(
        self, customer_id: str, metric_code: str, start: datetime, end: datetime
    ) -> list[tuple[str, datetime, Cell]]:
        """``(group_key, hour, cell)`` of the hours in ``[start, end)``, in hour order."""
        stmt = (
            self._rollups(customer_id, metric_code)
            .where(UsageRollup.hour >= start, UsageRollup.hour < end)
            .order_by(UsageRollup.hour)
        )
        return [(r[0], r[1], _cell(r)) for r in self.ctx.session.execute(stmt)]

    def gauges_before(
        self, customer_id: str, metric_code: str, start: datetime
    ) -> dict[str, Decimal]:
        """Each group's latest value in the last hour before ``start`` that has events."""
        last = (
            select(UsageRollup.group_key, func.max(UsageRollup.hour).label("hour"))
            .where(
                UsageRollup.product_id == self.ctx.product_id,
                UsageRollup.customer_id == customer_id,
                UsageRollup.metric_code == metric_code,
                UsageRollup.hour < start,
            )
            .group_by(UsageRollup.group_key)
            .subquery()
        )
        stmt = self._rollups(customer_id, metric_code).join(
            last,
            and_(UsageRollup.group_key == last.c.group_key, UsageRollup.hour == last.c.hour),
        )
        return {r[0]: _cell(r).latest_value for r in self.ctx.session.execute(stmt)}

    def distinct_values(
        self, customer_id: str, metric_code: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, str, str]]:
        """``(hour, group_key, value)`` of a unique_count metric in ``[start, end)``."""
        stmt = select(
            UsageRollupDistinct.hour, UsageRollupDistinct.group_key, UsageRollupDistinct.value
        ).where(
            UsageRollupDistinct.product_id == self.ctx.product_id,
            UsageRollupDistinct.customer_id == customer_id,
            UsageRollupDistinct.metric_code == metric_code,
            UsageRollupDistinct.hour >= start,
            UsageRollupDistinct.hour < end,
        )
        return [(r[0], r[1], r[2]) for r in self.ctx.session.execute(stmt)]

    def totals(
        self, customer_id: str | None, start: datetime, end: datetime
    ) -> list[tuple[str, int, Decimal]]:
        """``(metric_code, event_count, value_sum)`` per stored rollup in ``[start, end)``."""
        columns = (UsageRollup.metric_code, UsageRollup.event_count, UsageRollup.value_sum)
        stmt = select(*columns).where(
            UsageRollup.product_id == self.ctx.product_id,
            UsageRollup.hour >= start,
            UsageRollup.hour < end,
        )
        if customer_id is not None:
            stmt = stmt.where(UsageRollup.customer_id == customer_id)
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(UsageRollup.customer_id == self.ctx.customer_scope)
        return [(r[0], r[1], to_decimal(r[2])) for r in self.ctx.session.execute(stmt)]

    def hour_totals(
        self,
        customer_ids: Collection[str],
        metric_codes: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> dict[tuple[str, str], tuple[int, Decimal, Decimal]]:
        """``(event_count, value_sum, value_max)`` of each (customer, metric) over the
        whole hours in ``[start, end)``, every group together: one query for all of
        them, which reads the whole UTC days from the daily rollups and only the other
        hours from the hourly ones."""
        if not metric_codes or not customer_ids:
            return {}
        customers = sorted(set(customer_ids))
        first_day, last_day = ceil_day(start), floor_day(end)
        if first_day < last_day:
            days = [(first_day, last_day)]
            hours = [(start, first_day), (last_day, end)]
        else:
            days, hours = [], [(start, end)]
        parts = [
            self._additive(model, at, customers, metric_codes, ranges)
            for model, at, ranges in (
                (UsageRollup, UsageRollup.hour, hours),
                (UsageRollupDaily, UsageRollupDaily.day, days),
            )
            if any(low < high for low, high in ranges)
        ]
        if not parts:
            return {}
        rows = union_all(*parts).subquery()
        keys = (rows.c.customer_id, rows.c.metric_code)
        if self.postgres:  # numeric: exact sums in SQL
            stmt = select(
                *keys,
                func.sum(rows.c.event_count),
                func.sum(rows.c.value_sum),
                func.max(rows.c.value_max),
            ).group_by(*keys)
            return {
                (r[0], r[1]): (int(r[2]), to_decimal(r[3]), to_decimal(r[4]))
                for r in self.ctx.session.execute(stmt)
            }
        # SQLite keeps decimals as text, which its SUM and MAX would treat as floats (or
        # order as strings): each metric's values come back joined in one string and are
        # added here, exactly (as integers when they all are, the usual case).
        joined = select(
            *keys,
            func.sum(rows.c.event_count),
            func.group_concat(_text(rows.c.value_sum), " ", type_=String),
            func.group_concat(_text(rows.c.value_max), " ", type_=String),
        ).group_by(*keys)
        totals: dict[tuple[str, str], tuple[int, Decimal, Decimal]] = {}
        with exact():
            for row in self.ctx.session.execute(joined):
                sums, peaks = _numbers(row[3]), _numbers(row[4])
                totals[row[0], row[1]] = (int(row[2]), Decimal(sum(sums)), Decimal(max(peaks)))
        return totals

    def _additive(
        self,
        model: type[UsageRollup] | type[UsageRollupDaily],
        at: Any,
        customers: list[str],
        metric_codes: Sequence[str],
        ranges: list[tuple[datetime, datetime]],
    ) -> Select[str, str, int, Decimal, Decimal]:
        """The count, sum and max columns of ``model``'s rows of ``customers`` and
        ``metric_codes`` whose instant ``at`` falls in one of ``ranges``."""
        stmt = select(
            model.customer_id,
            model.metric_code,
            model.event_count,
            model.value_sum,
            model.value_max,
        ).where(
            model.product_id == self.ctx.product_id,
            among(self.ctx.session, model.customer_id, customers),
            model.metric_code.in_(metric_codes),
            or_(*(and_(at >= low, at < high) for low, high in ranges if low < high)),
        )
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(model.customer_id == self.ctx.customer_scope)
        return stmt

    def rejections(self, page: PageRequest) -> Page[UsageRejection]:
        stmt = select(UsageRejection).where(UsageRejection.product_id == self.ctx.product_id)
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(UsageRejection.customer_id == self.ctx.customer_scope)
        return paginate(self.ctx.session, stmt, UsageRejection.id, page)


def _text(column: Any) -> Any:
    """A decimal column as the text SQLite stores it in."""
    return type_coerce(column, String)


def _numbers(joined: str) -> list[int] | list[Decimal]:
    """Stored decimals joined by spaces, exactly: plain integers (the usual values) as
    ``int``, which parse and add several times faster."""
    values = joined.split()
    if joined.replace(" ", "").isdigit():
        return [int(value) for value in values]
    return [Decimal(value) for value in values]


_CELL_COLUMNS: tuple[Any, ...] = (
    UsageRollup.group_key,
    UsageRollup.hour,
    UsageRollup.event_count,
    UsageRollup.value_sum,
    UsageRollup.value_max,
    UsageRollup.latest_at,
    UsageRollup.latest_event_id,
    UsageRollup.latest_value,
    UsageRollup.first_at,
    UsageRollup.integral,
)


def _cell(row: Any) -> Cell:
    return Cell(
        count=row[2],
        total=to_decimal(row[3]),
        maximum=to_decimal(row[4]),
        latest_at=row[5],
        latest_event_id=row[6],
        latest_value=to_decimal(row[7]),
        first_at=row[8],
        integral=None if row[9] is None else to_decimal(row[9]),
    )


def prune_rejections(session: Session, *, before: datetime) -> int:
    """Housekeeping across products: delete refusals recorded before ``before``."""
    result = session.execute(delete(UsageRejection).where(UsageRejection.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
