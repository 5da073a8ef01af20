"""Ledger tables: credit grants, the append-only entries that move them, and the
per-customer low-balance alert state.

A grant is written once and never changed; everything that happens to it is an
entry: ``grant`` (+amount), ``consume`` (-), ``expire`` (-remainder), ``release``
(+, an invoice voided). A grant's remaining amount is the sum of its entries; a plan
allocation that is still open also burns live from rated usage (see ``balance``).
Unique ``key`` columns make grants and entries idempotent, also under concurrency.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.db import Base


class CreditGrant(Base):
    """Credits added to a customer's ledger, in minor units of ``currency``."""

    __tablename__ = "credit_grants"
    __table_args__ = (
        UniqueConstraint("product_id", "key"),
        Index(None, "product_id", "customer_id", "currency"),
        Index(None, "product_id", "subscription_id", "period_start"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(default=0)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[datetime | None]
    subscription_id: Mapped[str | None] = mapped_column(String(40))
    """Plan allocations: the subscription and plan whose period this is."""
    plan_code: Mapped[str | None] = mapped_column(String(100))
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    key: Mapped[str | None] = mapped_column(String(200))
    """Idempotency key, unique per product (``alloc:{subscription_id}:{period_start}``)."""
    granted_at: Mapped[datetime]
    """On the customer's clock."""


class CreditEntry(Base):
    """One movement of a grant: signed ``amount`` in the grant's currency."""

    __tablename__ = "credit_entries"
    __table_args__ = (
        UniqueConstraint("product_id", "key"),
        Index(None, "grant_id"),
        Index(None, "product_id", "customer_id", "id"),
        Index(None, "product_id", "invoice_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    grant_id: Mapped[str] = mapped_column(ForeignKey("credit_grants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    invoice_id: Mapped[str | None] = mapped_column(String(40))
    key: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime]
    """When it takes effect, on the customer's clock."""


class CreditAlert(Base):
    """Whether the customer's balance is below the low-balance threshold: the
    ``credits.low_balance`` event fires when this turns true, once per drop."""

    __tablename__ = "credit_alerts"

    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    low: Mapped[bool] = mapped_column(default=False)
    changed_at: Mapped[datetime]
