"""One price per meter per customer (as in Stripe): a metric is charged by at most
one live subscription of a customer, so its usage is burned and billed once."""

from __future__ import annotations

from tollway.catalog import Plan, charges_in, get_plan
from tollway.kernel.context import Context
from tollway.kernel.errors import Conflict
from tollway.subscriptions.models import Subscription
from tollway.subscriptions.repository import SubscriptionRepository
from tollway.subscriptions.states import LIVE


def charged_metrics(plan: Plan, currency: str) -> set[str]:
    """The metrics whose usage ``plan`` charges in ``currency``."""
    return {charge.metric for charge in charges_in(plan.charges, currency, plan.currency)}


def _plans_of(sub: Subscription) -> list[str]:
    """The plans a live subscription charges by: its own, and a scheduled change's."""
    pending = sub.pending_change
    return [sub.plan_code] + ([pending["plan_id"]] if pending else [])


def ensure_metrics_free(
    ctx: Context,
    customer_id: str,
    plan: Plan,
    currency: str,
    *,
    field: str,
    excluding: str | None = None,
) -> None:
    """409 naming ``field`` and the metric when another live subscription of the
    customer (not ``excluding``) charges a metric that ``plan`` charges. Takes the
    customer's subscription lock, so concurrent writes are judged one at a time."""
    wanted = charged_metrics(plan, currency)
    if not wanted:
        return
    repo = SubscriptionRepository(ctx)
    repo.lock_customer(customer_id)
    for other in repo.live_for_customer(customer_id, LIVE):
        if other.id == excluding:
            continue
        for code in _plans_of(other):
            taken = sorted(wanted & charged_metrics(get_plan(ctx, code), other.currency))
            if taken:
                raise Conflict(
                    f"metric {taken[0]!r} is already charged by subscription {other.id} "
                    f"(plan {code!r}); a metric is charged by one live subscription per "
                    "customer",
                    param=field,
                    metric=taken[0],
                )
