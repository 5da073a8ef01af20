"""Usage tables: dedup keys, raw events, hourly rollups, distinct values, refusals.

``usage_event_keys`` holds the unique key (product, event_id) that deduplicates
events at write time. ``usage_events`` keeps the raw events; its primary key starts
with ``timestamp`` so PostgreSQL can range-partition it by month (a partitioned
table's unique keys must contain the partition column, which is why the dedup key
lives in its own table). ``usage_rollups`` holds, per customer, metric, UTC hour and
group value, what every aggregation needs; ``usage_rollup_distinct`` the distinct
values of ``unique_count`` metrics per hour. Reads never scan raw events.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Index, Numeric, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.db import Base, DecimalText, JSONType

EXACT = DecimalText().with_variant(Numeric(), "postgresql")
"""An exact decimal: arbitrary-precision ``numeric`` on PostgreSQL (so rollups are
summed in SQL), its canonical text on SQLite (summed in Python)."""


class UsageEventKey(Base):
    """The dedup key of every event ever accepted: one row per (product, event_id)."""

    __tablename__ = "usage_event_keys"

    product_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    timestamp: Mapped[datetime]


class UsageEvent(Base):
    """A raw usage event as accepted (partitionable by ``timestamp``)."""

    __tablename__ = "usage_events"
    __table_args__ = (Index(None, "product_id", "customer_id", "metric_code", "timestamp"),)

    timestamp: Mapped[datetime] = mapped_column(primary_key=True)
    product_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    metric_code: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[Decimal]
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ingested_at: Mapped[datetime]


class _RollupSums:
    """What the hourly and the daily rollups both hold: whose usage of which metric and
    group value (``group_key``), and the parts of it that add up."""

    product_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    metric_code: Mapped[str] = mapped_column(String(100), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(1000), primary_key=True)
    event_count: Mapped[int] = mapped_column(BigInteger)
    value_sum: Mapped[Decimal] = mapped_column(EXACT)
    value_max: Mapped[Decimal] = mapped_column(EXACT)


def _rollup_key(instant: str) -> PrimaryKeyConstraint:
    """The key of a rollup table whose time column is ``instant``; on PostgreSQL it
    carries the sums, so totals are index-only scans."""
    return PrimaryKeyConstraint(
        "product_id",
        "customer_id",
        "metric_code",
        instant,
        "group_key",
        postgresql_include=["event_count", "value_sum", "value_max"],
    )


class UsageRollup(_RollupSums, Base):
    """One customer's usage of one metric in one UTC hour, for one group value.

    ``group_key`` is the canonical JSON of the metric's dimension values (its
    ``group_by`` and ``filters`` properties), ``""`` when it has none. ``value`` of an
    event is its metric ``field`` (``quantity`` by default). ``first_at`` and
    ``integral`` serve ``weighted_sum``: ``integral`` is the value held from
    ``first_at`` to the end of the hour, in value-seconds.
    """

    __tablename__ = "usage_rollups"
    __table_args__ = (_rollup_key("hour"),)

    hour: Mapped[datetime] = mapped_column(primary_key=True)
    latest_at: Mapped[datetime]
    latest_event_id: Mapped[str] = mapped_column(String(255))
    latest_value: Mapped[Decimal] = mapped_column(EXACT)
    first_at: Mapped[datetime | None]
    integral: Mapped[Decimal | None] = mapped_column(EXACT)


class UsageRollupDaily(_RollupSums, Base):
    """One customer's usage of one metric in one UTC day, for one group value: the
    sums of that day's :class:`UsageRollup` rows that add up (``event_count``,
    ``value_sum``, ``value_max``), kept by ingestion in the same transaction. A
    period's totals read its whole days here and only its other hours hourly."""

    __tablename__ = "usage_rollups_daily"
    __table_args__ = (_rollup_key("day"),)

    day: Mapped[datetime] = mapped_column(primary_key=True)


class UsageRollupDistinct(Base):
    """A distinct value of a ``unique_count`` metric seen in one hour."""

    __tablename__ = "usage_rollup_distinct"

    product_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    metric_code: Mapped[str] = mapped_column(String(100), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(1000), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)


class UsageRejection(Base):
    """A well-formed event that was refused, and why (``GET /v1/usage/rejections``)."""

    __tablename__ = "usage_rejections"
    __table_args__ = (Index(None, "product_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str | None] = mapped_column(String(40))
    """Internal id when the customer exists (customer-scoped reads filter on it)."""
    external_customer_id: Mapped[str | None] = mapped_column(String(255))
    metric_code: Mapped[str | None] = mapped_column(String(100))
    event_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(50))
    errors: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    event: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
