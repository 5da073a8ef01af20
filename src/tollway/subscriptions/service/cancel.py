"""Canceling, retention offers and reactivation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tollway.catalog import default_plan, get_plan
from tollway.kernel.access import require_full_access
from tollway.kernel.context import Context
from tollway.kernel.errors import Conflict, InvalidTransition, NotFound
from tollway.kernel.ids import new_id
from tollway.subscriptions import events
from tollway.subscriptions.models import RetentionOffer, Subscription, SubscriptionCharge
from tollway.subscriptions.periods import Period
from tollway.subscriptions.repository import SubscriptionRepository
from tollway.subscriptions.schemas import SubscriptionCancel
from tollway.subscriptions.service.common import (
    emit,
    load,
    new_schedule,
    now_for,
    open_period,
    snapshot,
)
from tollway.subscriptions.service.create import end_replaced, fall_back_to_default
from tollway.subscriptions.service.credits import closed_period, unused_time_credits
from tollway.subscriptions.service.meters import ensure_metrics_free
from tollway.subscriptions.service.pause import pause_subscription
from tollway.subscriptions.settings import subscription_settings
from tollway.subscriptions.states import (
    ACTIVE,
    CANCELED,
    LIVE,
    PAST_DUE,
    PAUSED,
    TRIALING,
    apply,
    require_status,
)

CANCELABLE = frozenset({TRIALING, ACTIVE, PAST_DUE, PAUSED})


@dataclass
class CancelResult:
    """Either the (canceled or cancel-scheduled) subscription, or retention offers."""

    subscription: Subscription
    offers: list[RetentionOffer]


def cancel_subscription(
    ctx: Context, subscription_id: str, data: SubscriptionCancel
) -> CancelResult:
    """Cancel at period end (default) or now; with ``offer_retention`` and offers
    configured, answer with offers and change nothing on the subscription."""
    require_full_access(ctx, "cancel subscriptions")
    sub = load(ctx, subscription_id)
    require_status(sub.status, CANCELABLE, action="cancel")
    settings = subscription_settings(ctx)
    if data.offer_retention and any(_allowed(sub, o.type) for o in settings.retention_offers):
        return CancelResult(sub, _make_offers(ctx, sub, data))
    sub.cancel_reason = data.reason
    sub.cancel_feedback = data.feedback
    if data.cancel_immediately or sub.status == PAUSED:
        cancel_now(ctx, sub, credit=settings.prorate_on_immediate_cancel)
        return CancelResult(sub, [])
    if sub.cancel_at_period_end:
        raise InvalidTransition("the subscription is already set to cancel at period end")
    before = snapshot(ctx, sub)
    sub.cancel_at_period_end = True
    sub.canceled_at = now_for(ctx, sub)
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_UPDATED,
        action="subscription.cancel_at_period_end",
        before=before,
    )
    return CancelResult(sub, [])


def cancel_unpaid(ctx: Context, subscription_id: str, *, reason: str) -> Subscription:
    """Cancel now for non-payment (dunning): no credit for the unpaid period's unused
    time, no retention offers; the customer falls back to the default plan."""
    require_full_access(ctx, "cancel subscriptions")
    sub = load(ctx, subscription_id)
    require_status(sub.status, CANCELABLE, action="cancel")
    sub.cancel_reason = reason
    cancel_now(ctx, sub, credit=False)
    return sub


def cancel_now(ctx: Context, sub: Subscription, *, credit: bool) -> list[SubscriptionCharge]:
    """End ``sub`` now (crediting unused paid time when asked) and fall back to the
    default plan."""
    before = snapshot(ctx, sub)
    now = now_for(ctx, sub)
    sub.status = apply("cancel", sub.status)
    end = sub.current_period_end
    paid = before["status"] in (ACTIVE, PAST_DUE)
    charges = (
        unused_time_credits(ctx, sub, now, kind="cancel_credit", reason="canceled")
        if credit and paid
        else []
    )
    closed = closed_period(sub, now if end is None else min(now, end))
    ended = max(now, sub.current_period_start)  # a period not yet started ends at its start
    sub.canceled_at = sub.canceled_at or now
    sub.ended_at = ended
    sub.cancel_at_period_end = False
    sub.pending_change = None
    sub.current_period_end = ended if end is None or ended < end else end
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_CANCELED,
        action="subscription.cancel",
        before=before,
        charges=charges,
        extra={"closed_period": closed},
    )
    fall_back_to_default(ctx, sub)
    return charges


def _make_offers(ctx: Context, sub: Subscription, data: SubscriptionCancel) -> list[RetentionOffer]:
    settings = subscription_settings(ctx)
    now = now_for(ctx, sub)
    repo = SubscriptionRepository(ctx)
    for stale in repo.open_offers(sub.id):
        stale.status = "superseded"
    offers = []
    for spec in settings.retention_offers:
        if not _allowed(sub, spec.type):
            continue
        offer = RetentionOffer(
            id=new_id("offer"),
            product_id=ctx.product_id,
            subscription_id=sub.id,
            type=spec.type,
            discount_percent=spec.discount_percent,
            duration_months=spec.duration_months,
            pause_months=spec.pause_months,
            status="open",
            reason=data.reason,
            feedback=data.feedback,
            expires_at=now + timedelta(days=settings.retention_offer_ttl_days),
            created_at=now,
        )
        repo.add(offer)
        offers.append(offer)
    return offers


def _allowed(sub: Subscription, offer_type: str) -> bool:
    """Whether an offer of ``offer_type`` could be accepted in the subscription's state:
    a pause only from ``active``/``past_due`` and not for lifetime; a discount only
    where there are fees left to discount."""
    if sub.billing_cycle == "lifetime" or sub.amount == 0:
        return False
    if offer_type == "pause":
        return sub.status in (ACTIVE, PAST_DUE)
    return sub.status in (TRIALING, ACTIVE, PAST_DUE)


def accept_offer(ctx: Context, subscription_id: str, offer_id: str) -> Subscription:
    """Take an open retention offer: a discount the next invoices honour, or a pause.
    The customer's reason and feedback are kept on the subscription."""
    require_full_access(ctx, "accept retention offers")
    sub = load(ctx, subscription_id)
    repo = SubscriptionRepository(ctx)
    offer = repo.offer(sub.id, offer_id)
    if offer is None:
        raise NotFound(f"offer {offer_id!r} not found", param="offer_id")
    now = now_for(ctx, sub)
    if offer.status != "open":
        raise Conflict(f"offer {offer_id!r} is {offer.status}", param="offer_id")
    if offer.expires_at <= now:
        raise Conflict(f"offer {offer_id!r} expired at {offer.expires_at.isoformat()}")
    require_status(
        sub.status, frozenset({TRIALING, ACTIVE, PAST_DUE}), action="accept an offer for"
    )
    for other in repo.open_offers(sub.id):
        other.status = "declined"
    offer.status = "accepted"
    offer.accepted_at = now
    before = snapshot(ctx, sub)
    sub.cancel_reason = offer.reason
    sub.cancel_feedback = offer.feedback
    sub.cancel_at_period_end = False  # the customer stays: a pending cancel is withdrawn
    sub.canceled_at = None
    if offer.type == "pause":
        pause_subscription(ctx, sub.id, pause_months=offer.pause_months or 1, offer_id=offer.id)
        return sub
    sub.discount = {
        "source": "retention_offer",
        "code": offer.id,
        "percent_off": str(offer.discount_percent),
        "amount_off": None,
        "currency": None,
        "periods_remaining": None,
        "months_remaining": offer.duration_months,
        "then": sub.discount,  # the customer's own discount resumes afterwards
    }
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_UPDATED,
        action="subscription.accept_offer",
        before=before,
        extra={"offer_id": offer.id},
    )
    return sub


def reactivate_subscription(ctx: Context, subscription_id: str) -> Subscription:
    """Before the end: clear ``cancel_at_period_end``. After cancellation: a new period
    on the same plan starts now (replacing a default-plan fallback)."""
    require_full_access(ctx, "reactivate subscriptions")
    sub = load(ctx, subscription_id)
    before = snapshot(ctx, sub)
    if sub.status in LIVE and sub.cancel_at_period_end:
        sub.cancel_at_period_end = False
        sub.canceled_at = None
        emit(ctx, sub, events.SUBSCRIPTION_UPDATED, action="subscription.reactivate", before=before)
        return sub
    if sub.status != CANCELED:
        raise InvalidTransition(
            f"cannot reactivate a subscription that is {sub.status}"
            + (" and not set to cancel" if sub.status in LIVE else ""),
            status_from=sub.status,
        )
    repo = SubscriptionRepository(ctx)
    repo.lock_customer(sub.customer_id)
    now = now_for(ctx, sub)
    live = repo.live_for_customer(sub.customer_id, LIVE)
    default = default_plan(ctx)
    if not subscription_settings(ctx).allow_multiple_subscriptions:
        blocking = [s for s in live if default is None or s.plan_id != default.id]
        if blocking:
            raise Conflict(f"the customer already has a live subscription ({blocking[0].id})")
        for fallback in live:
            end_replaced(ctx, fallback, now)
    plan = get_plan(ctx, sub.plan_code)
    ensure_metrics_free(ctx, sub.customer_id, plan, sub.currency, field="plan_id", excluding=sub.id)
    sub.status = apply("reactivate", sub.status)
    sub.canceled_at = sub.ended_at = None
    sub.cancel_reason = sub.cancel_feedback = None
    plan_schedule = new_schedule(ctx, sub, now)
    charges = open_period(ctx, sub, Period(now, plan_schedule.next_boundary(now)), plan_schedule)
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_REACTIVATED,
        action="subscription.reactivate",
        before=before,
        charges=charges,
    )
    return sub
