"""Crediting and charging part of the current period: what was paid for it, its
discount, its recurring add-ons, and the usage window a transition closes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from tollway.catalog import get_coupon
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound
from tollway.kernel.money import round_minor
from tollway.subscriptions import proration
from tollway.subscriptions.models import Subscription, SubscriptionCharge
from tollway.subscriptions.periods import Period
from tollway.subscriptions.repository import SubscriptionRepository
from tollway.subscriptions.service.common import add_charge, addon_period_amount, schedule


def paid_span(ctx: Context, sub: Subscription) -> Period:
    """The full scheduled period the current one was priced against.

    A calendar stub ``[start, boundary)`` was billed as its share of the whole
    scheduled period, so its credits and charges divide by that same span."""
    end = sub.current_period_end
    if end is None:
        return Period(sub.current_period_start, None)
    full = schedule(ctx, sub).period_at(sub.current_period_start)
    if full.end != end or full.start > sub.current_period_start:
        return Period(sub.current_period_start, end)  # not on the schedule: its own span
    return full


def unused(ctx: Context, sub: Subscription, amount: int, now: datetime) -> tuple[int, datetime]:
    """``amount`` (a full period's price) for the part of the current period left
    after ``now`` (a period not yet started counts whole), and where that part starts.
    Zero for a lifetime period or one already over."""
    span = paid_span(ctx, sub)
    at = max(now, sub.current_period_start)
    if span.end is None or at >= span.end:
        return 0, at
    return proration.prorate(amount, span.start, span.end, at), at


def period_discount(ctx: Context, sub: Subscription) -> dict[str, Any] | None:
    """The discount snapshotted on the current period's plan charge (what was paid)."""
    for charge in reversed(SubscriptionRepository(ctx).charges(subscription_id=sub.id)):
        if charge.kind == "plan" and charge.period_start == sub.current_period_start:
            return charge.discount
    return None


def discount_share(discount: dict[str, Any] | None, amount: int, fee: int) -> dict[str, Any] | None:
    """The discount of a line that is ``amount`` of a period's ``fee`` (a proration,
    an unused-time credit): ``percent_off`` as is, ``amount_off`` the same share of the
    period's, ``amount_off * |amount| / fee`` rounded half-even once (a 1000-off coupon
    on a 3000 fee takes 500 off a 1500 credit for half the period)."""
    if discount is None or discount.get("amount_off") is None or not fee:
        return discount
    share = round_minor(Decimal(discount["amount_off"]) * abs(amount) / abs(fee))
    return {**discount, "amount_off": share}


def applies_to_plan(ctx: Context, discount: dict[str, Any] | None, plan_code: str) -> bool:
    """Whether ``discount`` may apply to ``plan_code`` (a coupon's plan restriction)."""
    if discount is None or discount.get("source") != "coupon":
        return True
    try:
        coupon = get_coupon(ctx, discount["code"])
    except NotFound:
        return True
    return not coupon.plan_codes or plan_code in coupon.plan_codes


def addon_credits(
    ctx: Context, sub: Subscription, now: datetime, *, kind: str, reason: str
) -> list[SubscriptionCharge]:
    """Credits for the unused time of the recurring add-ons of the current period."""
    if sub.current_period_end is None:
        return []
    credits = []
    for addon in SubscriptionRepository(ctx).addons(sub.id):
        if addon.removed_at is not None or addon.interval == "one_time":
            continue
        fee = addon_period_amount(
            addon.unit_amount, addon.quantity, addon.interval, sub.billing_cycle
        )
        amount, at = unused(ctx, sub, fee, now)
        if amount:
            credits.append(
                add_charge(
                    ctx,
                    sub,
                    kind=kind,
                    description=f"Unused time on {addon.addon_code} x {addon.quantity}, {reason}",
                    amount=-amount,
                    start=at,
                    end=sub.current_period_end,
                    addon_code=addon.addon_code,
                    quantity=addon.quantity,
                )
            )
    return credits


def unused_time_credits(
    ctx: Context, sub: Subscription, now: datetime, *, kind: str, reason: str
) -> list[SubscriptionCharge]:
    """Credits for the unused paid time of the current period after ``now``: the plan
    fee (with the discount it was paid with) and each recurring add-on."""
    credits = []
    amount, at = unused(ctx, sub, sub.amount, now)
    if amount and sub.current_period_end is not None:
        credits.append(
            add_charge(
                ctx,
                sub,
                kind=kind,
                description=f"Unused time on {sub.plan_code} ({sub.billing_cycle}), {reason}",
                amount=-amount,
                start=at,
                end=sub.current_period_end,
                discount=discount_share(period_discount(ctx, sub), amount, sub.amount),
            )
        )
    return credits + addon_credits(ctx, sub, now, kind=kind, reason=reason)


def closed_period(sub: Subscription, end: datetime) -> dict[str, str]:
    """The usage window ``[current_period_start, end)`` a transition closes."""
    start = sub.current_period_start
    return {"period_start": start.isoformat(), "period_end": max(start, end).isoformat()}
