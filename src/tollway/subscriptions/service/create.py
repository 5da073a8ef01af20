"""Creating subscriptions, and the fall back to the product's default plan."""

from __future__ import annotations

from datetime import datetime, timedelta

from tollway.catalog import Coupon, Plan, default_plan, get_coupon, get_plan
from tollway.customers import Customer, get_customer, get_customer_by_id, lock_currency
from tollway.kernel.access import require_full_access
from tollway.kernel.clock import ensure_utc
from tollway.kernel.context import Context
from tollway.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from tollway.kernel.ids import new_id
from tollway.subscriptions import events
from tollway.subscriptions.models import Subscription
from tollway.subscriptions.periods import Period, add_days
from tollway.subscriptions.repository import SubscriptionRepository
from tollway.subscriptions.schemas import SubscriptionCreate
from tollway.subscriptions.service.common import (
    emit,
    new_schedule,
    open_period,
    plan_price,
    schedule_trial_jobs,
    snapshot,
)
from tollway.subscriptions.service.credits import closed_period
from tollway.subscriptions.service.meters import ensure_metrics_free
from tollway.subscriptions.settings import subscription_settings
from tollway.subscriptions.states import ACTIVE, CANCELED, LIVE, TRIALING


def create_subscription(ctx: Context, data: SubscriptionCreate) -> Subscription:
    """Subscribe a customer to a plan: ``trialing`` when a trial applies, else ``active``
    with its first period billed in advance. One live subscription per customer
    unless the product allows several (a default-plan fallback is replaced)."""
    require_full_access(ctx, "create subscriptions")
    customer = get_customer(ctx, data.customer_id)
    repo = SubscriptionRepository(ctx)
    repo.lock_customer(customer.id)
    lock_currency(ctx, customer)
    plan = _plan(ctx, data.plan_id)
    now = ctx.now(customer.test_clock_id)
    start = ensure_utc(data.start_at) if data.start_at is not None else now
    errors: list[FieldError] = []
    if start < now - timedelta(days=1):
        errors.append(FieldError("start_at", "may not be more than a day in the past"))
    amount = plan_price(plan, data.billing_cycle, customer.currency, data.price_override)
    coupon = (
        _coupon(ctx, data.coupon_code, plan, now, customer.currency) if data.coupon_code else None
    )
    if errors:
        raise ValidationFailed(errors)
    _replace_fallback(ctx, customer, now)
    ensure_metrics_free(ctx, customer.id, plan, customer.currency, field="plan_id")
    trial_days = data.trial_days if data.trial_days is not None else plan.trial_days
    sub = new_subscription(
        ctx,
        customer,
        plan,
        cycle=data.billing_cycle,
        amount=amount,
        start=start,
        trial_days=trial_days,
        price_override=data.price_override,
        payment_method_id=data.payment_method_id,
    )
    if coupon is not None:
        coupon.times_redeemed += 1
        sub.coupon_code = coupon.code
        sub.discount = {
            "source": "coupon",
            "code": coupon.code,
            "percent_off": str(coupon.percent_off) if coupon.percent_off is not None else None,
            "amount_off": coupon.amount_off,
            "currency": coupon.currency,
            "periods_remaining": 1 if coupon.duration == "once" else None,
            "months_remaining": (
                coupon.duration_months if coupon.duration == "repeating" else None
            ),
        }
    return start_subscription(ctx, sub, customer)


def new_subscription(
    ctx: Context,
    customer: Customer,
    plan: Plan,
    *,
    cycle: str,
    amount: int,
    start: datetime,
    trial_days: int,
    price_override: int | None = None,
    payment_method_id: str | None = None,
    fallback_of: str | None = None,
) -> Subscription:
    """A subscription row, not yet started (see :func:`start_subscription`)."""
    trial_end = add_days(start, trial_days, customer.timezone) if trial_days else None
    sub = Subscription(
        id=new_id("sub"),
        product_id=ctx.product_id,
        customer_id=customer.id,
        customer_external_id=customer.external_id,
        test_clock_id=customer.test_clock_id,
        plan_id=plan.id,
        plan_code=plan.code,
        billing_cycle=cycle,
        status=TRIALING if trial_end else ACTIVE,
        currency=customer.currency,
        amount=amount,
        price_override=price_override,
        billing_mode="anniversary",
        billing_anchor=trial_end or start,
        start_at=start,
        trial_start=start if trial_end else None,
        trial_end=trial_end,
        current_period_start=start,
        current_period_end=trial_end,
        cancel_at_period_end=False,
        payment_method_id=payment_method_id,
        fallback_of=fallback_of,
        created_at=ctx.now(customer.test_clock_id),
        updated_at=ctx.now(customer.test_clock_id),
    )
    SubscriptionRepository(ctx).add(sub)
    return sub


def start_subscription(ctx: Context, sub: Subscription, customer: Customer) -> Subscription:
    """Open the first period (or the trial), schedule its jobs, emit ``created``."""
    charges = None
    if sub.status == TRIALING:
        schedule_trial_jobs(ctx, sub)
    else:
        plan_schedule = new_schedule(ctx, sub, sub.start_at)
        end = plan_schedule.next_boundary(sub.start_at)
        charges = open_period(ctx, sub, Period(sub.start_at, end), plan_schedule)
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_CREATED,
        action="subscription.create",
        before=None,
        charges=charges or [],
    )
    return sub


def fall_back_to_default(ctx: Context, ended: Subscription) -> Subscription | None:
    """Put the customer of an ended subscription on the product's default plan, when
    there is one and the customer has no other live subscription."""
    plan = default_plan(ctx)
    if plan is None or plan.id == ended.plan_id:
        return None
    repo = SubscriptionRepository(ctx)
    if repo.live_for_customer(ended.customer_id, LIVE):
        return None
    customer = get_customer_by_id(ctx, ended.customer_id)
    cycle = "monthly"
    intervals = [p["interval"] for p in plan.prices]
    if intervals and "monthly" not in intervals:
        cycle = intervals[0]
    amount = plan.price_for(cycle, customer.currency)
    if not plan.sold_in(customer.currency) or (
        amount is None and any(p["amount"] for p in plan.prices)
    ):
        return None  # a paid default plan not sold in the customer's currency is no fallback
    sub = new_subscription(
        ctx,
        customer,
        plan,
        cycle=cycle,
        amount=amount or 0,
        start=ctx.now(customer.test_clock_id),
        trial_days=0,
        fallback_of=ended.id,
    )
    return start_subscription(ctx, sub, customer)


def _replace_fallback(ctx: Context, customer: Customer, now: datetime) -> None:
    """Refuse a second live subscription, unless allowed; end a default-plan fallback."""
    live = SubscriptionRepository(ctx).live_for_customer(customer.id, LIVE)
    if not live or subscription_settings(ctx).allow_multiple_subscriptions:
        return
    default = default_plan(ctx)
    replaceable = [s for s in live if default is not None and s.plan_id == default.id]
    if len(replaceable) != len(live):
        raise Conflict(
            f"customer {customer.external_id!r} already has a live subscription "
            f"({live[0].id}); change it instead, or allow several in the product settings",
            param="customer_id",
        )
    for sub in replaceable:
        end_replaced(ctx, sub, now)


def end_replaced(ctx: Context, sub: Subscription, now: datetime) -> None:
    """Cancel a default-plan subscription that a paid one replaces."""
    before = snapshot(ctx, sub)
    end = sub.current_period_end
    closed = closed_period(sub, now if end is None else min(now, end))
    sub.status = CANCELED
    sub.canceled_at = now
    sub.ended_at = now
    sub.cancel_reason = "replaced"
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_CANCELED,
        action="subscription.cancel",
        before=before,
        extra={"closed_period": closed},
    )


def _plan(ctx: Context, code: str, field: str = "plan_id") -> Plan:
    try:
        plan = get_plan(ctx, code)
    except NotFound:
        raise ValidationFailed.field(field, f"unknown plan {code!r}") from None
    if not plan.active:
        raise ValidationFailed.field(field, f"plan {code!r} is archived")
    return plan


def _coupon(ctx: Context, code: str, plan: Plan, now: datetime, currency: str) -> Coupon:
    try:
        coupon = get_coupon(ctx, code)
    except NotFound:
        raise ValidationFailed.field("coupon_code", f"unknown coupon {code!r}") from None
    SubscriptionRepository(ctx).lock(coupon)  # redemptions count under concurrency
    problem: str | None = None
    if not coupon.active:
        problem = "is no longer active"
    elif coupon.expires_at is not None and coupon.expires_at <= now:
        problem = "has expired"
    elif coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        problem = "has reached its maximum redemptions"
    elif coupon.plan_codes and plan.code not in coupon.plan_codes:
        problem = f"does not apply to plan {plan.code!r}"
    elif coupon.amount_off is not None and coupon.currency != currency:
        problem = f"is in {coupon.currency}, the customer pays in {currency}"
    if problem is not None:
        raise ValidationFailed.field("coupon_code", f"coupon {code!r} {problem}")
    return coupon


def plan_for_change(ctx: Context, code: str) -> Plan:
    """An active plan to change to, or 422 naming ``new_plan_id``."""
    return _plan(ctx, code, "new_plan_id")
