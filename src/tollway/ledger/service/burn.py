"""Live burn: what an open plan allocation has paid so far, from rated usage."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tollway import metering
from tollway.catalog import ChargeSpec, get_plan
from tollway.customers import Customer
from tollway.kernel.context import Context
from tollway.kernel.money import round_minor
from tollway.ledger.models import CreditGrant


def allocation_charges(ctx: Context, grant: CreditGrant) -> list[ChargeSpec]:
    """The usage charges of the allocation's plan that price in its currency."""
    if grant.plan_code is None:
        return []
    plan = get_plan(ctx, grant.plan_code)
    return [ChargeSpec.model_validate(c) for c in plan.charges]  # TEMP until pricing


def rated(ctx: Context, customer: Customer, grant: CreditGrant, end: datetime) -> int:
    """Rated usage of the allocation's charges over ``[period_start, end)``, capped at
    the period's end (minor units; 0 for an empty window)."""
    start = grant.period_start or grant.granted_at
    if grant.period_end is not None:
        end = min(end, grant.period_end)
    charges = allocation_charges(ctx, grant)
    if end <= start or not charges:
        return 0
    total = 0  # TEMP until pricing: standard charges only
    for c in charges:
        units = metering.usage(ctx, customer, c.metric, start=start, end=end).total
        units = max(Decimal(0), units - (c.included_units or 0))
        total += round_minor(units * (c.unit_amount or 0))
    return total


def burned(ctx: Context, customer: Customer, grant: CreditGrant, end: datetime) -> int:
    """How much of the allocation the usage before ``end`` burned (at most the grant)."""
    return min(grant.amount, rated(ctx, customer, grant, end))
