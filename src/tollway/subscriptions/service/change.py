"""Plan changes: now with proration to the second, or at period end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tollway.catalog import Plan
from tollway.kernel.access import require_full_access
from tollway.kernel.context import Context
from tollway.kernel.errors import InvalidTransition, ValidationFailed
from tollway.subscriptions import events, proration
from tollway.subscriptions.models import Subscription, SubscriptionCharge
from tollway.subscriptions.periods import Period
from tollway.subscriptions.schemas import SubscriptionChange
from tollway.subscriptions.service.common import (
    add_charge,
    annualized,
    emit,
    load,
    new_schedule,
    now_for,
    open_period,
    plan_price,
    snapshot,
)
from tollway.subscriptions.service.create import plan_for_change
from tollway.subscriptions.service.credits import (
    addon_credits,
    applies_to_plan,
    closed_period,
    discount_share,
    paid_span,
    period_discount,
    unused,
)
from tollway.subscriptions.service.meters import ensure_metrics_free
from tollway.subscriptions.states import ACTIVE, PAST_DUE, TRIALING, require_status


@dataclass
class ChangeResult:
    """The changed subscription and the charges the change made billable."""

    subscription: Subscription
    lines: list[SubscriptionCharge]

    @property
    def net(self) -> int:
        return sum(line.amount for line in self.lines)


def change_plan(ctx: Context, subscription_id: str, data: SubscriptionChange) -> ChangeResult:
    """Move to another plan or cycle. Immediate changes prorate the rest of the period
    (``prorate``) and interval changes restart it; scheduled ones wait for period end.
    Unless ``immediate`` says, upgrades apply now and downgrades at period end."""
    require_full_access(ctx, "change subscriptions")
    sub = load(ctx, subscription_id)
    require_status(sub.status, frozenset({TRIALING, ACTIVE, PAST_DUE}), action="change")
    plan = plan_for_change(ctx, data.new_plan_id)
    cycle = data.billing_cycle or sub.billing_cycle
    amount = plan_price(plan, cycle, sub.currency, data.price_override, field="new_plan_id")
    if plan.id == sub.plan_id and cycle == sub.billing_cycle and amount == sub.amount:
        raise ValidationFailed.field("new_plan_id", "the subscription is already on this plan")
    ensure_metrics_free(
        ctx, sub.customer_id, plan, sub.currency, field="new_plan_id", excluding=sub.id
    )
    interval_change = cycle != sub.billing_cycle
    immediate = data.immediate
    if immediate is None:
        upgrade = annualized(amount, cycle) >= annualized(sub.amount, sub.billing_cycle)
        lifetime = sub.current_period_end is None
        immediate = upgrade or interval_change or sub.status == TRIALING or lifetime
    before = snapshot(ctx, sub)
    closed = None
    if interval_change and sub.status != TRIALING:
        closed = {"closed_period": closed_period(sub, now_for(ctx, sub))}
    if not immediate:
        if sub.current_period_end is None:
            raise InvalidTransition("a lifetime subscription has no period end to wait for")
        sub.pending_change = {
            "plan_id": plan.code,
            "billing_cycle": cycle,
            "amount": amount,
            "effective_at": sub.current_period_end.isoformat(),
            "price_override": data.price_override,
        }
        emit(
            ctx,
            sub,
            events.SUBSCRIPTION_UPDATED,
            action="subscription.schedule_change",
            before=before,
        )
        return ChangeResult(sub, [])
    lines = apply_change_now(
        ctx,
        sub,
        plan,
        cycle=cycle,
        amount=amount,
        price_override=data.price_override,
        prorate=data.prorate,
    )
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_UPDATED,
        action="subscription.change",
        before=before,
        charges=lines,
        extra=closed,
    )
    return ChangeResult(sub, lines)


def apply_change_now(
    ctx: Context,
    sub: Subscription,
    plan: Plan,
    *,
    cycle: str,
    amount: int,
    price_override: int | None,
    prorate: bool,
) -> list[SubscriptionCharge]:
    """Swap the plan now; returns the charges made (proration and, for an interval
    change, the new period's fee). Proration divides by the span the period was
    priced on and carries the discount its fee was billed with; a lifetime to
    lifetime change charges the price difference (a cheaper one credits nothing)."""
    now = now_for(ctx, sub)
    old_label = f"{sub.plan_code} ({sub.billing_cycle})"
    old_amount, old_end = sub.amount, sub.current_period_end
    interval_change = cycle != sub.billing_cycle
    trialing = sub.status == TRIALING
    paid_discount = None if trialing else period_discount(ctx, sub)
    new_discount = paid_discount if applies_to_plan(ctx, paid_discount, plan.code) else None
    lines: list[SubscriptionCharge] = []
    if prorate and not trialing and old_end is not None:
        span = paid_span(ctx, sub)
        assert span.end is not None
        at = max(now, sub.current_period_start)
        if at < old_end:
            if interval_change:
                credit, _ = unused(ctx, sub, old_amount, now)
                changes = [
                    proration.ProrationLine(f"Unused time on {old_label}", -credit, at, old_end)
                ]
            else:
                changes = proration.change_lines(
                    old_amount=old_amount,
                    new_amount=amount,
                    start=span.start,
                    end=span.end,
                    at=at,
                    old_label=old_label,
                    new_label=f"{plan.code} ({cycle})",
                )
            for line in changes:
                if line.amount:
                    discount = (
                        discount_share(paid_discount, line.amount, old_amount)
                        if line.amount < 0
                        else discount_share(new_discount, line.amount, amount)
                    )
                    lines.append(_line(ctx, sub, line, discount))
        if interval_change:
            lines += addon_credits(ctx, sub, now, kind="addon_proration", reason="cycle change")
    elif prorate and not trialing and not interval_change and amount > old_amount:
        # lifetime to a dearer lifetime: the difference, once
        label = f"Upgrade from {old_label} to {plan.code} ({cycle})"
        line = proration.ProrationLine(label, amount - old_amount, now, now)
        lines.append(_line(ctx, sub, line, new_discount, open_ended=True))
    sub.plan_id, sub.plan_code, sub.billing_cycle = plan.id, plan.code, cycle
    sub.amount, sub.price_override = amount, price_override
    sub.pending_change = None
    drop_excluded_coupon(ctx, sub)
    if trialing or not interval_change:
        return lines
    plan_schedule = new_schedule(ctx, sub, now)
    lines += open_period(ctx, sub, Period(now, plan_schedule.next_boundary(now)), plan_schedule)
    return lines


def drop_excluded_coupon(ctx: Context, sub: Subscription) -> None:
    """A coupon restricted to other plans stops applying after a plan change (also
    when it waits under a retention offer's discount)."""
    discount = sub.discount
    if discount is None:
        return
    if not applies_to_plan(ctx, discount, sub.plan_code):
        sub.discount = None
    elif discount.get("then") is not None and not applies_to_plan(
        ctx, discount["then"], sub.plan_code
    ):
        sub.discount = {**discount, "then": None}


def _line(
    ctx: Context,
    sub: Subscription,
    line: proration.ProrationLine,
    discount: dict[str, Any] | None,
    *,
    open_ended: bool = False,
) -> SubscriptionCharge:
    return add_charge(
        ctx,
        sub,
        kind="proration",
        description=line.description,
        amount=line.amount,
        start=line.period_start,
        end=None if open_ended else line.period_end,
        discount=discount,
    )


def apply_pending_change(ctx: Context, sub: Subscription, at: datetime) -> bool:
    """At period end, apply a scheduled change (no proration); whether there was one."""
    pending = sub.pending_change
    if pending is None:
        return False
    sub.pending_change = None
    try:
        plan = plan_for_change(ctx, pending["plan_id"])
    except ValidationFailed:
        return False  # the plan was archived meanwhile: stay on the current one
    cycle_changed = pending["billing_cycle"] != sub.billing_cycle
    sub.plan_id, sub.plan_code = plan.id, plan.code
    sub.billing_cycle, sub.amount = pending["billing_cycle"], pending["amount"]
    sub.price_override = pending.get("price_override")
    drop_excluded_coupon(ctx, sub)
    if cycle_changed:
        new_schedule(ctx, sub, at)
    return True
