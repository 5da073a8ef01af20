"""Subscription tables: the contract, its add-ons, its billable charges and retention offers.

``subscription_charges`` is what invoicing reads: every amount a subscription makes
billable (period fees in advance, prorations, add-ons), with its period, until an
invoice claims it (``invoice_id``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.db import Base


class Subscription(Base):
    """A customer's contract for a plan, on a billing cycle."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index(None, "product_id", "customer_id", "status"),
        Index(None, "product_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    customer_external_id: Mapped[str] = mapped_column(String(255))
    test_clock_id: Mapped[str | None] = mapped_column(String(40))
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    plan_code: Mapped[str] = mapped_column(String(100))
    billing_cycle: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    """Price of one period in minor units (the plan's, or ``price_override``)."""
    price_override: Mapped[int | None] = mapped_column(BigInteger)
    billing_mode: Mapped[str] = mapped_column(String(20))
    billing_anchor: Mapped[datetime]
    start_at: Mapped[datetime]
    trial_start: Mapped[datetime | None]
    trial_end: Mapped[datetime | None]
    current_period_start: Mapped[datetime]
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    canceled_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    cancel_feedback: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None]
    resumes_at: Mapped[datetime | None]
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    coupon_code: Mapped[str | None] = mapped_column(String(100))
    discount: Mapped[dict[str, Any] | None]
    """``{source, code, percent_off, amount_off, currency, periods_remaining}``."""
    pending_change: Mapped[dict[str, Any] | None]
    """``{plan_id, billing_cycle, amount, effective_at}`` applied at period end."""
    fallback_of: Mapped[str | None] = mapped_column(String(40))
    """The subscription whose end put the customer on this default-plan one."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SubscriptionAddOn(Base):
    """An add-on on a subscription with a quantity; removed ones keep ``removed_at``."""

    __tablename__ = "subscription_addons"
    __table_args__ = (Index(None, "subscription_id", "addon_code"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    addon_id: Mapped[str] = mapped_column(ForeignKey("addons.id"))
    addon_code: Mapped[str] = mapped_column(String(100))
    interval: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class SubscriptionCharge(Base):
    """One billable amount (negative for a credit) a subscription owes for a period."""

    __tablename__ = "subscription_charges"
    __table_args__ = (
        Index(None, "product_id", "customer_id", "invoice_id"),
        Index(None, "subscription_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    """``plan``, ``proration``, ``addon``, ``addon_proration``, ``addon_one_time``,
    ``cancel_credit`` or ``pause_credit``."""
    description: Mapped[str] = mapped_column(String(500))
    plan_code: Mapped[str | None] = mapped_column(String(100))
    addon_code: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(default=1)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime | None]
    discount: Mapped[dict[str, Any] | None]
    """The discount invoicing applies to this charge (a snapshot), if any."""
    invoice_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]


class RetentionOffer(Base):
    """An offer made instead of a cancellation: ``open`` until accepted or expired."""

    __tablename__ = "retention_offers"
    __table_args__ = (Index(None, "subscription_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))
    discount_percent: Mapped[Decimal | None]
    duration_months: Mapped[int | None]
    pause_months: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    feedback: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
