"""What the subscription use cases share: loading, snapshots, events, periods, charges."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tollway.catalog import Plan
from tollway.customers import Customer, get_customer_by_id
from tollway.kernel.audit import audit
from tollway.kernel.context import Context
from tollway.kernel.errors import FieldError, NotFound, ValidationFailed
from tollway.kernel.ids import new_id
from tollway.kernel.jobs import enqueue
from tollway.kernel.money import round_minor
from tollway.kernel.outbox import record_event
from tollway.subscriptions import periods
from tollway.subscriptions.models import Subscription, SubscriptionCharge
from tollway.subscriptions.periods import CYCLE_MONTHS, Period, Schedule
from tollway.subscriptions.proration import prorate
from tollway.subscriptions.repository import SubscriptionRepository
from tollway.subscriptions.schemas import ChargeOut, SubscriptionOut
from tollway.subscriptions.settings import subscription_settings

RENEW = "subscriptions.renew"
TRIAL_WILL_END = "subscriptions.trial_will_end"
TRIAL_END = "subscriptions.trial_end"
RESUME = "subscriptions.resume"

ADDON_MONTHS = {"monthly": 1, "annual": 12}


def load(ctx: Context, subscription_id: str, *, lock: bool = True) -> Subscription:
    """The subscription, locked for update; 404 when absent or out of the caller's scope."""
    sub = SubscriptionRepository(ctx).by_id(subscription_id, lock=lock)
    if sub is None:
        raise NotFound(f"subscription {subscription_id!r} not found", param="id")
    return sub


def customer_of(ctx: Context, sub: Subscription) -> Customer:
    return get_customer_by_id(ctx, sub.customer_id)


def now_for(ctx: Context, sub: Subscription) -> datetime:
    """Now on the subscription's customer's clock."""
    return ctx.now(sub.test_clock_id)


def out(ctx: Context, sub: Subscription) -> SubscriptionOut:
    return SubscriptionOut.of(sub, SubscriptionRepository(ctx).addons(sub.id))


def snapshot(ctx: Context, sub: Subscription) -> dict[str, Any]:
    ctx.session.flush()
    data: dict[str, Any] = out(ctx, sub).model_dump(mode="json")
    return data


def plan_price(
    plan: Plan, cycle: str, currency: str, override: int | None, *, field: str = "plan_id"
) -> int:
    """One period's price of ``plan`` on ``cycle`` in ``currency``, or 422.

    A plan without any price is free; a custom-priced plan needs ``price_override``;
    a plan with usage charges is sold only in their currencies.
    """
    if not plan.sold_in(currency):
        raise ValidationFailed(
            [
                FieldError(
                    field,
                    f"plan {plan.code!r} is not sold in {currency}: "
                    "its usage is priced in other currencies",
                )
            ]
        )
    if override is not None:
        return override
    amount = plan.price_for(cycle, currency)
    if amount is not None:
        return amount
    if not plan.prices and not plan.custom_pricing:
        return 0
    if plan.custom_pricing:
        raise ValidationFailed.field("price_override", f"plan {plan.code!r} is custom-priced")
    raise ValidationFailed(
        [FieldError(field, f"plan {plan.code!r} has no {cycle} price in {currency}")]
    )


def annualized(amount: int, cycle: str) -> Decimal:
    """A price per year, to compare plans across cycles (lifetime counts as one year)."""
    months = CYCLE_MONTHS[cycle] or 12
    return Decimal(amount) * 12 / months


def schedule(ctx: Context, sub: Subscription) -> Schedule:
    """The subscription's period schedule in its customer's time zone."""
    timezone = customer_of(ctx, sub).timezone
    months = CYCLE_MONTHS[sub.billing_cycle]
    return Schedule(anchor=sub.billing_anchor, timezone=timezone, months=months)


def new_schedule(ctx: Context, sub: Subscription, start: datetime) -> Schedule:
    """A fresh schedule starting at ``start`` (anniversary or calendar per the product);
    stores its anchor and billing mode on ``sub``."""
    settings = subscription_settings(ctx)
    timezone = customer_of(ctx, sub).timezone
    if settings.billing_mode == "calendar":
        plan = periods.calendar_billing(start, timezone, sub.billing_cycle, settings.billing_day)
    else:
        plan = periods.anniversary(start, timezone, sub.billing_cycle)
    sub.billing_mode = settings.billing_mode
    sub.billing_anchor = plan.anchor
    return plan


def add_charge(
    ctx: Context,
    sub: Subscription,
    *,
    kind: str,
    description: str,
    amount: int,
    start: datetime,
    end: datetime | None,
    addon_code: str | None = None,
    quantity: int = 1,
    discount: dict[str, Any] | None = None,
) -> SubscriptionCharge:
    """Record a billable amount of ``sub`` (negative: a credit) for invoicing."""
    charge = SubscriptionCharge(
        id=new_id("sch"),
        product_id=ctx.product_id,
        customer_id=sub.customer_id,
        subscription_id=sub.id,
        kind=kind,
        description=description,
        plan_code=sub.plan_code if addon_code is None else None,
        addon_code=addon_code,
        quantity=quantity,
        amount=amount,
        currency=sub.currency,
        period_start=start,
        period_end=end,
        discount=discount,
        invoice_id=None,
        created_at=now_for(ctx, sub),
    )
    ctx.session.add(charge)
    return charge


def take_discount(sub: Subscription) -> dict[str, Any] | None:
    """The discount for the period being opened (a snapshot), counting it down.

    ``periods_remaining`` counts periods (a ``once`` coupon); ``months_remaining``
    counts months: a period longer than what is left gets the discount pro rata
    (25% for 3 months on an annual period is 6.25% of the year). When it runs out,
    the discount it stood in for (``then``, e.g. a coupon under a retention offer)
    resumes."""
    if sub.discount is None:
        return None
    current = dict(sub.discount)
    after = current.pop("then", None)
    periods_left = current.get("periods_remaining")
    months_left = current.get("months_remaining")
    if periods_left is not None:
        left = periods_left - 1
        sub.discount = after if left <= 0 else {**sub.discount, "periods_remaining": left}
    elif months_left is not None:
        months = CYCLE_MONTHS[sub.billing_cycle]
        covered = min(months_left, months) if months else months_left
        if months and covered < months:
            share = Decimal(covered) / months
            if current.get("percent_off") is not None:
                current["percent_off"] = str(Decimal(current["percent_off"]) * share)
            if current.get("amount_off") is not None:
                current["amount_off"] = round_minor(Decimal(current["amount_off"]) * share)
        current["months_covered"] = covered
        left = months_left - covered
        sub.discount = after if left <= 0 else {**sub.discount, "months_remaining": left}
    return current


def addon_period_amount(unit_amount: int, quantity: int, interval: str, cycle: str) -> int:
    """A recurring add-on's price for one period of ``cycle``, rounded half-even."""
    months = CYCLE_MONTHS[cycle]
    return round_minor(Decimal(unit_amount * quantity) * months / ADDON_MONTHS[interval])


def open_period(
    ctx: Context, sub: Subscription, period: Period, plan_schedule: Schedule
) -> list[SubscriptionCharge]:
    """Start ``period`` on ``sub``: bill its fee in advance (prorated for a calendar
    stub), its recurring add-ons, and schedule the renewal at its end."""
    sub.current_period_start = period.start
    sub.current_period_end = period.end
    charges: list[SubscriptionCharge] = []
    amount = sub.amount
    full = plan_schedule.period_at(period.start)
    stub = period.end is not None and full.end is not None and full.start != period.start
    if stub:
        amount = _prorated(amount, full, period.start)
    if amount:
        label = f"{sub.plan_code} ({sub.billing_cycle})" + (" prorated" if stub else "")
        charges.append(
            add_charge(
                ctx,
                sub,
                kind="plan",
                description=label,
                amount=amount,
                start=period.start,
                end=period.end,
                discount=take_discount(sub),
            )
        )
    for addon in SubscriptionRepository(ctx).addons(sub.id):
        if addon.removed_at is not None or addon.interval == "one_time":
            continue
        fee = addon_period_amount(
            addon.unit_amount, addon.quantity, addon.interval, sub.billing_cycle
        )
        if stub:
            fee = _prorated(fee, full, period.start)
        if fee:
            charges.append(
                add_charge(
                    ctx,
                    sub,
                    kind="addon",
                    description=f"{addon.addon_code} x {addon.quantity}",
                    amount=fee,
                    start=period.start,
                    end=period.end,
                    addon_code=addon.addon_code,
                    quantity=addon.quantity,
                )
            )
    schedule_renewal(ctx, sub)
    return charges


def _prorated(amount: int, full: Period, start: datetime) -> int:
    if full.end is None:
        return amount
    return prorate(amount, full.start, full.end, start)


def schedule_renewal(ctx: Context, sub: Subscription) -> None:
    """A renewal job at the end of the current period (none for lifetime)."""
    end = sub.current_period_end
    if end is None:
        return
    enqueue(
        ctx,
        RENEW,
        {"subscription_id": sub.id, "period_end": end.isoformat()},
        due_at=end,
        test_clock_id=sub.test_clock_id,
        dedup_key=f"sub-renew:{sub.id}:{end.isoformat()}",
    )


def schedule_trial_jobs(ctx: Context, sub: Subscription) -> None:
    """``trial_will_end`` some days before the trial ends, and the trial's end itself."""
    end = sub.trial_end
    if end is None:
        return
    days = subscription_settings(ctx).trial_will_end_days
    payload = {"subscription_id": sub.id, "trial_end": end.isoformat()}
    warn_at = end - timedelta(days=days)
    if days and warn_at > now_for(ctx, sub):
        enqueue(
            ctx,
            TRIAL_WILL_END,
            payload,
            due_at=warn_at,
            test_clock_id=sub.test_clock_id,
            dedup_key=f"sub-trial-warn:{sub.id}:{end.isoformat()}",
        )
    enqueue(
        ctx,
        TRIAL_END,
        payload,
        due_at=end,
        test_clock_id=sub.test_clock_id,
        dedup_key=f"sub-trial-end:{sub.id}:{end.isoformat()}",
    )


def billing(sub: Subscription, charges: list[SubscriptionCharge]) -> dict[str, Any]:
    """What invoicing needs about the period just opened or changed."""
    return {
        "subscription_id": sub.id,
        "customer_id": sub.customer_id,
        "customer_external_id": sub.customer_external_id,
        "plan_code": sub.plan_code,
        "billing_cycle": sub.billing_cycle,
        "amount": sub.amount,
        "currency": sub.currency,
        "period_start": sub.current_period_start.isoformat(),
        "period_end": sub.current_period_end.isoformat() if sub.current_period_end else None,
        "discount": next((c.discount for c in charges if c.discount is not None), None),
        "charges": [ChargeOut.of(c).model_dump(mode="json") for c in charges],
    }


def emit(
    ctx: Context,
    sub: Subscription,
    event_type: str,
    *,
    action: str,
    before: dict[str, Any] | None,
    charges: list[SubscriptionCharge] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Audit the change and record ``event_type`` with the subscription's snapshot,
    ``previous_attributes`` and, when charges were made, the ``billing`` block."""
    sub.updated_at = now_for(ctx, sub)
    after = snapshot(ctx, sub)
    audit(
        ctx,
        action,
        subject_type="subscription",
        subject_id=sub.id,
        before=before,
        after=after,
        customer_id=sub.customer_id,
        test_clock_id=sub.test_clock_id,
    )
    data: dict[str, Any] = {**after, **(extra or {})}
    if before is not None:
        data["previous_attributes"] = {
            k: before[k] for k in after if k not in ("updated_at",) and before.get(k) != after[k]
        }
    if charges is not None:
        data["billing"] = billing(sub, charges)
    record_event(
        ctx, event_type, data, customer_id=sub.customer_id, test_clock_id=sub.test_clock_id
    )
    return data
