"""A check or consume reads through the caller's session: what it holds but has not
flushed yet counts, as an ORM query would see it (autoflush), and several consumes in
one session each count."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from tollway.catalog import (
    MetricCreate,
    PlanCreate,
    PriceSpec,
    QuotaSpec,
    create_metric,
    create_plan,
)
from tollway.customers import CustomerCreate, create_customer
from tollway.kernel.context import Context
from tollway.quotas import check, consume
from tollway.quotas.models import QuotaOverride, QuotaState
from tollway.subscriptions import SubscriptionCreate, create_subscription


def _subscribed(ctx: Context, limit: int) -> str:
    """acme on a plan with ``limit`` API calls a month; its id."""
    create_metric(ctx, MetricCreate(code="api_calls", name="API calls", aggregation="count"))
    quota = QuotaSpec(metric="api_calls", limit=limit, period="monthly")
    price = PriceSpec(interval="monthly", amount=4900)
    create_plan(ctx, PlanCreate(code="pro", name="Pro", prices=[price], quotas=[quota]))
    customer = create_customer(ctx, CustomerCreate(external_id="acme"))
    create_subscription(ctx, SubscriptionCreate(customer_id="acme", plan_id="pro"))
    return customer.id


def test_a_check_sees_an_override_the_session_has_not_flushed(ctx: Context) -> None:
    customer_id = _subscribed(ctx, 100)
    assert check(ctx, "acme", "api_calls", quantity=Decimal(1)).limit == 100
    now = ctx.clock.now()
    ctx.session.add(
        QuotaOverride(
            id="qov_pending",
            product_id=ctx.product_id,
            customer_id=customer_id,
            metric_code="api_calls",
            limit=3,
            period="monthly",
            enforcement="hard",
            thresholds=[],
            created_at=now,
            updated_at=now,
        )
    )
    found = check(ctx, "acme", "api_calls", quantity=Decimal(5))
    assert (found.limit, found.allowed) == (3, False)


def test_consumes_in_one_session_each_count(ctx: Context) -> None:
    customer_id = _subscribed(ctx, 10)
    used = [
        consume(ctx, "acme", "api_calls", quantity=Decimal(1), event_id=f"e{i}").used
        for i in range(4)
    ]
    assert used == [1, 2, 3, 4]
    assert check(ctx, "acme", "api_calls", quantity=Decimal(1)).used == 4
    ctx.session.flush()
    stored = ctx.session.execute(
        select(QuotaState.used).where(QuotaState.customer_id == customer_id)
    ).scalar_one()
    assert stored == 4
