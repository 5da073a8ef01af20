"""The upcoming invoice: what the run at the end of the current period will bill,
built by the run's own code, with nothing claimed, numbered or written."""

from __future__ import annotations

from tollway.customers import get_customer
from tollway.invoicing.repository import InvoiceRepository
from tollway.invoicing.schemas import InvoiceOut
from tollway.invoicing.service.build import SUBSCRIPTION, Draft, build
from tollway.invoicing.service.runs import subscription_lines
from tollway.invoicing.service.usage import PlanBook
from tollway.invoicing.settings import invoicing_settings
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound
from tollway.subscriptions import current_subscription, renewal_charges, subscription_charges


def upcoming_invoice(ctx: Context, external_id: str) -> InvoiceOut:
    """The customer's next invoice as it stands now: the live subscription's charges
    not invoiced yet, what its renewal will bill in advance (computed by the renewal
    itself, undone) and its current period's usage to date, in arrears; 404 without
    a live subscription."""
    customer = get_customer(ctx, external_id)
    sub = current_subscription(ctx, customer.id)
    if sub is None:
        raise NotFound(f"customer {external_id!r} has no live subscription", param="external_id")
    now = ctx.now(customer.test_clock_id)
    charges = [
        c for c in subscription_charges(ctx, customer_id=customer.id) if c.subscription_id == sub.id
    ]
    charges += renewal_charges(ctx, sub.id)
    billed = InvoiceRepository(ctx).billed_until([sub.id]).get(sub.id, sub.current_period_start)
    window = None if sub.status == "trialing" else (max(sub.current_period_start, billed), now)
    lines = subscription_lines(
        ctx,
        sub,
        customer,
        charges,
        PlanBook(ctx),
        usage_window=window,
        plan_code=None,
        preview=True,
    )
    draft = Draft(customer, sub.currency, lines, SUBSCRIPTION, sub.id)
    invoice = build(ctx, draft, invoicing_settings(ctx), now=now)
    return InvoiceOut.of(invoice, draft.lines, now=now)
