"""Manual invoices: one-off line items, or a period of a subscription."""

from __future__ import annotations

from decimal import Decimal

from tollway.catalog import get_plan
from tollway.customers import get_customer, lock_currency
from tollway.invoicing.models import Invoice
from tollway.invoicing.schemas import InvoiceCreate
from tollway.invoicing.service.build import MANUAL, Draft, save, tax_of
from tollway.invoicing.service.common import load
from tollway.invoicing.service.runs import RunItem, run_invoices
from tollway.invoicing.settings import invoicing_settings
from tollway.invoicing.totals import Line, compute_totals
from tollway.kernel.access import require_full_access
from tollway.kernel.context import Context
from tollway.kernel.errors import FieldError, NotFound, Unprocessable, ValidationFailed
from tollway.kernel.validation import MAX_MINOR
from tollway.subscriptions import get_subscription

ONE_OFF = "one_off"


def _check(data: InvoiceCreate) -> None:
    """Either items or a subscription; a period needs both ends, in order."""
    errors: list[FieldError] = []
    if (data.items is None) == (data.subscription_id is None):
        errors.append(FieldError("items", "give either items or subscription_id"))
    if data.items is not None:
        for name in ("period_start", "period_end", "plan_id"):
            if getattr(data, name) is not None:
                errors.append(FieldError(name, "goes with subscription_id, not items"))
    if data.subscription_id is not None and data.currency is not None:
        errors.append(FieldError("currency", "a subscription's invoice is in its currency"))
    if (data.period_start is None) != (data.period_end is None):
        errors.append(FieldError("period_end", "give both period_start and period_end"))
    elif data.period_start and data.period_end and data.period_end <= data.period_start:
        errors.append(FieldError("period_end", "must be after period_start"))
    for n, item in enumerate(data.items or []):
        if item.quantity * item.unit_amount > MAX_MINOR:
            errors.append(
                FieldError(f"items[{n}].unit_amount", f"quantity x unit_amount exceeds {MAX_MINOR}")
            )
    if errors:
        raise ValidationFailed(errors)


def create_invoice(ctx: Context, data: InvoiceCreate) -> Invoice:
    """A manual invoice, draft unless ``auto_finalize``.

    With ``items``: one line each (``one_off``). With ``subscription_id``: the
    subscription's charges not invoiced yet and, with a period, its usage over it, by
    the invoice run's own code. The period starts where the subscription's billed
    usage ends (409 otherwise: nothing is billed twice, nothing is skipped) and ends
    by now (422)."""
    require_full_access(ctx, "create invoices")
    _check(data)
    customer = get_customer(ctx, data.customer_id)
    settings = invoicing_settings(ctx)
    if data.items is not None:
        if data.currency is not None and data.currency != customer.currency:
            raise ValidationFailed.field(
                "currency", f"must be the customer's currency {customer.currency}"
            )
        lock_currency(ctx, customer)
        lines = [
            Line(
                kind=ONE_OFF,
                description=item.description,
                amount=item.quantity * item.unit_amount,
                quantity=Decimal(item.quantity),
                unit_amount=Decimal(item.unit_amount),
            )
            for item in data.items
        ]
        if abs(compute_totals(lines, tax_of(customer, settings)).total) > MAX_MINOR:
            raise ValidationFailed.field("items", f"the invoice's total exceeds {MAX_MINOR}")
        draft = Draft(customer, customer.currency, lines, MANUAL)
        return save(ctx, [draft], settings, finalize=data.auto_finalize)[0]
    assert data.subscription_id is not None
    try:
        sub = get_subscription(ctx, data.subscription_id)
    except NotFound as exc:
        raise ValidationFailed.field("subscription_id", "no such subscription") from exc
    if sub.customer_id != customer.id:
        raise ValidationFailed.field("subscription_id", "is not this customer's subscription")
    if data.plan_id is not None:
        try:
            get_plan(ctx, data.plan_id)
        except NotFound as exc:
            raise ValidationFailed.field("plan_id", "no such plan") from exc
    period = None
    if data.period_start is not None and data.period_end is not None:
        if data.period_end > ctx.now(customer.test_clock_id):
            raise ValidationFailed.field(
                "period_end", "must not be in the future: later usage would never be billed"
            )
        period = (data.period_start, data.period_end)
    found = run_invoices(
        ctx,
        [RunItem(sub.id, period, data.plan_id)],
        reason=MANUAL,
        finalize=data.auto_finalize,
        claim_periods=True,
    )
    if not found:
        raise Unprocessable("nothing to invoice: no open charges and no usage to bill")
    return load(ctx, found[0].id)
