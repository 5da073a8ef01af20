"""From lines to an invoice: tax, totals and periods. The real runs, manual invoices
and the upcoming-invoice preview all build their invoices here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tollway.customers import Customer
from tollway.invoicing.events import INVOICE_CREATED
from tollway.invoicing.models import Invoice
from tollway.invoicing.repository import InvoiceRepository
from tollway.invoicing.service.common import emit_all, line_rows, resnapshot, snapshots
from tollway.invoicing.service.lifecycle import issue, issued_events
from tollway.invoicing.settings import InvoicingSettings
from tollway.invoicing.states import DRAFT
from tollway.invoicing.tax import TaxTreatment, treatment
from tollway.invoicing.totals import Line, compute_totals
from tollway.kernel.context import Context
from tollway.kernel.db import instance_of
from tollway.kernel.ids import new_id

SUBSCRIPTION, MANUAL = "subscription", "manual"


@dataclass
class Draft:
    """An invoice about to be made: whose, in which currency, which lines."""

    customer: Customer
    currency: str
    lines: list[Line]
    reason: str
    subscription_id: str | None = None
    id: str = field(default_factory=lambda: new_id("inv"))


def tax_of(customer: Customer, settings: InvoicingSettings) -> TaxTreatment:
    """The tax the customer's invoices bear under the product's settings."""
    return treatment(
        settings.tax_rates,
        customer_external_id=customer.external_id,
        country=customer.country,
        tax_id=customer.tax_id,
        seller_country=settings.seller_country,
        reverse_charge_note=settings.reverse_charge_note,
    )


def build(ctx: Context, draft: Draft, settings: InvoicingSettings, *, now: datetime) -> Invoice:
    """The draft invoice of ``draft.lines``, totals computed; nothing is stored."""
    tax = tax_of(draft.customer, settings)
    totals = compute_totals(draft.lines, tax)
    starts = [line.period_start for line in draft.lines if line.period_start is not None]
    ends = [line.period_end for line in draft.lines if line.period_end is not None]
    return instance_of(
        Invoice,
        {
            "id": draft.id,
            "product_id": ctx.product_id,
            "customer_id": draft.customer.id,
            "customer_external_id": draft.customer.external_id,
            "subscription_id": draft.subscription_id,
            "test_clock_id": draft.customer.test_clock_id,
            "number": None,
            "status": DRAFT,
            "billing_reason": draft.reason,
            "currency": draft.currency,
            "period_start": min(starts, default=None),
            "period_end": max(ends, default=None),
            "issued_at": None,
            "due_date": None,
            "paid_at": None,
            "voided_at": None,
            "subtotal": totals.subtotal,
            "discount": totals.discount,
            "tax": totals.tax,
            "total": totals.total,
            "credits_applied": 0,
            "amount_paid": 0,
            "amount_due": max(0, totals.total),
            "amount_credited": 0,
            "tax_label": tax.label if tax.rate or tax.note else None,
            "tax_rate": tax.rate if tax.rate or tax.note else None,
            "tax_inclusive": tax.inclusive,
            "notes": tax.note,
            "created_at": now,
            "updated_at": now,
        },
    )


def save(
    ctx: Context, drafts: list[Draft], settings: InvoicingSettings, *, finalize: bool = False
) -> list[Invoice]:
    """Store the drafts as invoices with their lines; ``invoice.created`` each (its
    snapshot made from the lines in memory). With ``finalize`` they are issued before
    they are written (one insert, no update), ``invoice.finalized`` (and
    ``invoice.paid``) following their ``invoice.created``."""
    invoices = [
        build(ctx, draft, settings, now=ctx.now(draft.customer.test_clock_id)) for draft in drafts
    ]
    created = snapshots(ctx, invoices, {draft.id: draft.lines for draft in drafts})
    events = [(i, INVOICE_CREATED, s) for i, s in zip(invoices, created, strict=True)]
    if finalize:
        issue(ctx, invoices, [draft.customer for draft in drafts])
        issued = [resnapshot(ctx, i, s) for i, s in zip(invoices, created, strict=True)]
        events += issued_events(invoices, issued)
    rows = [row for draft in drafts for row in line_rows(ctx, draft.id, draft.lines)]
    InvoiceRepository(ctx).add_invoices(invoices, rows)
    emit_all(ctx, events)
    return invoices
