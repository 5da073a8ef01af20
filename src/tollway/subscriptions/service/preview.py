"""What the next renewal will bill, computed by the renewal itself and undone."""

from __future__ import annotations

from sqlalchemy import inspect

from tollway.kernel.context import Context
from tollway.subscriptions.models import SubscriptionCharge
from tollway.subscriptions.repository import SubscriptionRepository
from tollway.subscriptions.service.common import load
from tollway.subscriptions.service.timeline import renew


def _detached(charge: SubscriptionCharge) -> SubscriptionCharge:
    columns = inspect(SubscriptionCharge).columns
    return SubscriptionCharge(**{c.key: getattr(charge, c.key) for c in columns})


def renewal_charges(ctx: Context, subscription_id: str) -> list[SubscriptionCharge]:
    """The charges the renewal at the end of the current period would record (its fee
    with the discount it would take, recurring add-ons, a scheduled change applied),
    as unsaved rows: the renewal runs in a savepoint that is rolled back, so nothing
    is written. None for a subscription that does not renew (trialing, paused,
    canceled, lifetime) or is set to cancel at period end."""
    sub = load(ctx, subscription_id, lock=False)
    end = sub.current_period_end
    if end is None:
        return []
    repo = SubscriptionRepository(ctx)
    known = {c.id for c in repo.charges(subscription_id=sub.id)}
    savepoint = ctx.session.begin_nested()
    try:
        renew(ctx, sub.id, end)
        ctx.session.flush()
        made = [_detached(c) for c in repo.charges(subscription_id=sub.id) if c.id not in known]
    finally:
        savepoint.rollback()
    return made
