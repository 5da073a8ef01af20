"""Add-ons on a subscription: recurring ones renew with it (prorated when added or
changed mid-period), one-off ones are billed once."""

from __future__ import annotations

from datetime import datetime

from tollway.catalog import AddOn, get_addon
from tollway.kernel.access import require_full_access
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound, ValidationFailed
from tollway.kernel.ids import new_id
from tollway.subscriptions import events
from tollway.subscriptions.models import Subscription, SubscriptionAddOn, SubscriptionCharge
from tollway.subscriptions.repository import SubscriptionRepository
from tollway.subscriptions.schemas import AddOnAttach
from tollway.subscriptions.service.common import (
    add_charge,
    addon_period_amount,
    emit,
    load,
    now_for,
    snapshot,
)
from tollway.subscriptions.service.credits import unused
from tollway.subscriptions.states import ACTIVE, PAST_DUE, TRIALING, require_status

_CHANGEABLE = frozenset({TRIALING, ACTIVE, PAST_DUE})


def set_addon(ctx: Context, subscription_id: str, data: AddOnAttach) -> Subscription:
    """Add an add-on, or set the quantity of one already on the subscription. A recurring
    add-on's change is prorated for the rest of the period; a one-off is billed now."""
    require_full_access(ctx, "change subscription add-ons")
    sub = load(ctx, subscription_id)
    require_status(sub.status, _CHANGEABLE, action="add add-ons to")
    try:
        addon = get_addon(ctx, data.addon_id)
    except NotFound:
        raise ValidationFailed.field("addon_id", f"unknown add-on {data.addon_id!r}") from None
    if not addon.active:
        raise ValidationFailed.field("addon_id", f"add-on {addon.code!r} is archived")
    if addon.currency != sub.currency:
        raise ValidationFailed.field(
            "addon_id", f"add-on {addon.code!r} is priced in {addon.currency}, not {sub.currency}"
        )
    if addon.interval != "one_time" and sub.billing_cycle == "lifetime":
        raise ValidationFailed.field(
            "addon_id", "a recurring add-on cannot be added to a lifetime subscription"
        )
    before = snapshot(ctx, sub)
    now = now_for(ctx, sub)
    repo = SubscriptionRepository(ctx)
    current = next(
        (a for a in repo.addons(sub.id) if a.addon_code == addon.code and a.removed_at is None),
        None,
    )
    charges: list[SubscriptionCharge] = []
    if addon.interval == "one_time":
        charges.append(
            add_charge(
                ctx,
                sub,
                kind="addon_one_time",
                description=f"{addon.code} x {data.quantity}",
                amount=addon.amount * data.quantity,
                start=now,
                end=None,
                addon_code=addon.code,
                quantity=data.quantity,
            )
        )
        # Billed once: removed at once, so it is not carried into later periods.
        repo.add(_addon_row(ctx, sub, addon, data.quantity, now, removed_at=now))
    else:
        old_quantity = current.quantity if current is not None else 0
        if current is None:
            current = _addon_row(ctx, sub, addon, data.quantity, now, removed_at=None)
            repo.add(current)
        else:
            current.quantity = data.quantity
            current.updated_at = now
        charge = _prorated_delta(ctx, sub, current, data.quantity - old_quantity)
        if charge is not None:
            charges.append(charge)
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_UPDATED,
        action="subscription.set_addon",
        before=before,
        charges=charges,
    )
    return sub


def remove_addon(ctx: Context, subscription_id: str, addon_code: str) -> Subscription:
    """Take a recurring add-on off; its unused time is credited."""
    require_full_access(ctx, "change subscription add-ons")
    sub = load(ctx, subscription_id)
    require_status(sub.status, _CHANGEABLE, action="remove add-ons from")
    repo = SubscriptionRepository(ctx)
    current = next(
        (a for a in repo.addons(sub.id) if a.addon_code == addon_code and a.removed_at is None),
        None,
    )
    if current is None:
        raise NotFound(f"add-on {addon_code!r} is not on the subscription", param="addon_id")
    before = snapshot(ctx, sub)
    now = now_for(ctx, sub)
    charge = _prorated_delta(ctx, sub, current, -current.quantity)
    current.removed_at = now
    current.updated_at = now
    emit(
        ctx,
        sub,
        events.SUBSCRIPTION_UPDATED,
        action="subscription.remove_addon",
        before=before,
        charges=[charge] if charge is not None else [],
    )
    return sub


def _prorated_delta(
    ctx: Context, sub: Subscription, addon: SubscriptionAddOn, delta: int
) -> SubscriptionCharge | None:
    """The charge (or credit) for ``delta`` more units for the rest of the period."""
    if delta == 0 or sub.status == TRIALING or sub.current_period_end is None:
        return None
    now = now_for(ctx, sub)
    end = sub.current_period_end
    full = addon_period_amount(addon.unit_amount, abs(delta), addon.interval, sub.billing_cycle)
    amount, at = unused(ctx, sub, full, now)
    if amount == 0:
        return None
    sign = 1 if delta > 0 else -1
    verb = "Added" if delta > 0 else "Removed"
    return add_charge(
        ctx,
        sub,
        kind="addon_proration",
        description=f"{verb} {abs(delta)} x {addon.addon_code} for the rest of the period",
        amount=sign * amount,
        start=at,
        end=end,
        addon_code=addon.addon_code,
        quantity=abs(delta),
    )


def _addon_row(
    ctx: Context,
    sub: Subscription,
    addon: AddOn,
    quantity: int,
    now: datetime,
    *,
    removed_at: datetime | None,
) -> SubscriptionAddOn:
    """A subscription's add-on line at the add-on's current price."""
    return SubscriptionAddOn(
        id=new_id("sad"),
        product_id=ctx.product_id,
        subscription_id=sub.id,
        addon_id=addon.id,
        addon_code=addon.code,
        interval=addon.interval,
        quantity=quantity,
        unit_amount=addon.amount,
        currency=addon.currency,
        created_at=now,
        updated_at=now,
        removed_at=removed_at,
    )
