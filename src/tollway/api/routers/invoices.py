"""``/v1/invoices``: invoices, their lifecycle, credit notes and the upcoming preview."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from tollway import invoicing
from tollway.api.deps import Ctx, PageDep
from tollway.api.routing import resource_router
from tollway.api.schemas import ListOut
from tollway.kernel.context import Context

router = resource_router("invoices")
IdPath = Annotated[str, Path(max_length=64)]
ExternalIdPath = Annotated[str, Path(max_length=255)]


def _out(ctx: Context, invoice: invoicing.Invoice) -> invoicing.InvoiceOut:
    return invoicing.invoice_out(ctx, invoice)


@router.get("/customers/{external_id}/invoices")
def list_customer_invoices(
    ctx: Ctx, external_id: ExternalIdPath, page: PageDep
) -> ListOut[invoicing.InvoiceOut]:
    """A customer's invoices, newest first."""
    found = invoicing.list_customer_invoices(ctx, external_id, page)
    return ListOut(data=invoicing.invoice_outputs(ctx, found.data), has_more=found.has_more)


@router.get("/customers/{external_id}/upcoming-invoice")
def upcoming_invoice(ctx: Ctx, external_id: ExternalIdPath) -> invoicing.InvoiceOut:
    """What the customer's next invoice holds so far, computed by the invoice run's
    own code; nothing is written."""
    return invoicing.upcoming_invoice(ctx, external_id)


@router.get("/invoices/{invoice_id}")
def get_invoice(ctx: Ctx, invoice_id: IdPath) -> invoicing.InvoiceOut:
    """One invoice with its lines."""
    return _out(ctx, invoicing.get_invoice(ctx, invoice_id))


@router.get(
    "/invoices/{invoice_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def invoice_pdf(ctx: Ctx, invoice_id: IdPath) -> Response:
    """The invoice as a PDF with the product's branding, in its locale."""
    filename, content = invoicing.invoice_pdf(ctx, invoice_id)
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.post("/invoices", status_code=201)
def create_invoice(ctx: Ctx, body: invoicing.InvoiceCreate) -> invoicing.InvoiceOut:
    """A manual invoice: one-off items, or a period of a subscription."""
    return _out(ctx, invoicing.create_invoice(ctx, body))


@router.post("/invoices/{invoice_id}/finalize")
def finalize_invoice(
    ctx: Ctx, invoice_id: IdPath, body: invoicing.EmptyBody | None = None
) -> invoicing.InvoiceOut:
    """Issue a draft: its number, due date and credits applied."""
    return _out(ctx, invoicing.finalize_invoice(ctx, invoice_id))


@router.post("/invoices/{invoice_id}/void")
def void_invoice(
    ctx: Ctx, invoice_id: IdPath, body: invoicing.EmptyBody | None = None
) -> invoicing.InvoiceOut:
    """Cancel an unpaid invoice; its credits go back to the balance."""
    return _out(ctx, invoicing.void_invoice(ctx, invoice_id))


@router.post("/invoices/{invoice_id}/pay")
def pay_invoice(
    ctx: Ctx, invoice_id: IdPath, body: invoicing.EmptyBody | None = None
) -> invoicing.InvoiceOut:
    """Record that the amount due was paid out of band."""
    return _out(ctx, invoicing.pay_invoice(ctx, invoice_id))


@router.post("/invoices/{invoice_id}/mark-uncollectible")
def mark_uncollectible(
    ctx: Ctx, invoice_id: IdPath, body: invoicing.EmptyBody | None = None
) -> invoicing.InvoiceOut:
    """Stop collecting an open invoice."""
    return _out(ctx, invoicing.mark_uncollectible(ctx, invoice_id))


@router.post("/invoices/{invoice_id}/credit-notes", status_code=201)
def create_credit_note(
    ctx: Ctx, invoice_id: IdPath, body: invoicing.CreditNoteCreate
) -> invoicing.CreditNoteOut:
    """Give back all or part of a finalized invoice: a refund or a balance credit."""
    return invoicing.CreditNoteOut.of(invoicing.create_credit_note(ctx, invoice_id, body))


@router.get("/invoices/{invoice_id}/credit-notes")
def list_credit_notes(ctx: Ctx, invoice_id: IdPath) -> ListOut[invoicing.CreditNoteOut]:
    """The invoice's credit notes, oldest first."""
    notes = invoicing.list_credit_notes(ctx, invoice_id)
    return ListOut(data=[invoicing.CreditNoteOut.of(n) for n in notes], has_more=False)
