"""Invoicing: invoice runs from subscription charges and usage, numbering, taxes,
the invoice lifecycle, credit notes and the upcoming-invoice preview."""

from tollway.invoicing.models import CreditNote, Invoice, InvoiceLine
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
from tollway.invoicing.service.lifecycle import (
    finalize_invoice,
    finalize_invoices,
    mark_uncollectible,
    pay_invoice,
    void_invoice,
)
from tollway.invoicing.service.manual import create_invoice
from tollway.invoicing.service.preview import upcoming_invoice
from tollway.invoicing.service.reads import get_invoice, list_credit_notes, list_customer_invoices
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
    "InvoiceLine",
    "InvoiceOut",
    "InvoicingSettings",
    "ItemIn",
    "LineItemOut",
    "RunItem",
    "TaxRate",
    "create_credit_note",
    "create_invoice",
    "finalize_invoice",
    "finalize_invoices",
    "get_invoice",
    "invoice_out",
    "invoice_outputs",
    "invoice_subscription",
    "invoicing_settings",
    "list_credit_notes",
    "list_customer_invoices",
    "mark_uncollectible",
    "pay_invoice",
    "run_invoices",
    "upcoming_invoice",
    "void_invoice",
]
