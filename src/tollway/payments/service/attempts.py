"""Reading an invoice's payment attempts."""

from __future__ import annotations

from tollway.invoicing import get_invoice
from tollway.kernel.context import Context
from tollway.payments.models import PaymentAttempt
from tollway.payments.repository import PaymentRepository


def list_attempts(ctx: Context, invoice_id: str) -> list[PaymentAttempt]:
    """The invoice's attempts, first first (404 for an invoice out of reach)."""
    invoice = get_invoice(ctx, invoice_id)
    return PaymentRepository(ctx).attempts(invoice.id)
