"""The catalog tables: plans, billable metrics, add-ons and coupons.

A plan's prices, features, quotas and charges are JSON columns on the plan row:
they are always read and written with the plan, never queried on their own, and
:mod:`tollway.catalog.schemas` validates them on every write.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.db import Base, JSONType


class Plan(Base):
    """A plan, addressed by ``code`` (unique per product). Archived plans stay readable."""

    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("product_id", "code"),
        # At most one default (fallback) plan per product, even under concurrent writes.
        Index(
            "ix_plans_one_default_per_product",
            "product_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    prices: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    """``[{interval, amount, currency, stripe_price_id}]``; ``currency`` null = the plan's."""
    trial_days: Mapped[int] = mapped_column(default=0)
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    quotas: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    included_credits: Mapped[int] = mapped_column(BigInteger, default=0)
    charges: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    minimum_commitment: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    """``[{amount, currency}]``: the least a period's usage charges come to, per currency;
    ``currency`` null = the plan's."""
    custom_pricing: Mapped[bool] = mapped_column(default=False)
    is_default: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    def price_for(self, interval: str, currency: str | None = None) -> int | None:
        """The amount in minor units for ``interval`` in ``currency`` (the plan's by default)."""
        wanted = currency or self.currency
        for price in self.prices:
            if price["interval"] == interval and (price.get("currency") or self.currency) == wanted:
                amount: int = price["amount"]
                return amount
        return None

    def minimum_for(self, currency: str) -> int:
        """The per-period minimum commitment in ``currency`` (minor units), 0 when none."""
        for minimum in self.minimum_commitment:
            if (minimum.get("currency") or self.currency) == currency:
                amount: int = minimum["amount"]
                return amount
        return 0


class BillableMetric(Base):
    """How usage events of one kind become a number (``code`` is the event's metric)."""

    __tablename__ = "billable_metrics"
    __table_args__ = (UniqueConstraint("product_id", "code"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    aggregation: Mapped[str] = mapped_column(String(20))
    field: Mapped[str | None] = mapped_column(String(100))
    """The event property aggregated (``quantity`` by default); null for ``count``."""
    unit: Mapped[str | None] = mapped_column(String(50))
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    group_by: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AddOn(Base):
    """Something sold beside a plan, recurring or one-off, at a fixed price."""

    __tablename__ = "addons"
    __table_args__ = (UniqueConstraint("product_id", "code"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Coupon(Base):
    """A discount: ``percent_off`` or ``amount_off`` in ``currency``, for a duration."""

    __tablename__ = "coupons"
    __table_args__ = (UniqueConstraint("product_id", "code"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(255))
    percent_off: Mapped[Decimal | None]
    amount_off: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    duration: Mapped[str] = mapped_column(String(20))
    duration_months: Mapped[int | None]
    max_redemptions: Mapped[int | None]
    times_redeemed: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime | None]
    plan_codes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    """Plans the coupon applies to; empty means every plan."""
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
