"""Plan allocations: a plan's ``included_credits`` granted at each period start,
burned live by the usage of the plan's charges, settled at the period's end.

An allocation pays usage only (never the subscription fee it comes with) and resets
each period: settling writes the burn as a ``consume`` entry (capped at the grant)
and expires the remainder. Invoicing, the ledger's expiry job and the event that
closes the period may each settle it; the first does, the others read the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tollway.catalog import get_plan
from tollway.customers import Customer, get_customer_by_id
from tollway.kernel.context import Context
from tollway.kernel.outbox import Event
from tollway.ledger.balance import SETTLE, by_grant, closed
from tollway.ledger.errors import CreditsExhausted
from tollway.ledger.models import CreditGrant
from tollway.ledger.repository import ALLOCATION, LedgerRepository
from tollway.ledger.schemas import CreditsSettings
from tollway.ledger.service.burn import allocation_charges, burned, rated
from tollway.ledger.service.common import (
    check_low_balance,
    credit_settings,
    expired_event,
    new_entry,
    positions,
    through,
)
from tollway.ledger.service.grants import grant_credits
from tollway.subscriptions import get_subscription

CONSUME = "consume"
OPEN_STATUSES = frozenset({"trialing", "active", "past_due"})
"""A period opened in these statuses gets its allocation (not paused nor ended ones)."""


@dataclass(frozen=True)
class Settlement:
    """A period's allocation: ``granted``, and how much of it the usage ``covered``."""

    granted: int
    covered: int
    currency: str


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def settle_allocation(
    ctx: Context, subscription_id: str, period_start: datetime, period_end: datetime
) -> Settlement:
    """Settle the allocation of the subscription's period starting at ``period_start``
    with the usage of ``[period_start, period_end)``: the burn (capped at the grant)
    becomes a ``consume`` entry and the remainder expires at ``period_end``.
    Idempotent: a settled allocation returns its settlement. No allocation: zeros."""
    grant = LedgerRepository(ctx).allocation(subscription_id, period_start, lock=True)
    if grant is None:
        return Settlement(0, 0, get_subscription(ctx, subscription_id).currency)
    return settle_grant(ctx, grant, period_end)


def preview_settlement(
    ctx: Context, subscription_id: str, period_start: datetime, period_end: datetime
) -> Settlement:
    """What :func:`settle_allocation` would answer now, writing nothing (for previews
    such as an upcoming invoice): a settled allocation's settlement, else the capped
    burn of ``[period_start, period_end)``."""
    grant = LedgerRepository(ctx).allocation(subscription_id, period_start)
    if grant is None:
        return Settlement(0, 0, get_subscription(ctx, subscription_id).currency)
    done = _settled(ctx, grant)
    if done is not None:
        return done
    customer = get_customer_by_id(ctx, grant.customer_id)
    return Settlement(grant.amount, burned(ctx, customer, grant, period_end), grant.currency)


def _settled(ctx: Context, grant: CreditGrant) -> Settlement | None:
    entries = LedgerRepository(ctx).entries([grant.id])
    if not any(e.kind == SETTLE for e in entries):
        return None
    covered = -sum(e.amount for e in entries if e.kind == CONSUME)
    return Settlement(grant.amount, covered, grant.currency)


def settle_grant(ctx: Context, grant: CreditGrant, end: datetime) -> Settlement:
    """Settle the (locked) allocation ``grant`` at ``end`` (at most its period's end)."""
    done = _settled(ctx, grant)
    if done is not None:
        return done
    if grant.period_end is not None:
        end = min(end, grant.period_end)
    end = max(end, grant.granted_at)
    customer = get_customer_by_id(ctx, grant.customer_id)
    covered = burned(ctx, customer, grant, end)
    repo = LedgerRepository(ctx)
    if covered:
        repo.add_keyed(new_entry(ctx, grant, CONSUME, -covered, end, key=f"burn:{grant.id}"))
    left = grant.amount - covered
    repo.add_keyed(new_entry(ctx, grant, SETTLE, -left, end, key=f"settle:{grant.id}"))
    if left:
        expired_event(ctx, customer, grant, left, end)
    check_low_balance(ctx, customer)
    return Settlement(grant.amount, covered, grant.currency)


def allocate_period(ctx: Context, billing: dict[str, Any]) -> CreditGrant | None:
    """Grant the plan's ``included_credits`` for the period of a ``billing`` block
    (idempotent by ``alloc:{subscription_id}:{period_start}``); an earlier allocation
    of the subscription still open is settled at the new period's start."""
    plan = get_plan(ctx, billing["plan_code"])
    start = _at(billing["period_start"])
    end = _at(billing["period_end"]) if billing.get("period_end") else None
    subscription_id = billing["subscription_id"]
    repo = LedgerRepository(ctx)
    for old in repo.allocations_of(subscription_id):
        if old.period_start is not None and old.period_start < start:
            settle_grant(ctx, repo.grant(old.id, lock=True) or old, start)
    if plan.included_credits <= 0:
        return None
    customer = get_customer_by_id(ctx, billing["customer_id"])
    return grant_credits(
        ctx,
        customer,
        amount=plan.included_credits,
        currency=billing["currency"],
        source=ALLOCATION,
        reason=f"{plan.code} included credits",
        expires_at=end,
        key=f"alloc:{subscription_id}:{start.isoformat()}",
        subscription_id=subscription_id,
        plan_code=plan.code,
        period=(start, end),
    )


def on_subscription_event(ctx: Context, event: Event) -> None:
    """Relay consumer: settle the allocation of a period the event closes, then
    allocate the period its ``billing`` block opens."""
    data = event.data
    window = data.get("closed_period")
    if window:
        settle_allocation(ctx, data["id"], _at(window["period_start"]), _at(window["period_end"]))
    billing = data.get("billing")
    if billing and data.get("status") in OPEN_STATUSES:
        allocate_period(ctx, billing)


def _open_allocations(ctx: Context, customer: Customer, now: datetime) -> list[CreditGrant]:
    """The customer's plan allocations open at ``now``, oldest first."""
    repo = LedgerRepository(ctx)
    grants = [
        g
        for g in repo.grants(customer.id, paying=False)
        if g.granted_at <= now and (g.expires_at is None or g.expires_at > now)
    ]
    index = by_grant(repo.entries([g.id for g in grants]))
    return [g for g in grants if not closed(g, index.get(g.id, []), now)]


def allocation_remaining(ctx: Context, customer_id: str) -> int | None:
    """What the customer's (internal id) open plan allocations have left now, burned
    live by usage; ``None`` when no allocation is open."""
    customer = get_customer_by_id(ctx, customer_id)
    now = ctx.now(customer.test_clock_id)
    live = _open_allocations(ctx, customer, now)
    return sum(left for _, left in positions(ctx, customer, live, now)) if live else None


def ensure_usage_allowed(
    ctx: Context, customer_id: str, metric: str, *, settings: CreditsSettings | None = None
) -> None:
    """With ``credits.overage: block``, refuse (429 ``credits_exhausted``) usage of a
    metric that an open plan allocation pays when, with that usage already recorded,
    the allocation cannot cover it all. The paying allocations are locked first, so
    concurrent consumes they pay are judged one after the other. ``settings``: the
    product's ``credits`` settings when the caller already read them."""
    if (settings or credit_settings(ctx)).overage != "block":
        return
    customer = get_customer_by_id(ctx, customer_id)
    now = ctx.now(customer.test_clock_id)
    repo = LedgerRepository(ctx)
    paying = [
        grant
        for grant in _open_allocations(ctx, customer, now)
        if any(charge.metric == metric for charge in allocation_charges(ctx, grant))
    ]
    for grant in paying:
        repo.grant(grant.id, lock=True)
    used = sum(rated(ctx, customer, grant, through(now)) for grant in paying)
    if used > sum(grant.amount for grant in paying):
        raise CreditsExhausted(
            f"the credits included in customer {customer.external_id!r}'s plan, which "
            f"pay {metric!r}, do not cover this usage; the product blocks overage",
            metric=metric,
            balance=0,
        )
