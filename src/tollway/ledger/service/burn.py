"""Live burn: what an open plan allocation has paid so far, from rated usage."""

from __future__ import annotations

from datetime import datetime

from tollway.catalog import ChargeSpec, charges_in, get_plan
from tollway.customers import Customer
from tollway.kernel.context import Context
from tollway.ledger.models import CreditGrant
from tollway.metering import rate_usage


def allocation_charges(ctx: Context, grant: CreditGrant) -> list[ChargeSpec]:
    """The usage charges of the allocation's plan that price in its currency."""
    if grant.plan_code is None:
        return []
    plan = get_plan(ctx, grant.plan_code)
    return charges_in(plan.charges, grant.currency, plan.currency)


def rated(ctx: Context, customer: Customer, grant: CreditGrant, end: datetime) -> int:
    """Rated usage of the allocation's charges over ``[period_start, end)``, capped at
    the period's end (minor units; 0 for an empty window)."""
    start = grant.period_start or grant.granted_at
    if grant.period_end is not None:
        end = min(end, grant.period_end)
    charges = allocation_charges(ctx, grant)
    if end <= start or not charges:
        return 0
    return sum(r.priced.amount for r in rate_usage(ctx, customer, charges, start, end))


def burned(ctx: Context, customer: Customer, grant: CreditGrant, end: datetime) -> int:
    """How much of the allocation the usage before ``end`` burned (at most the grant)."""
    return min(grant.amount, rated(ctx, customer, grant, end))
