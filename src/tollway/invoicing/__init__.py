"""Invoicing: invoice runs from subscription charges and usage, numbering, taxes,
the invoice lifecycle, credit notes, the upcoming-invoice preview and PDFs."""

from tollway.invoicing.models import CreditNote, Invoice, InvoiceLine
from tollway.invoicing.pdf import (
    InvoiceDocument,
    PdfUnavailable,
    branding_locale,
    render_invoice_pdf,
)
from tollway.invoicing.schemas import (
    CreditNoteCreate,
    CreditNoteOut,
    EmptyBody,
    InvoiceCreate,
    InvoiceOut,
    ItemIn,
    LineItemOut,
)
from tollway.invoicing.service.common import out as invoice_out
from tollway.invoicing.service.common import outputs as invoice_outputs
from tollway.invoicing.service.credit_notes import create_credit_note
from tollway.invoicing.service.document import invoice_document, invoice_pdf
from tollway.invoicing.service.lifecycle import (
    finalize_invoice,
    finalize_invoices,
    mark_uncollectible,
    pay_invoice,
    void_invoice,
)
from tollway.invoicing.service.manual import create_invoice
from tollway.invoicing.service.preview import upcoming_invoice
from tollway.invoicing.service.reads import (
    get_invoice,
    list_credit_notes,
    list_customer_invoices,
    open_invoices,
    subscription_invoices,
)
from tollway.invoicing.service.runs import RunItem, invoice_subscription, run_invoices
from tollway.invoicing.settings import SECTION, InvoicingSettings, TaxRate, invoicing_settings

__all__ = [
    "SECTION",
    "CreditNote",
    "CreditNoteCreate",
    "CreditNoteOut",
    "EmptyBody",
    "Invoice",
    "InvoiceCreate",
    "InvoiceDocument",
    "InvoiceLine",
    "InvoiceOut",
    "InvoicingSettings",
    "ItemIn",
    "LineItemOut",
    "PdfUnavailable",
    "RunItem",
    "TaxRate",
    "branding_locale",
    "create_credit_note",
    "create_invoice",
    "finalize_invoice",
    "finalize_invoices",
    "get_invoice",
    "invoice_document",
    "invoice_out",
    "invoice_outputs",
    "invoice_pdf",
    "invoice_subscription",
    "invoicing_settings",
    "list_credit_notes",
    "list_customer_invoices",
    "mark_uncollectible",
    "open_invoices",
    "pay_invoice",
    "render_invoice_pdf",
    "run_invoices",
    "subscription_invoices",
    "upcoming_invoice",
    "void_invoice",
]
