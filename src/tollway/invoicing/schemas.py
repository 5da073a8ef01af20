"""Invoice shapes: the invoice and its lines (API, events and PDF), credit notes,
and the inputs of manual invoices and credit notes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Protocol

from pydantic import BaseModel, Field, StringConstraints

from tollway.invoicing.models import CreditNote, Invoice
from tollway.kernel.validation import (
    INPUT_CONFIG,
    Code,
    Count,
    Currency,
    Instant,
    MinorAmount,
    plain,
)

Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class LineFields(Protocol):
    """What a line shows: a stored line, or one still in memory (``totals.Line``)."""

    @property
    def description(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def unit_amount(self) -> Decimal | None: ...
    @property
    def amount(self) -> int: ...
    @property
    def discount(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def metric(self) -> str | None: ...
    @property
    def period_start(self) -> datetime | None: ...
    @property
    def period_end(self) -> datetime | None: ...


class LineItemOut(BaseModel):
    description: str
    quantity: str
    unit_amount: str | None
    amount: int
    discount: int
    kind: str
    metric: str | None
    period_start: datetime | None
    period_end: datetime | None

    @classmethod
    def of(cls, line: LineFields) -> LineItemOut:
        return cls(
            description=line.description,
            quantity=_text(line.quantity),
            unit_amount=None if line.unit_amount is None else _text(line.unit_amount),
            amount=line.amount,
            discount=line.discount,
            kind=line.kind,
            metric=line.metric,
            period_start=line.period_start,
            period_end=line.period_end,
        )


def _text(number: Decimal) -> str:
    """A decimal as plain text without a trailing zero fraction: ``20``, ``0.25``."""
    return plain(number.normalize())


class InvoiceOut(BaseModel):
    """An invoice: amounts in integer minor units of ``currency``."""

    id: str
    number: str | None
    customer_id: str
    subscription_id: str | None
    status: str
    billing_reason: str
    currency: str
    period_start: datetime | None
    period_end: datetime | None
    issued_at: datetime | None
    due_date: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    subtotal: int
    discount: int
    credits_applied: int
    tax: int
    total: int
    amount_due: int
    amount_paid: int
    amount_credited: int
    overdue: bool
    tax_label: str | None
    tax_rate: str | None
    tax_inclusive: bool
    notes: str | None
    line_items: list[LineItemOut]
    created_at: datetime

    @classmethod
    def of(cls, invoice: Invoice, lines: Sequence[LineFields], *, now: datetime) -> InvoiceOut:
        """``overdue`` is derived: open and past its due date at ``now`` (the customer's)."""
        overdue = (
            invoice.status == "open" and invoice.due_date is not None and now >= invoice.due_date
        )
        return cls(
            id=invoice.id,
            number=invoice.number,
            customer_id=invoice.customer_external_id,
            subscription_id=invoice.subscription_id,
            status=invoice.status,
            billing_reason=invoice.billing_reason,
            currency=invoice.currency,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            issued_at=invoice.issued_at,
            due_date=invoice.due_date,
            paid_at=invoice.paid_at,
            voided_at=invoice.voided_at,
            subtotal=invoice.subtotal,
            discount=invoice.discount,
            credits_applied=invoice.credits_applied,
            tax=invoice.tax,
            total=invoice.total,
            amount_due=invoice.amount_due,
            amount_paid=invoice.amount_paid,
            amount_credited=invoice.amount_credited,
            overdue=overdue,
            tax_label=invoice.tax_label,
            tax_rate=None if invoice.tax_rate is None else _text(invoice.tax_rate),
            tax_inclusive=invoice.tax_inclusive,
            notes=invoice.notes,
            line_items=[LineItemOut.of(line) for line in lines],
            created_at=invoice.created_at,
        )


class CreditNoteOut(BaseModel):
    id: str
    number: str
    invoice_id: str
    amount: int
    currency: str
    reason: str
    due_reduction: int
    """What the note took off the amount due."""
    returned: int
    """What it gave back of what was paid: ``refunded`` + ``credited_to_balance``."""
    refunded: int
    """Refunded in cash: at most the cash paid (``amount_paid``) not refunded yet."""
    credited_to_balance: int
    """Credited to the customer's balance (what credits paid, or all with ``refund: false``)."""
    outcome: str
    created_at: datetime

    @classmethod
    def of(cls, note: CreditNote) -> CreditNoteOut:
        return cls(
            id=note.id,
            number=note.number,
            invoice_id=note.invoice_id,
            amount=note.amount,
            currency=note.currency,
            reason=note.reason,
            due_reduction=note.due_reduction,
            returned=note.returned,
            refunded=note.refunded,
            credited_to_balance=note.credited,
            outcome=note.outcome,
            created_at=note.created_at,
        )


class ItemIn(BaseModel):
    """A one-off line: ``quantity`` x ``unit_amount`` (minor units)."""

    model_config = INPUT_CONFIG

    description: Text
    quantity: Annotated[Count, Field(ge=1)] = 1
    unit_amount: MinorAmount


class InvoiceCreate(BaseModel):
    """A manual invoice: one-off ``items``, or a period of a subscription (its charges
    not invoiced yet and its usage over ``[period_start, period_end)``)."""

    model_config = INPUT_CONFIG

    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=100)] | None = None
    currency: Currency | None = None
    subscription_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    period_start: Instant | None = None
    period_end: Instant | None = None
    plan_id: Code | None = None
    """The plan whose charges rate the period's usage (the subscription's by default)."""
    auto_finalize: bool = False


class CreditNoteCreate(BaseModel):
    """Give back ``amount`` (default: all not credited yet) of a finalized invoice."""

    model_config = INPUT_CONFIG

    amount: Annotated[MinorAmount, Field(ge=1)] | None = None
    reason: Text
    refund: bool = False
    """``true``: refund the cash paid (through payments), what credits paid goes back
    to the balance; ``false``: credit everything returned to the balance."""


class EmptyBody(BaseModel):
    model_config = INPUT_CONFIG
