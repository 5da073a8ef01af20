"""The write path of metering, on two paths: PostgreSQL and SQLite.

PostgreSQL writes a batch in one set-based statement: ``INSERT ... SELECT FROM
unnest(...)`` with ``ON CONFLICT DO NOTHING RETURNING`` for the dedup keys, the raw
events of the new ones and, when none was a duplicate, the rollups upserted with their
arithmetic done in SQL (``numeric``); a batch with duplicates upserts its new events'
rollups in a second one (none when no event was new). Distinct values and gauge
integrals, when the batch's metrics have them, follow in statements of their own.
Rows are sorted by key so concurrent batches lock in the same order.
SQLite (one writer at a time: transactions begin IMMEDIATE) upserts rollups with
``executemany``, adding its decimal text exactly with the connection's
``decimal_add`` and ``decimal_max`` functions (``tollway.kernel.db``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from tollway.kernel.context import Context
from tollway.kernel.db import json_dumps, pg_array, sqlite_time
from tollway.metering.aggregation import Cell
from tollway.metering.models import UsageRejection

CellKey = tuple[str, str, datetime, str]
"""(customer_id, metric_code, hour, group_key)."""
_SELECT_KEYS = "SELECT event_id FROM usage_event_keys WHERE product_id = ? AND event_id IN "
_NEWER = (
    '(excluded.latest_at, excluded.latest_event_id COLLATE "C") '
    '> (r.latest_at, r.latest_event_id COLLATE "C")'
)


_DAY_COLUMNS = (
    "product_id, customer_id, metric_code, day, group_key, event_count, value_sum, value_max"
)
_DAY_CONFLICT = (
    "ON CONFLICT (product_id, customer_id, metric_code, day, group_key) DO UPDATE SET "
    "event_count = d.event_count + excluded.event_count, "
)
_PG_CELLS = (
    "c AS (SELECT * FROM unnest(%(cell_customers)s::varchar[], %(cell_metrics)s::varchar[], "
    "%(hours)s::timestamptz[], %(groups)s::varchar[], %(counts)s::bigint[], "
    "%(sums)s::numeric[], %(maxes)s::numeric[], %(latest_at)s::timestamptz[], "
    "%(latest_ids)s::varchar[], %(latest_values)s::numeric[]) "
    "AS c(customer_id, metric_code, hour, group_key, event_count, value_sum, value_max, "
    "latest_at, latest_event_id, latest_value)"
)
"""The cells to add, one array per column (:func:`_cell_params`)."""
_PG_HOURS = (
    "hours AS (INSERT INTO usage_rollups AS r (product_id, customer_id, metric_code, "  # noqa: S608
    "hour, group_key, event_count, value_sum, value_max, latest_at, latest_event_id, "
    "latest_value) "
    "SELECT %(product)s, c.* FROM c ORDER BY 1, 2, 3, 4, 5 "
    "ON CONFLICT (product_id, customer_id, metric_code, hour, group_key) DO UPDATE SET "
    "event_count = r.event_count + excluded.event_count, "
    "value_sum = r.value_sum + excluded.value_sum, "
    "value_max = GREATEST(r.value_max, excluded.value_max), "
    f"latest_value = CASE WHEN {_NEWER} "
    "THEN excluded.latest_value ELSE r.latest_value END, "
    f"latest_event_id = CASE WHEN {_NEWER} "
    "THEN excluded.latest_event_id ELSE r.latest_event_id END, "
    "latest_at = GREATEST(r.latest_at, excluded.latest_at))"
)
_PG_DAYS = (
    f"INSERT INTO usage_rollups_daily AS d ({_DAY_COLUMNS}) "  # noqa: S608
    "SELECT %(product)s, customer_id, metric_code, date_trunc('day', hour, 'UTC'), group_key, "
    "sum(event_count), sum(value_sum), max(value_max) FROM c GROUP BY 2, 3, 4, 5 "
    f"ORDER BY 2, 3, 4, 5 {_DAY_CONFLICT}"
    "value_sum = d.value_sum + excluded.value_sum, "
    "value_max = GREATEST(d.value_max, excluded.value_max)"
)
_PG_ROLL_UP = f"WITH {_PG_CELLS}), {_PG_HOURS}, days AS ({_PG_DAYS}) SELECT 1"
"""Adds cells to the hourly and daily rollups, their arithmetic done in SQL. Its
``hours`` and ``days`` are unreferenced CTEs declared as in :data:`_PG_STORE`:
PostgreSQL runs such CTEs last-declared first (days, then hours; an order its
documentation leaves unspecified), so batches lock rollup rows in one order
whichever of the two statements adds their cells."""
_PG_STORE = (  # constant text; the values are bound parameters
    "WITH u AS (SELECT * FROM unnest(%(ids)s::varchar[], %(times)s::timestamptz[], "  # noqa: S608
    "%(customers)s::varchar[], %(metrics)s::varchar[], %(quantities)s::varchar[]) "
    "WITH ORDINALITY AS u(event_id, ts, customer_id, metric_code, quantity, n)), "
    "new AS (INSERT INTO usage_event_keys (product_id, event_id, timestamp) "
    "SELECT %(product)s, event_id, ts FROM u ORDER BY event_id "
    "ON CONFLICT DO NOTHING RETURNING event_id), "
    "raw AS (INSERT INTO usage_events (timestamp, product_id, event_id, customer_id, "
    "metric_code, quantity, properties, ingested_at) "
    "SELECT u.ts, %(product)s, u.event_id, u.customer_id, u.metric_code, u.quantity, "
    "p.properties, %(now)s FROM u JOIN new USING (event_id) "
    "JOIN jsonb_array_elements(%(properties)s::jsonb) WITH ORDINALITY AS p(properties, n) "
    f"USING (n)), {_PG_CELLS} WHERE (SELECT count(*) FROM new) = %(count)s), "
    f"{_PG_HOURS}, days AS ({_PG_DAYS}) "
    "SELECT u.event_id FROM u LEFT JOIN new USING (event_id) WHERE new.event_id IS NULL"
)
"""One round trip for a batch: its columns as arrays (ids, times, codes and numbers
travel as the text of the array, :func:`~tollway.kernel.db.pg_array`), the
properties as one JSON array encoded at once, matched by position; the dedup keys
claimed in id order and the raw rows of the new ones written; the batch's rollup
cells added when every event was new (else the caller adds the new ones' cells).
It returns the duplicates (usually none), not the thousands of new ids."""
_SQLITE_NEWER = "(excluded.latest_at, excluded.latest_event_id) > (r.latest_at, r.latest_event_id)"
_SQLITE_HOURS = (
    "INSERT INTO usage_rollups AS r (product_id, customer_id, metric_code, hour, group_key, "  # noqa: S608
    "event_count, value_sum, value_max, latest_at, latest_event_id, latest_value) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (product_id, customer_id, metric_code, hour, group_key) DO UPDATE SET "
    "event_count = r.event_count + excluded.event_count, "
    "value_sum = decimal_add(r.value_sum, excluded.value_sum), "
    "value_max = decimal_max(r.value_max, excluded.value_max), "
    f"latest_value = CASE WHEN {_SQLITE_NEWER} THEN excluded.latest_value ELSE r.latest_value END, "
    f"latest_event_id = CASE WHEN {_SQLITE_NEWER} "
    "THEN excluded.latest_event_id ELSE r.latest_event_id END, "
    "latest_at = max(r.latest_at, excluded.latest_at)"
)
"""SQLite: times are stored as text of one fixed width (ordered as they compare) and
event ids compare bytewise, as PostgreSQL's ``COLLATE "C"``."""
_SQLITE_DAYS = (
    f"INSERT INTO usage_rollups_daily AS d ({_DAY_COLUMNS}) "  # noqa: S608
    f"VALUES (?, ?, ?, ?, ?, ?, ?, ?) {_DAY_CONFLICT}"
    "value_sum = decimal_add(d.value_sum, excluded.value_sum), "
    "value_max = decimal_max(d.value_max, excluded.value_max)"
)
"""SQLite adds the stored text decimals exactly with the functions every connection
has (``tollway.kernel.db``)."""


@dataclass(slots=True)
class RawEvent:
    """A raw event row to write (one per event of a batch: not frozen, which makes
    it five times cheaper to make)."""

    event_id: str
    customer_id: str
    metric_code: str
    timestamp: datetime
    quantity: Decimal
    properties: dict[str, Any]
    value: Decimal
    """What the event adds to its metric (not stored: derived from the metric)."""


@dataclass(frozen=True, slots=True)
class Stored:
    """What :meth:`UsageWriter.store_events` wrote."""

    new_ids: set[str]
    """The events that were new (the others' ids were already claimed)."""
    rolled_up: bool
    """Whether the cells were added: every event was new."""


def _cell_params(cells: dict[CellKey, Cell]) -> dict[str, Any]:
    """The PostgreSQL arrays of ``cells``, one per column, in key order (concurrent
    writers lock rollup rows alike)."""
    ordered = sorted(cells.items(), key=lambda item: item[0])

    def column(index: int) -> Any:
        return pg_array([key[index] for key, _ in ordered])

    return {
        "cell_customers": column(0),
        "cell_metrics": column(1),
        "hours": column(2),
        "groups": column(3),
        "counts": pg_array([cell.count for _, cell in ordered]),
        "sums": pg_array([cell.total for _, cell in ordered]),
        "maxes": pg_array([cell.maximum for _, cell in ordered]),
        "latest_at": pg_array([cell.latest_at for _, cell in ordered]),
        "latest_ids": pg_array([cell.latest_event_id for _, cell in ordered]),
        "latest_values": pg_array([cell.latest_value for _, cell in ordered]),
    }


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_DISTINCT_ARRAYS = ("customers", "metrics", "hours", "groups", "values")


class UsageWriter:
    """Writes usage rows of ``ctx``'s product: raw events, their dedup keys, rollups."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.postgres = ctx.session.get_bind().dialect.name == "postgresql"

    def _driver(self, sql: str, params: Any = None) -> Any:
        return self.ctx.session.connection().exec_driver_sql(sql, params)

    def store_events(
        self, events: Sequence[RawEvent], ingested_at: datetime, cells: dict[CellKey, Cell]
    ) -> Stored:
        """Claim each event's dedup key, write the raw rows of those that were new and,
        when every event was new (the common case), add ``cells``, their rollups.

        An id already claimed (earlier batch, or a concurrent transaction that commits)
        is skipped: that is the write-time deduplication. When some were, ``cells`` are
        not added: the caller adds the new events' own (:meth:`add_to_rollups`).
        """
        if not events:
            return Stored(set(), rolled_up=True)
        ordered = sorted(events, key=lambda e: e.event_id)
        if self.postgres:
            new_ids = self._store_pg(ordered, ingested_at, cells)
        else:
            new_ids = self._store_sqlite(ordered, ingested_at)
        rolled_up = len(new_ids) == len(ordered)
        if rolled_up and not self.postgres:
            self.add_to_rollups(cells)
        return Stored(new_ids, rolled_up)

    def _store_pg(
        self, ordered: Sequence[RawEvent], ingested_at: datetime, cells: dict[CellKey, Cell]
    ) -> set[str]:
        result = self._driver(
            _PG_STORE,
            {
                "product": self.ctx.product_id,
                "now": ingested_at,
                "ids": pg_array([e.event_id for e in ordered]),
                "times": pg_array([e.timestamp for e in ordered]),
                "customers": pg_array([e.customer_id for e in ordered]),
                "metrics": pg_array([e.metric_code for e in ordered]),
                "quantities": pg_array([str(e.quantity) for e in ordered]),
                "properties": json_dumps([e.properties for e in ordered]),
                "count": len(ordered),
                **_cell_params(cells),
            },
        )
        duplicates = {row[0] for row in result}
        return {e.event_id for e in ordered if e.event_id not in duplicates}

    def _store_sqlite(self, ordered: Sequence[RawEvent], ingested_at: datetime) -> set[str]:
        existing: set[str] = set()
        product = self.ctx.product_id
        for chunk in _chunks([e.event_id for e in ordered], 500):
            marks = ",".join("?" * len(chunk))
            rows = self._driver(_SELECT_KEYS + f"({marks})", (product, *chunk))
            existing.update(row[0] for row in rows)
        fresh = [e for e in ordered if e.event_id not in existing]
        if not fresh:
            return set()
        times = [sqlite_time(e.timestamp) for e in fresh]
        self._driver(
            "INSERT INTO usage_event_keys (product_id, event_id, timestamp) VALUES (?, ?, ?)",
            [(product, e.event_id, at) for e, at in zip(fresh, times, strict=True)],
        )
        now = sqlite_time(ingested_at)
        self._driver(
            "INSERT INTO usage_events (timestamp, product_id, event_id, customer_id, "
            "metric_code, quantity, properties, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    at,
                    product,
                    e.event_id,
                    e.customer_id,
                    e.metric_code,
                    str(e.quantity),
                    json_dumps(e.properties),
                    now,
                )
                for e, at in zip(fresh, times, strict=True)
            ],
        )
        return {e.event_id for e in fresh}

    def add_to_rollups(self, cells: dict[CellKey, Cell]) -> None:
        """Add each cell's events to its stored rollup (created when missing)."""
        if not cells:
            return
        if self.postgres:
            # the SQL is constant text; values are bound parameters
            self._driver(_PG_ROLL_UP, {"product": self.ctx.product_id, **_cell_params(cells)})
        else:
            self._upsert_sqlite(sorted(cells.items(), key=lambda item: item[0]))

    def _upsert_sqlite(self, ordered: list[tuple[CellKey, Cell]]) -> None:
        product = self.ctx.product_id
        self._driver(
            _SQLITE_HOURS,
            [
                (
                    product,
                    key[0],
                    key[1],
                    sqlite_time(key[2]),
                    key[3],
                    cell.count,
                    str(cell.total),
                    str(cell.maximum),
                    sqlite_time(cell.latest_at),
                    cell.latest_event_id,
                    str(cell.latest_value),
                )
                for key, cell in ordered
            ],
        )
        # One row per cell at its day: the upsert adds a batch's hours of a day together.
        self._driver(
            _SQLITE_DAYS,
            [
                (
                    product,
                    key[0],
                    key[1],
                    sqlite_time(key[2])[:10] + " 00:00:00.000000",
                    key[3],
                    cell.count,
                    str(cell.total),
                    str(cell.maximum),
                )
                for key, cell in ordered
            ],
        )

    def add_distinct(self, rows: Iterable[tuple[str, str, datetime, str, str]]) -> None:
        """Record ``(customer_id, metric_code, hour, group_key, value)`` distinct values."""
        ordered = sorted(set(rows))
        if not ordered:
            return
        if self.postgres:
            self._driver(
                "INSERT INTO usage_rollup_distinct (product_id, customer_id, metric_code, hour, "
                "group_key, value) SELECT %(product)s, d.* FROM unnest(%(customers)s::varchar[], "
                "%(metrics)s::varchar[], %(hours)s::timestamptz[], %(groups)s::varchar[], "
                "%(values)s::varchar[]) AS d ORDER BY 1, 2, 3, 4, 5, 6 ON CONFLICT DO NOTHING",
                {
                    "product": self.ctx.product_id,
                    **{
                        name: pg_array([row[i] for row in ordered])
                        for i, name in enumerate(_DISTINCT_ARRAYS)
                    },
                },
            )
            return
        self._driver(
            "INSERT OR IGNORE INTO usage_rollup_distinct (product_id, customer_id, metric_code, "
            "hour, group_key, value) VALUES (?, ?, ?, ?, ?, ?)",
            [(self.ctx.product_id, r[0], r[1], sqlite_time(r[2]), r[3], r[4]) for r in ordered],
        )

    def set_integrals(self, values: dict[CellKey, tuple[datetime, Decimal]]) -> None:
        """Store ``(first_at, integral)`` of gauge cells."""
        for key, (first_at, integral) in sorted(values.items()):
            if self.postgres:
                self._driver(
                    "UPDATE usage_rollups SET first_at = %s, integral = %s WHERE product_id = %s "
                    "AND customer_id = %s AND metric_code = %s AND hour = %s AND group_key = %s",
                    (first_at, integral, self.ctx.product_id, *key),
                )
            else:
                self._driver(
                    "UPDATE usage_rollups SET first_at = ?, integral = ? WHERE product_id = ? "
                    "AND customer_id = ? AND metric_code = ? AND hour = ? AND group_key = ?",
                    (
                        sqlite_time(first_at),
                        str(integral),
                        self.ctx.product_id,
                        key[0],
                        key[1],
                        sqlite_time(key[2]),
                        key[3],
                    ),
                )

    def add_rejections(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.ctx.session.execute(insert(UsageRejection), rows)

    # -- reads --------------------------------------------------------------------------
