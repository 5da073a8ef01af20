"""Invoicing tables: invoices, their line items, number sequences, billed-period keys
and credit notes.

``invoice_billed_periods`` is what makes usage in arrears exactly-once: one row per
billed interval (subscription, period start, kind), inserted in the transaction that
bills it; a subscription's intervals chain (each starts where the billed usage
ended), so a rerun or a second worker finds the key taken and bills nothing twice.
Period fees, prorations and add-ons are exactly-once through the subscription charge
rows an invoice claims. ``invoice_sequences`` holds the last number given per
(product, year); incrementing it locks the row until commit, so concurrent
finalizations take turns and numbers have no gaps nor duplicates.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.db import Base


class Invoice(Base):
    """What a customer owes for a period (or for one-off items), line by line."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("product_id", "number"),
        Index(None, "product_id", "customer_id", "id"),
        Index(None, "product_id", "status", "due_date"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    customer_external_id: Mapped[str] = mapped_column(String(255))
    subscription_id: Mapped[str | None] = mapped_column(String(40))
    test_clock_id: Mapped[str | None] = mapped_column(String(40))
    number: Mapped[str | None] = mapped_column(String(40))
    """``INV-2026-0001``: given at finalization, sequential per product and year."""
    status: Mapped[str] = mapped_column(String(20))
    """``draft``, ``open``, ``paid``, ``void`` or ``uncollectible``."""
    billing_reason: Mapped[str] = mapped_column(String(30))
    """``subscription`` (an invoice run) or ``manual``."""
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    issued_at: Mapped[datetime | None]
    due_date: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    subtotal: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    credits_applied: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger)
    amount_due: Mapped[int] = mapped_column(BigInteger)
    amount_credited: Mapped[int] = mapped_column(BigInteger, default=0)
    """Sum of the invoice's credit notes."""
    tax_label: Mapped[str | None] = mapped_column(String(100))
    tax_rate: Mapped[Decimal | None]
    tax_inclusive: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InvoiceLine(Base):
    """One line: a period fee, a proration, an add-on, a usage tier, a credit ..."""

    __tablename__ = "invoice_line_items"
    __table_args__ = (Index(None, "invoice_id", "position"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal]
    unit_amount: Mapped[Decimal | None]
    amount: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger, default=0)
    """The part of ``amount`` taken off by the charge's discount (same sign)."""
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    charge_id: Mapped[str | None] = mapped_column(String(40))
    """The subscription charge this line bills, if any."""
    metric: Mapped[str | None] = mapped_column(String(100))


class InvoiceSequence(Base):
    """The last invoice number given in a product and year."""

    __tablename__ = "invoice_sequences"

    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int]


class BilledPeriod(Base):
    """That ``invoice_id`` billed ``kind`` (``usage``) of a subscription's period."""

    __tablename__ = "invoice_billed_periods"
    __table_args__ = (UniqueConstraint("subscription_id", "period_start", "kind"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    subscription_id: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    invoice_id: Mapped[str | None] = mapped_column(String(40))
    """The invoice that billed it; null when the period had nothing to bill."""
    created_at: Mapped[datetime]


class CreditNote(Base):
    """Money given back on a finalized invoice: refunded, or credited to the balance."""

    __tablename__ = "credit_notes"
    __table_args__ = (Index(None, "invoice_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(50))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(500))
    due_reduction: Mapped[int] = mapped_column(BigInteger)
    """The part that lowered what was still due on the invoice."""
    returned: Mapped[int] = mapped_column(BigInteger)
    """The rest, given back: ``refunded`` + ``credited``."""
    refunded: Mapped[int] = mapped_column(BigInteger)
    """The part of ``returned`` refunded in cash (payments move it); never more than
    the cash the invoice was paid (``amount_paid``) and not refunded yet."""
    credited: Mapped[int] = mapped_column(BigInteger)
    """The part of ``returned`` credited to the customer's balance (``grant_id``)."""
    outcome: Mapped[str] = mapped_column(String(20))
    """What the note did: ``refunded``, ``credited`` (to the balance), ``split`` (both)
    or ``due_reduced`` (it only lowered what was due)."""
    grant_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
