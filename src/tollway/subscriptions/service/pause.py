"""Pausing and resuming: nothing is billed while paused."""

from __future__ import annotations

from tollway.kernel.access import require_full_access
from tollway.kernel.context import Context
from tollway.kernel.errors import InvalidTransition
from tollway.kernel.jobs import enqueue
from tollway.subscriptions import events, periods
from tollway.subscriptions.models import Subscription
from tollway.subscriptions.periods import Period
from tollway.subscriptions.service.common import (
    RESUME,
    customer_of,
    emit,
    load,
    new_schedule,
    now_for,
    open_period,
    snapshot,
)
from tollway.subscriptions.service.credits import closed_period, unused_time_credits
from tollway.subscriptions.states import ACTIVE, apply


def pause_subscription(
    ctx: Context, subscription_id: str, *, pause_months: int, offer_id: str | None = None
) -> Subscription:
    """Pause for ``pause_months``: the unused paid time is credited, nothing is billed
    until it resumes (automatically then, or on ``resume``) with a new period."""
    require_full_access(ctx, "pause subscriptions")
    sub = load(ctx, subscription_id)
    if sub.status == ACTIVE and sub.cancel_at_period_end:
        raise InvalidTransition("the subscription is set to cancel; reactivate it first")
    if sub.billing_cycle == "lifetime":
        raise InvalidTransition("a lifetime subscription has nothing to pause")
    before = snapshot(ctx, sub)
    sub.status = apply("pause", sub.status)
    now = now_for(ctx, sub)
    end = sub.current_period_end
    charges = unused_time_credits(ctx, sub, now, kind="pause_credit", reason="paused")
    closed = closed_period(sub, now if end is None else min(now, end))
    sub.current_period_end = max(now, sub.current_period_start)
    sub.pending_change = None
    sub.paused_at = now
    sub.resumes_at = periods.add_months(now, pause_months, customer_of(ctx, sub).timezone)
    enqueue(
        ctx,
        RESUME,
        {"subscription_id": sub.id, "resumes_at": sub.resumes_at.isoformat()},
        due_at=sub.resumes_at,
        test_clock_id=sub.test_clock_id,
        dedup_key=f"sub-resume:{sub.id}:{sub.resumes_at.isoformat()}",
    )
    extra = {
        "pause_months": pause_months,
        "closed_period": closed,
        **({"offer_id": offer_id} if offer_id else {}),
    }
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_PAUSED,
        action="subscription.pause",
        before=before,
        charges=charges,
        extra=extra,
    )
    return sub


def resume_subscription(ctx: Context, subscription_id: str) -> Subscription:
    """Resume a paused subscription now: a new period starts and is billed."""
    require_full_access(ctx, "resume subscriptions")
    return resume(ctx, load(ctx, subscription_id))


def resume(ctx: Context, sub: Subscription) -> Subscription:
    """Resume ``sub`` at its customer's now (also the automatic resume's work)."""
    before = snapshot(ctx, sub)
    sub.status = apply("resume", sub.status)
    now = now_for(ctx, sub)
    sub.paused_at = None
    sub.resumes_at = None
    plan_schedule = new_schedule(ctx, sub, now)
    charges = open_period(ctx, sub, Period(now, plan_schedule.next_boundary(now)), plan_schedule)
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_RESUMED,
        action="subscription.resume",
        before=before,
        charges=charges,
    )
    return sub
