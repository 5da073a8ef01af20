"""An invoice as a PDF document: its output, its customer and the product's branding."""

from __future__ import annotations

from tollway.customers import get_customer_by_id
from tollway.invoicing.pdf import InvoiceDocument, branding_locale, render_invoice_pdf
from tollway.invoicing.service.common import load, out
from tollway.kernel.context import Context
from tollway.kernel.tenancy import product_by_id


def invoice_document(ctx: Context, invoice_id: str) -> InvoiceDocument:
    """What the PDF of ``invoice_id`` shows; 404 when absent or another customer's.

    The company name falls back to the product's company, then its name, when the
    branding does not set one."""
    invoice = load(ctx, invoice_id)
    customer = get_customer_by_id(ctx, invoice.customer_id)
    product = product_by_id(ctx.session, ctx.product_id)
    billing = dict(product.branding.get("billing") or {})
    billing["company_name"] = billing.get("company_name") or product.company or product.name
    branding = {**product.branding, "billing": billing}
    return InvoiceDocument.build(
        out(ctx, invoice).model_dump(mode="json"),
        {
            "name": customer.name,
            "email": customer.email,
            "external_id": customer.external_id,
            "billing_address": customer.billing_address,
            "tax_id": customer.tax_id,
            "country": customer.country,
            "timezone": customer.timezone,
        },
        branding,
        branding_locale(branding),
    )


def invoice_pdf(ctx: Context, invoice_id: str) -> tuple[str, bytes]:
    """The file name and bytes of the invoice's PDF (503 when WeasyPrint cannot load)."""
    document = invoice_document(ctx, invoice_id)
    name = document.number or f"draft-{invoice_id}"
    return f"{name}.pdf", render_invoice_pdf(document)
