"""Cases opened by failed payments and closed by paid or voided invoices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tollway.customers import get_customer_by_id
from tollway.dunning import events
from tollway.dunning.models import DunningCase
from tollway.dunning.repository import OPEN, DunningRepository
from tollway.dunning.service.common import emit, lift_dunning_suspension, schedule_next_step
from tollway.dunning.settings import dunning_settings
from tollway.invoicing import get_invoice
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound
from tollway.kernel.ids import new_id
from tollway.subscriptions import add_days, get_subscription, mark_past_due, mark_recovered

ACTIVE, PAST_DUE = "active", "past_due"
RECOVERED, VOIDED = "recovered", "voided"


def _at(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def payment_failed(ctx: Context, data: dict[str, Any], failed_at: datetime) -> None:
    """``payment.failed`` of a subscription's open invoice: the first opens a case
    (``past_due``, grace period, the first step scheduled, ``dunning.started``); later
    ones count the attempt. An attempt already counted (a redelivery) changes nothing;
    so does a failure of an invoice that is no longer open, or of a subscription that
    is neither active nor past due."""
    subscription_id = data.get("subscription_id")
    if not subscription_id:
        return
    repo = DunningRepository(ctx)
    attempt = int(data.get("attempt") or 1)
    case = repo.by_invoice(data["invoice_id"], lock=True)
    if case is not None:
        if case.status in OPEN and attempt > case.attempts:
            _count_failure(case, data, attempt, failed_at)
        return
    try:
        invoice = get_invoice(ctx, data["invoice_id"])
        sub = get_subscription(ctx, subscription_id)
    except NotFound:
        return
    if invoice.status != "open" or sub.status not in (ACTIVE, PAST_DUE):
        return
    if sub.status == ACTIVE:
        mark_past_due(ctx, sub.id)
    settings = dunning_settings(ctx)
    customer = get_customer_by_id(ctx, sub.customer_id)
    now = ctx.now(customer.test_clock_id)
    case = DunningCase(
        id=new_id("dun"),
        product_id=ctx.product_id,
        customer_id=customer.id,
        customer_external_id=customer.external_id,
        test_clock_id=customer.test_clock_id,
        subscription_id=sub.id,
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        amount=int(data.get("amount", invoice.amount_due)),
        currency=str(data.get("currency", invoice.currency)),
        status=PAST_DUE,
        grace_ends=add_days(failed_at, settings.grace_days, customer.timezone),
        steps=[step.model_dump() for step in settings.steps],
        next_step=0,
        next_action_at=None,
        closed_at=None,
        created_at=now,
        first_failed_at=failed_at,
    )
    _count_failure(case, data, attempt, failed_at)
    repo.add(case)
    schedule_next_step(ctx, case)
    emit(ctx, case, events.DUNNING_STARTED)


def _count_failure(
    case: DunningCase, data: dict[str, Any], attempt: int, failed_at: datetime
) -> None:
    case.attempts = attempt
    case.last_failed_at = failed_at
    case.last_failure_code = data.get("failure_code")
    case.last_failure_message = data.get("failure_message")
    case.next_retry_at = _at(data.get("next_retry_at"))
    case.updated_at = failed_at


def invoice_settled(ctx: Context, invoice_id: str, *, resolution: str) -> None:
    """The case's invoice was paid (``recovered``) or voided (``voided``): close the
    case, put the subscription back to ``active`` (unless another of its invoices is in
    dunning or it is no longer past due), lift the dunning suspension and record
    ``dunning.recovered``. Pending steps find the case closed and do nothing."""
    repo = DunningRepository(ctx)
    case = repo.by_invoice(invoice_id, lock=True)
    if case is None or case.status not in OPEN:
        return
    now = ctx.now(case.test_clock_id)
    case.status = resolution
    case.closed_at = case.updated_at = now
    case.next_action_at = None
    if not repo.open_for_subscription(case):
        sub = get_subscription(ctx, case.subscription_id)
        if sub.status == PAST_DUE:
            mark_recovered(ctx, sub.id)
    lifted = lift_dunning_suspension(ctx, case)
    emit(ctx, case, events.DUNNING_RECOVERED, resolution=resolution, suspension_lifted=lifted)
