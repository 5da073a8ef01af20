"""Quota tables: per-customer overrides, the per-(customer, metric) counter, lock and
grace row, fired threshold alerts and suspensions.

``quota_states`` is the row every consume of a (customer, metric) locks
(``SELECT ... FOR UPDATE``) so concurrent consumes are serialized; it holds the
maintained usage counter of the current period and the quota's grace period.
``quota_alerts`` has one row per (customer, metric, period start, threshold):
inserting it is what makes a threshold fire once per period.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.db import Base, JSONType


class QuotaOverride(Base):
    """A customer's own limit on a metric; it replaces the plan's quota for that metric."""

    __tablename__ = "quota_overrides"
    __table_args__ = (UniqueConstraint("customer_id", "metric_code"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    metric_code: Mapped[str] = mapped_column(String(100))
    limit: Mapped[int] = mapped_column(BigInteger)
    period: Mapped[str] = mapped_column(String(20))
    enforcement: Mapped[str] = mapped_column(String(20))
    thresholds: Mapped[list[int]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class QuotaState(Base):
    """The lock row of a (customer, metric) and its soft quota's grace period."""

    __tablename__ = "quota_states"

    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    metric_code: Mapped[str] = mapped_column(String(100), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    period_key: Mapped[str | None] = mapped_column(String(80))
    """``start/end`` of the period ``used`` counts (a new period recounts)."""
    used: Mapped[Decimal | None]
    """The maintained counter: usage in ``period_key``, exact while not ``stale``."""
    stale: Mapped[bool] = mapped_column(default=False)
    """Set when usage arrived outside consume (``POST /v1/usage``): recount from rollups."""
    grace_period_start: Mapped[datetime | None]
    """Start of the quota period the grace belongs to (a new period ends it)."""
    grace_plan: Mapped[str | None] = mapped_column(String(100))
    """Plan code the grace began under (a plan change ends it)."""
    grace_started_at: Mapped[datetime | None]
    grace_ends_at: Mapped[datetime | None]


class QuotaAlert(Base):
    """A threshold that fired for a quota period (the row makes it fire once)."""

    __tablename__ = "quota_alerts"

    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    metric_code: Mapped[str] = mapped_column(String(100), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(primary_key=True)
    threshold: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    data: Mapped[dict[str, Any]]
    fired_at: Mapped[datetime]


class QuotaSuspension(Base):
    """A customer whose consumes are all refused until reinstated."""

    __tablename__ = "quota_suspensions"

    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    reason: Mapped[str] = mapped_column(String(500))
    suspended_at: Mapped[datetime]
