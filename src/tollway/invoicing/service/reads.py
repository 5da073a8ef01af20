"""Reading invoices and their credit notes."""

from __future__ import annotations

from tollway.customers import get_customer
from tollway.invoicing.models import CreditNote, Invoice
from tollway.invoicing.repository import InvoiceRepository
from tollway.invoicing.service.common import load
from tollway.kernel.context import Context
from tollway.kernel.pagination import Page, PageRequest


def get_invoice(ctx: Context, invoice_id: str) -> Invoice:
    """The invoice; 404 when absent or another customer's."""
    return load(ctx, invoice_id)


def list_customer_invoices(ctx: Context, external_id: str, page: PageRequest) -> Page[Invoice]:
    """The customer's invoices, newest first."""
    customer = get_customer(ctx, external_id)
    return InvoiceRepository(ctx).for_customer(customer.id, page)


def list_credit_notes(ctx: Context, invoice_id: str) -> list[CreditNote]:
    """The invoice's credit notes, oldest first."""
    invoice = load(ctx, invoice_id)
    return InvoiceRepository(ctx).credit_notes(invoice.id)


def open_invoices(ctx: Context, customer_id: str) -> list[Invoice]:
    """The customer's (internal id) open invoices, oldest first."""
    return InvoiceRepository(ctx).open_for_customer(customer_id)


def subscription_invoices(ctx: Context, subscription_id: str) -> list[Invoice]:
    """The subscription's invoices (any status), oldest first."""
    return InvoiceRepository(ctx).for_subscription(subscription_id)
