"""Payments tables: provider accounts, stored payment methods, payment attempts,
provider subscription links and inbound provider events.

``payment_attempts`` is what makes charging exactly-once: one row per (invoice,
attempt number), inserted before the provider is called; its id is the operation
id the provider deduplicates by, so a job run twice (a lost lease, a crash, a
second worker) finds the row and calls the provider with the same id again.
``provider_events`` is unique per (provider, event id): a webhook delivered twice
finds its row and changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.db import Base


class ProviderAccount(Base):
    """A customer as one provider knows it (``cus_...`` at Stripe)."""

    __tablename__ = "payment_provider_accounts"
    __table_args__ = (
        UniqueConstraint("customer_id", "provider"),
        UniqueConstraint("provider", "reference"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class StoredPaymentMethod(Base):
    """A payment method stored at a provider: its reference, brand, last 4 digits and
    expiry, never a card number. At most one default per customer."""

    __tablename__ = "payment_methods"
    __table_args__ = (
        Index(None, "customer_id", "id"),
        Index(
            "ix_payment_methods_one_default_per_customer",
            "customer_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(255))
    brand: Mapped[str | None] = mapped_column(String(50))
    last4: Mapped[str | None] = mapped_column(String(4))
    exp_month: Mapped[int | None]
    exp_year: Mapped[int | None]
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class PaymentAttempt(Base):
    """One try to collect an invoice through a provider; its id is the operation id."""

    __tablename__ = "payment_attempts"
    __table_args__ = (
        UniqueConstraint("invoice_id", "number"),
        Index(None, "provider", "provider_payment_id"),
        Index(None, "customer_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    test_clock_id: Mapped[str | None] = mapped_column(String(40))
    number: Mapped[int]
    """1-based: the how-manieth attempt on this invoice."""
    provider: Mapped[str] = mapped_column(String(20))
    payment_method_id: Mapped[str | None] = mapped_column(String(40))
    customer_ref: Mapped[str | None] = mapped_column(String(255))
    payment_method_ref: Mapped[str | None] = mapped_column(String(255))
    """The provider's customer and method the attempt charges, kept so that a retry
    asks the provider the same thing even after the method or account is deleted."""
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    """``processing`` (the provider is being asked), ``succeeded``, ``failed`` or
    ``pending`` (boleto, PIX, bank transfer: settles by webhook or an admin) or
    ``canceled`` (a pending charge canceled at the provider once the invoice was
    settled)."""
    failure_code: Mapped[str | None] = mapped_column(String(100))
    failure_message: Mapped[str | None] = mapped_column(Text)
    provider_payment_id: Mapped[str | None] = mapped_column(String(255))
    instructions: Mapped[dict[str, Any] | None]
    """How to pay a pending attempt (PIX code, boleto line, transfer reference)."""
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    attempted_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
    next_retry_at: Mapped[datetime | None]
    """When the next attempt is scheduled after this one failed; ``None``: none is."""


class ProviderSubscription(Base):
    """A Tollway subscription mirrored from a provider's (``sub_...`` at Stripe)."""

    __tablename__ = "payment_provider_subscriptions"
    __table_args__ = (UniqueConstraint("provider", "reference"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), unique=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class ProviderEventRecord(Base):
    """An inbound provider webhook event seen (and handled) once."""

    __tablename__ = "payment_provider_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(40))
    """``handled`` or ``ignored`` (a type Tollway does not act on, or an unknown object)."""
    received_at: Mapped[datetime]
