"""What happens as time passes: renewals, trial ends and automatic resumes (run by jobs),
and trial extensions."""

from __future__ import annotations

from datetime import datetime

from tollway.kernel.access import require_full_access
from tollway.kernel.context import Context
from tollway.kernel.outbox import record_event
from tollway.subscriptions import events
from tollway.subscriptions.models import Subscription
from tollway.subscriptions.periods import Period, add_days
from tollway.subscriptions.repository import SubscriptionRepository
from tollway.subscriptions.service.cancel import cancel_now
from tollway.subscriptions.service.change import apply_pending_change
from tollway.subscriptions.service.common import (
    customer_of,
    emit,
    load,
    new_schedule,
    open_period,
    schedule,
    schedule_trial_jobs,
    snapshot,
)
from tollway.subscriptions.service.create import fall_back_to_default
from tollway.subscriptions.service.credits import closed_period
from tollway.subscriptions.service.pause import resume
from tollway.subscriptions.settings import payments_enabled
from tollway.subscriptions.states import (
    ACTIVE,
    PAST_DUE,
    PAUSED,
    TRIALING,
    apply,
    require_status,
)


def _due(ctx: Context, subscription_id: str) -> Subscription | None:
    return SubscriptionRepository(ctx).by_id(subscription_id, lock=True)


def renew(ctx: Context, subscription_id: str, period_end: datetime) -> None:
    """At period end: cancel when asked to, else apply a scheduled change and open the
    next period, billed in advance (``subscription.renewed``). Stale jobs do nothing."""
    sub = _due(ctx, subscription_id)
    if sub is None or sub.status not in (ACTIVE, PAST_DUE) or sub.current_period_end != period_end:
        return
    if sub.cancel_at_period_end:
        cancel_now(ctx, sub, credit=False)
        return
    before = snapshot(ctx, sub)
    previous = closed_period(sub, period_end)
    apply_pending_change(ctx, sub, period_end)
    plan_schedule = schedule(ctx, sub)
    end = plan_schedule.next_boundary(period_end)
    charges = open_period(ctx, sub, Period(period_end, end), plan_schedule)
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_RENEWED,
        action="subscription.renew",
        before=before,
        charges=charges,
        extra={"closed_period": previous},
    )


def has_payment_method(ctx: Context, sub: Subscription) -> bool:
    """Whether the subscription can be charged: a method of its own, or its customer's
    default payment method (added after subscribing, as Stripe's
    ``invoice_settings.default_payment_method``)."""
    if sub.payment_method_id is not None:
        return True
    return customer_of(ctx, sub).default_payment_method_id is not None


def trial_will_end(ctx: Context, subscription_id: str, trial_end: datetime) -> None:
    """``subscription.trial_will_end`` a few days before the trial ends."""
    sub = _due(ctx, subscription_id)
    if sub is None or sub.status != TRIALING or sub.trial_end != trial_end:
        return
    record_event(
        ctx,
        events.SUBSCRIPTION_TRIAL_WILL_END,
        {**snapshot(ctx, sub), "has_payment_method": has_payment_method(ctx, sub)},
        customer_id=sub.customer_id,
        test_clock_id=sub.test_clock_id,
    )


def end_trial(ctx: Context, subscription_id: str, trial_end: datetime) -> None:
    """At trial end: ``active`` (first period billed) if the plan is free, a payment
    method is on file (the subscription's or the customer's default) or payments are
    disabled; otherwise ``expired`` and the
    customer falls back to the default plan. A trial set to cancel is canceled."""
    sub = _due(ctx, subscription_id)
    if sub is None or sub.status != TRIALING or sub.trial_end != trial_end:
        return
    if sub.cancel_at_period_end:
        cancel_now(ctx, sub, credit=False)
        return
    before = snapshot(ctx, sub)
    converts = sub.amount == 0 or has_payment_method(ctx, sub) or not payments_enabled(ctx)
    if not converts:
        sub.status = apply("expire", sub.status)
        sub.pending_change = None
        sub.ended_at = trial_end
        sub.current_period_end = trial_end
        emit(
            ctx,
            sub,
            events.SUBSCRIPTION_EXPIRED,
            action="subscription.expire",
            before=before,
            extra={
                "expired_reason": "trial_ended_without_payment_method",
                "closed_period": closed_period(sub, trial_end),
            },
        )
        fall_back_to_default(ctx, sub)
        return
    closed = closed_period(sub, trial_end)
    sub.status = apply("activate", sub.status)
    apply_pending_change(ctx, sub, trial_end)
    plan_schedule = new_schedule(ctx, sub, trial_end)
    charges = open_period(
        ctx, sub, Period(trial_end, plan_schedule.next_boundary(trial_end)), plan_schedule
    )
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_UPDATED,
        action="subscription.trial_end",
        before=before,
        charges=charges,
        extra={"closed_period": closed},
    )


def auto_resume(ctx: Context, subscription_id: str, resumes_at: datetime) -> None:
    """Resume a pause that ran its course."""
    sub = _due(ctx, subscription_id)
    if sub is None or sub.status != PAUSED or sub.resumes_at != resumes_at:
        return
    resume(ctx, sub)


def extend_trial(ctx: Context, subscription_id: str, *, days: int) -> Subscription:
    """Push the end of a running trial back by ``days``."""
    require_full_access(ctx, "extend trials")
    sub = load(ctx, subscription_id)
    require_status(sub.status, frozenset({TRIALING}), action="extend the trial of")
    assert sub.trial_end is not None
    before = snapshot(ctx, sub)
    sub.trial_end = add_days(sub.trial_end, days, customer_of(ctx, sub).timezone)
    sub.current_period_end = sub.trial_end
    sub.billing_anchor = sub.trial_end
    schedule_trial_jobs(ctx, sub)
    emit(ctx, sub, events.SUBSCRIPTION_UPDATED, action="subscription.extend_trial", before=before)
    return sub


def mark_past_due(ctx: Context, subscription_id: str) -> Subscription:
    """``active -> past_due`` when a renewal went unpaid (payments and dunning call it)."""
    require_full_access(ctx, "change subscriptions")
    sub = load(ctx, subscription_id)
    before = snapshot(ctx, sub)
    sub.status = apply("mark past due", sub.status)
    emit(ctx, sub, events.SUBSCRIPTION_UPDATED, action="subscription.past_due", before=before)
    return sub


def mark_recovered(ctx: Context, subscription_id: str) -> Subscription:
    """``past_due -> active`` once the overdue invoice is paid."""
    require_full_access(ctx, "change subscriptions")
    sub = load(ctx, subscription_id)
    before = snapshot(ctx, sub)
    sub.status = apply("recover", sub.status)
    emit(ctx, sub, events.SUBSCRIPTION_UPDATED, action="subscription.recover", before=before)
    return sub
