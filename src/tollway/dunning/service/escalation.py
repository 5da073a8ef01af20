"""The steps after the grace period: suspend, downgrade to the free plan, cancel.

A subscription a provider collects (Stripe Billing) is only suspended: its downgrade
and cancel steps are skipped (the reason is kept on the case's step), since the
provider's own retry settings end it and Tollway mirrors that."""

from __future__ import annotations

from tollway.catalog import default_plan
from tollway.customers import get_customer_by_id
from tollway.dunning import events
from tollway.dunning.models import DunningCase
from tollway.dunning.repository import OPEN, DunningRepository
from tollway.dunning.service.common import (
    ESCALATE_JOB,
    SUSPENSION_REASON,
    emit,
    lift_dunning_suspension,
    schedule_next_step,
)
from tollway.dunning.settings import CANCEL, DOWNGRADE, SUSPEND
from tollway.invoicing import get_invoice
from tollway.kernel.context import Context
from tollway.kernel.errors import ValidationFailed
from tollway.kernel.jobs import enqueue
from tollway.payments import collecting_provider, stop_collection
from tollway.quotas import suspend_customer
from tollway.subscriptions import (
    Subscription,
    SubscriptionChange,
    cancel_unpaid,
    change_plan,
    get_subscription,
)

LIVE_UNPAID = frozenset({"active", "past_due"})
CANCEL_REASON = "nonpayment"


def escalate(ctx: Context, case_id: str, step: int, *, after_retry: bool = False) -> None:
    """Run step ``step`` of an open case, then schedule the next one. A job for a
    closed case, or for a step already taken, does nothing. A payment retry due by
    now that has not run yet goes first (once): the step runs again after it, so a
    retry that pays on the step's day takes nothing away."""
    repo = DunningRepository(ctx)
    case = repo.by_id(case_id, lock=True)
    if case is None or case.status not in OPEN or case.next_step != step:
        return
    now = ctx.now(case.test_clock_id)
    if not after_retry and case.next_retry_at is not None and case.next_retry_at <= now:
        enqueue(
            ctx,
            ESCALATE_JOB,
            {"case_id": case.id, "step": step, "after_retry": True},
            due_at=now,
            test_clock_id=case.test_clock_id,
            dedup_key=f"dunning-step:{case.id}:{step}:after-retry",
        )
        return
    action = case.steps[step]["action"]
    case.next_step = step + 1
    case.updated_at = now
    if action == SUSPEND:
        _suspend(ctx, case)
    elif (provider := collecting_provider(ctx, case.subscription_id)) is not None:
        _skip(case, step, provider)
    else:
        sub = get_subscription(ctx, case.subscription_id)
        if sub.status in LIVE_UNPAID:
            if action == DOWNGRADE and _downgrade(ctx, sub):
                _end_paid_service(ctx, case, "downgraded", events.DUNNING_DOWNGRADED)
            elif action in (DOWNGRADE, CANCEL):
                cancel_unpaid(ctx, sub.id, reason=CANCEL_REASON)
                _end_paid_service(ctx, case, "canceled", events.DUNNING_CANCELED)
    schedule_next_step(ctx, case)


def _skip(case: DunningCase, step: int, provider: str) -> None:
    """Leave ending a subscription a provider collects to the provider: its own retry
    settings cancel it, and its ``customer.subscription.deleted`` is mirrored."""
    skipped = {
        **case.steps[step],
        "skipped": f"collected by {provider}: {provider} ends it, Tollway mirrors it",
    }
    case.steps = [*case.steps[:step], skipped, *case.steps[step + 1 :]]


def _suspend(ctx: Context, case: DunningCase) -> None:
    customer = get_customer_by_id(ctx, case.customer_id)
    suspend_customer(ctx, customer, SUSPENSION_REASON, invoice_id=case.invoice_id)
    case.status = "suspended"
    emit(ctx, case, events.DUNNING_SUSPENDED)


def _end_paid_service(ctx: Context, case: DunningCase, status: str, event_type: str) -> None:
    """The subscription left the unpaid plan: its invoice stays open (like Stripe's
    "leave past due") but is no longer collected, and the dunning suspension ends."""
    case.status = status
    stop_collection(ctx, get_invoice(ctx, case.invoice_id))
    lifted = lift_dunning_suspension(ctx, case)
    emit(ctx, case, event_type, suspension_lifted=lifted)


def _downgrade(ctx: Context, sub: Subscription) -> bool:
    """Move ``sub`` now to the product's default plan, without proration (the period
    was never paid); ``False`` when there is no default plan it can move to."""
    plan = default_plan(ctx)
    if plan is None or plan.id == sub.plan_id:
        return False
    intervals = [price["interval"] for price in plan.prices]
    cycle = sub.billing_cycle if not intervals or sub.billing_cycle in intervals else intervals[0]
    change = SubscriptionChange(
        new_plan_id=plan.code, billing_cycle=cycle, prorate=False, immediate=True
    )
    try:
        with ctx.session.begin_nested():
            change_plan(ctx, sub.id, change)
    except ValidationFailed:
        return False  # archived, or not sold in the customer's currency
    return True
