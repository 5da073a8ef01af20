"""An invoice's life: finalize (number, due date, credits), pay, void, mark
uncollectible, and the overdue notice on the customer's clock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from tollway.customers import Customer, find_customers, get_customer_by_id
from tollway.invoicing import states
from tollway.invoicing.events import (
    INVOICE_FINALIZED,
    INVOICE_OVERDUE,
    INVOICE_PAID,
    INVOICE_UNCOLLECTIBLE,
    INVOICE_VOIDED,
)
from tollway.invoicing.models import Invoice
from tollway.invoicing.numbering import invoice_number
from tollway.invoicing.repository import InvoiceRepository
from tollway.invoicing.schemas import LineFields
from tollway.invoicing.service.common import Snapshot, emit, emit_all, load, snapshots
from tollway.invoicing.settings import invoicing_settings
from tollway.invoicing.totals import amount_due
from tollway.kernel.access import require_full_access
from tollway.kernel.audit import audit
from tollway.kernel.context import Context
from tollway.kernel.errors import InvalidTransition
from tollway.kernel.jobs import enqueue
from tollway.ledger import (
    InvoicePayment,
    apply_to_invoices,
    refund_to_balance,
    release_invoice,
)
from tollway.subscriptions import add_days

OVERDUE_JOB = "invoicing.overdue"


def finalize_invoices(
    ctx: Context,
    invoices: Sequence[Invoice],
    lines: Mapping[str, Sequence[LineFields]] | None = None,
) -> None:
    """Issue draft invoices (:func:`issue`); ``invoice.finalized``, and ``invoice.paid``
    for those with nothing left to pay. The events' snapshots use ``lines`` (by
    invoice id) when given, else read them."""
    issue(ctx, invoices)
    emit_all(ctx, issued_events(invoices, snapshots(ctx, invoices, lines)))


def issue(
    ctx: Context, invoices: Sequence[Invoice], customers: Sequence[Customer] | None = None
) -> None:
    """Numbers (one reservation per UTC year of issue for all of them), due dates (net
    terms in days on the customer's clock, same local time of day), credits applied,
    status ``open``, or ``paid`` with nothing left to pay. An open one gets its
    overdue check at its due date. The invoices may be stored drafts (updated at the
    flush) or not stored yet (then written issued, with no update). ``customers``:
    the invoices' customers when the caller holds them (else read)."""
    settings = invoicing_settings(ctx)
    repo = InvoiceRepository(ctx)
    by_year: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        states.check("finalize", invoice.status)
        by_year[ctx.now(invoice.test_clock_id).year].append(invoice)
    for year, group in sorted(by_year.items()):
        last = repo.take_numbers(year, len(group))
        for offset, invoice in enumerate(sorted(group, key=lambda i: i.id)):
            invoice.number = invoice_number(
                settings.number_prefix, year, last - len(group) + 1 + offset
            )
    applied = _settle_with_balance(ctx, invoices)
    if customers is None:
        customers = list(find_customers(ctx, {i.customer_external_id for i in invoices}).values())
    zones = {c.id: c.timezone for c in customers}
    for invoice in invoices:  # set after the ledger's reads: one batched UPDATE at the flush
        now = ctx.now(invoice.test_clock_id)
        invoice.credits_applied = applied.get(invoice.id, invoice.credits_applied)
        invoice.issued_at = now
        invoice.due_date = add_days(now, settings.net_terms_days, zones[invoice.customer_id])
        invoice.updated_at = now
        invoice.amount_due = amount_due(invoice.total, invoice.credits_applied, invoice.amount_paid)
        if invoice.amount_due == 0:
            invoice.status = states.PAID
            invoice.paid_at = now
        else:
            invoice.status = states.OPEN
    _schedule_overdue(ctx, [i for i in invoices if i.status == states.OPEN])


def issued_events(
    invoices: Sequence[Invoice], data: Sequence[Snapshot]
) -> list[tuple[Invoice, str, Snapshot]]:
    """The events of issued invoices with their snapshots ``data``:
    ``invoice.finalized``, then ``invoice.paid`` for those with nothing left to pay."""
    events = []
    for invoice, snapshot in zip(invoices, data, strict=True):
        events.append((invoice, INVOICE_FINALIZED, snapshot))
        if invoice.status == states.PAID:
            events.append((invoice, INVOICE_PAID, snapshot))
    return events


def _settle_with_balance(ctx: Context, invoices: Sequence[Invoice]) -> dict[str, int]:
    """Pay what the customers' paying credits cover (returns it by invoice id, for the
    invoices that owe something); a negative total (credits larger than what is
    billed) goes to the customer's balance instead."""
    for invoice in invoices:
        if invoice.total < 0:
            refund_to_balance(
                ctx,
                get_customer_by_id(ctx, invoice.customer_id),
                amount=-invoice.total,
                currency=invoice.currency,
                reason=f"invoice {invoice.number} credits more than it bills",
                key=f"invoice:{invoice.id}",
            )
    payments = [
        InvoicePayment(
            invoice.customer_id,
            invoice.currency,
            invoice.total - invoice.amount_paid,
            invoice.id,
            ctx.now(invoice.test_clock_id),
        )
        for invoice in invoices
        if invoice.total > invoice.amount_paid
    ]
    return apply_to_invoices(ctx, payments) if payments else {}


def _schedule_overdue(ctx: Context, invoices: Sequence[Invoice]) -> None:
    """One overdue check per due instant and clock, at that instant on that clock."""
    groups: dict[tuple[str | None, datetime], list[str]] = defaultdict(list)
    for invoice in invoices:
        assert invoice.due_date is not None
        groups[invoice.test_clock_id, invoice.due_date].append(invoice.id)
    for (clock_id, due), ids in groups.items():
        enqueue(
            ctx,
            OVERDUE_JOB,
            {"invoice_ids": sorted(ids), "due_date": due.isoformat()},
            due_at=due,
            test_clock_id=clock_id,
            dedup_key=f"invoice-overdue:{min(ids)}",
        )


def _audited(ctx: Context, invoice: Invoice, action: str, before: str) -> None:
    audit(
        ctx,
        f"invoice.{action}",
        subject_type="invoice",
        subject_id=invoice.id,
        before={"status": before},
        after={"status": invoice.status},
        customer_id=invoice.customer_id,
        test_clock_id=invoice.test_clock_id,
    )


def finalize_invoice(ctx: Context, invoice_id: str) -> Invoice:
    """Finalize a draft (409 otherwise)."""
    require_full_access(ctx, "finalize invoices")
    invoice = load(ctx, invoice_id, lock=True)
    finalize_invoices(ctx, [invoice])
    _audited(ctx, invoice, "finalize", states.DRAFT)
    return invoice


def pay_invoice(ctx: Context, invoice_id: str) -> Invoice:
    """Record that what was due has been paid out of band (open or uncollectible)."""
    require_full_access(ctx, "mark invoices paid")
    invoice = load(ctx, invoice_id, lock=True)
    before = invoice.status
    states.check("pay", before)
    now = ctx.now(invoice.test_clock_id)
    invoice.amount_paid += invoice.amount_due
    invoice.amount_due = 0
    invoice.status = states.PAID
    invoice.paid_at = now
    invoice.updated_at = now
    _audited(ctx, invoice, "pay", before)
    emit(ctx, invoice, INVOICE_PAID)
    return invoice


def void_invoice(ctx: Context, invoice_id: str) -> Invoice:
    """Cancel an invoice that is not paid: it stays, with its number, as void; the
    credits it used go back to the customer's balance (``credits_applied`` 0). An
    invoice with credit notes cannot be voided (409): the notes gave back already."""
    require_full_access(ctx, "void invoices")
    invoice = load(ctx, invoice_id, lock=True)
    before = invoice.status
    states.check("void", before)
    if invoice.amount_credited:
        raise InvalidTransition(
            "cannot void an invoice with credit notes: they already gave back what it billed",
            status_from=before,
        )
    now = ctx.now(invoice.test_clock_id)
    release_invoice(ctx, invoice.id, now)
    invoice.status = states.VOID
    invoice.voided_at = now
    invoice.credits_applied = 0
    invoice.amount_due = 0
    invoice.updated_at = now
    _audited(ctx, invoice, "void", before)
    emit(ctx, invoice, INVOICE_VOIDED)
    return invoice


def mark_uncollectible(ctx: Context, invoice_id: str) -> Invoice:
    """Give up collecting an open invoice (it may still be paid or voided)."""
    require_full_access(ctx, "mark invoices uncollectible")
    invoice = load(ctx, invoice_id, lock=True)
    before = invoice.status
    states.check("mark_uncollectible", before)
    invoice.status = states.UNCOLLECTIBLE
    invoice.updated_at = ctx.now(invoice.test_clock_id)
    _audited(ctx, invoice, "mark_uncollectible", before)
    emit(ctx, invoice, INVOICE_UNCOLLECTIBLE)
    return invoice


def notify_overdue(ctx: Context, invoice_ids: Sequence[str], due_date: datetime) -> None:
    """The overdue job: ``invoice.overdue`` for each invoice still open at its due date
    (paid, voided or re-dated ones are skipped)."""
    found = InvoiceRepository(ctx).by_ids(invoice_ids)
    late = [
        i
        for i in found
        if i.status == states.OPEN
        and i.due_date == due_date
        and ctx.now(i.test_clock_id) >= due_date
    ]
    data = snapshots(ctx, late)
    emit_all(ctx, [(i, INVOICE_OVERDUE, s) for i, s in zip(late, data, strict=True)])
