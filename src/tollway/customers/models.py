"""The billed entity: a SaaS's organization, tenant or user."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.db import Base


class Customer(Base):
    """A customer, addressed in the API by ``external_id`` (unique per product)."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("product_id", "external_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    currency: Mapped[str] = mapped_column(String(3))
    currency_locked: Mapped[bool] = mapped_column(default=False)
    """Set once money was recorded in ``currency`` (a subscription, a credit grant, an
    invoice): the currency can no longer change (see :func:`lock_currency`)."""
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    tax_id: Mapped[str | None] = mapped_column(String(64))
    billing_address: Mapped[dict[str, Any] | None]
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    default_payment_method_id: Mapped[str | None] = mapped_column(String(40))
    """The stored payment method invoices are charged to (Stripe's
    ``invoice_settings.default_payment_method``); payments keeps it in step with its
    ``payment_methods``, lower layers (a trial's end) only read it."""
    test_clock_id: Mapped[str | None] = mapped_column(
        ForeignKey("test_clocks.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
