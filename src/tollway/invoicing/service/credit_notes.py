"""Credit notes: money given back on a finalized invoice, in full or in part.

A note first lowers what is still due on the invoice (an open or uncollectible
invoice credited down to nothing due is settled: ``paid``); the rest was paid
already and goes back to the customer. ``refund: true`` refunds it in cash (payments
move the money) up to the cash the invoice was paid (``amount_paid``) and not
refunded yet; what was paid with credits (``credits_applied``) goes back to the
balance. ``refund: false`` credits all of it to the balance. The notes of an
invoice never exceed its total.
"""

from __future__ import annotations

from tollway.customers import get_customer_by_id
from tollway.invoicing import states
from tollway.invoicing.events import CREDIT_NOTE_CREATED, INVOICE_PAID
from tollway.invoicing.models import CreditNote
from tollway.invoicing.numbering import credit_note_number
from tollway.invoicing.repository import InvoiceRepository
from tollway.invoicing.schemas import CreditNoteCreate, CreditNoteOut
from tollway.invoicing.service.common import emit, load
from tollway.kernel.access import require_full_access
from tollway.kernel.audit import audit
from tollway.kernel.context import Context
from tollway.kernel.errors import ValidationFailed
from tollway.kernel.ids import new_id
from tollway.kernel.outbox import record_event
from tollway.ledger import refund_to_balance

REFUNDED, CREDITED, SPLIT, DUE_REDUCED = "refunded", "credited", "split", "due_reduced"


def _outcome(refunded: int, credited: int) -> str:
    if refunded and credited:
        return SPLIT
    if refunded:
        return REFUNDED
    return CREDITED if credited else DUE_REDUCED


def create_credit_note(ctx: Context, invoice_id: str, data: CreditNoteCreate) -> CreditNote:
    """Credit ``data.amount`` (default: all not credited yet) of a finalized invoice."""
    require_full_access(ctx, "create credit notes")
    invoice = load(ctx, invoice_id, lock=True)
    states.check("credit_note", invoice.status)
    creditable = invoice.total - invoice.amount_credited
    amount = creditable if data.amount is None else data.amount
    if amount <= 0 or amount > creditable:
        raise ValidationFailed.field(
            "amount", f"must be between 1 and {creditable} (the total not credited yet)"
        )
    customer = get_customer_by_id(ctx, invoice.customer_id)
    now = ctx.now(invoice.test_clock_id)
    repo = InvoiceRepository(ctx)
    reduction = min(amount, invoice.amount_due)
    returned = amount - reduction
    earlier = repo.credit_notes(invoice.id)
    cash_left = invoice.amount_paid - sum(n.refunded for n in earlier)
    refunded = min(returned, cash_left) if data.refund else 0
    note = CreditNote(
        id=new_id("cn"),
        product_id=ctx.product_id,
        invoice_id=invoice.id,
        customer_id=customer.id,
        number=credit_note_number(invoice.number or invoice.id, len(earlier) + 1),
        amount=amount,
        currency=invoice.currency,
        reason=data.reason,
        due_reduction=reduction,
        returned=returned,
        refunded=refunded,
        credited=returned - refunded,
        outcome=_outcome(refunded, returned - refunded),
        grant_id=None,
        created_at=now,
    )
    if note.credited:
        note.grant_id = refund_to_balance(
            ctx,
            customer,
            amount=note.credited,
            currency=note.currency,
            reason=f"credit note {note.number}: {data.reason}",
            key=f"credit-note:{note.id}",
        ).id
    repo.add_all([note])
    invoice.amount_credited += amount
    invoice.amount_due -= reduction
    invoice.updated_at = now
    settled = invoice.status in (states.OPEN, states.UNCOLLECTIBLE) and invoice.amount_due == 0
    if settled:
        invoice.status = states.PAID
        invoice.paid_at = now
    snapshot = CreditNoteOut.of(note).model_dump(mode="json")
    audit(
        ctx,
        "credit_note.create",
        subject_type="invoice",
        subject_id=invoice.id,
        before=None,
        after=snapshot,
        customer_id=customer.id,
        test_clock_id=invoice.test_clock_id,
    )
    record_event(
        ctx,
        CREDIT_NOTE_CREATED,
        snapshot,
        customer_id=customer.id,
        test_clock_id=invoice.test_clock_id,
    )
    if settled:
        emit(ctx, invoice, INVOICE_PAID)
    return note
