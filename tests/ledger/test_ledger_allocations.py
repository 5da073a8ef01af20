"""Plan allocations from subscription events: granted per period, burned by usage,
settled once whoever asks first, never paying invoices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tollway import catalog, metering, subscriptions
from tollway.customers import Customer, CustomerCreate, create_customer, get_customer
from tollway.jobs import Registry
from tollway.jobs.relay import relay_events
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.tenancy import ensure_product
from tollway.ledger import (
    Settlement,
    allocation_remaining,
    apply_to_invoice,
    credit_summary,
    grant_credits,
    preview_settlement,
    settle_allocation,
)
from tollway.ledger.tasks import CONSUMERS

PLAN = {
    "code": "usage",
    "name": "Usage",
    "prices": [{"interval": "monthly", "amount": 4900}, {"interval": "annual", "amount": 49000}],
    "included_credits": 2000,
    "charges": [{"metric": "compute", "model": "standard", "unit_amount": "1"}],
}


class World:
    """Short committed transactions, and the ledger's consumer relaying events."""

    def __init__(self, factory: sessionmaker[Session], clock: Any) -> None:
        self.factory, self.clock = factory, clock
        self.registry = Registry()
        for consumer in CONSUMERS:
            self.registry.register_consumer(consumer)
        with self.ctx() as ctx:
            self.product_id = ctx.product_id

    @contextmanager
    def ctx(self) -> Iterator[Context]:
        with unit_of_work(self.factory) as session:
            product = ensure_product(session, code="default", name="Default", clock=self.clock)
            yield Context(session=session, product_id=product.id, clock=self.clock)

    def relay(self) -> None:
        relay_events(self.factory, self.registry, self.clock, cursor_lag=timedelta(0))

    def customer(self, ctx: Context) -> Customer:
        return get_customer(ctx, "acme")


@pytest.fixture
def world(session_factory: sessionmaker[Session], clock: Any) -> World:
    world = World(session_factory, clock)
    with world.ctx() as ctx:
        metric = catalog.MetricCreate(code="compute", name="c", aggregation="sum")
        catalog.create_metric(ctx, metric)
        catalog.create_plan(ctx, catalog.PlanCreate.model_validate(PLAN))
        create_customer(ctx, CustomerCreate(external_id="acme", currency="USD"))
        sub = subscriptions.create_subscription(
            ctx, subscriptions.SubscriptionCreate(customer_id="acme", plan_id="usage")
        )
        world.sub_id = sub.id  # type: ignore[attr-defined]
    world.relay()
    return world


def _use(ctx: Context, quantity: int) -> None:
    event = {"customer_id": "acme", "metric": "compute", "quantity": quantity}
    assert metering.ingest(ctx, [event]).accepted == 1


def test_settling_is_capped_idempotent_and_the_same_whoever_asks(world: World, clock: Any) -> None:
    start = clock.now()
    end = datetime(2026, 2, 15, 12, 0, tzinfo=UTC)
    clock.advance(timedelta(days=1))
    with world.ctx() as ctx:
        customer = world.customer(ctx)
        _use(ctx, 1500)
        assert allocation_remaining(ctx, customer.id) == 500
    clock.advance(timedelta(days=2))
    with world.ctx() as ctx:
        _use(ctx, 1000)
        assert allocation_remaining(ctx, customer.id) == 0
    with world.ctx() as ctx:
        preview = preview_settlement(ctx, world.sub_id, start, end)  # type: ignore[attr-defined]
        assert [e.kind for e in credit_summary(ctx, world.customer(ctx)).entries] == ["grant"]
    with world.ctx() as ctx:
        first = settle_allocation(ctx, world.sub_id, start, end)  # type: ignore[attr-defined]
    with world.ctx() as ctx:
        again = settle_allocation(ctx, world.sub_id, start, end)  # type: ignore[attr-defined]
        later = preview_settlement(ctx, world.sub_id, start, end)  # type: ignore[attr-defined]
        assert preview == first == again == later
        assert first == Settlement(granted=2000, covered=2000, currency="USD")
        entries = credit_summary(ctx, world.customer(ctx), at=end).entries
        assert sorted((e.kind, e.amount) for e in entries) == [
            ("consume", -2000),
            ("expire", 0),
            ("grant", 2000),
        ]


def test_no_allocation_settles_to_zero_and_reads_none(
    session_factory: sessionmaker[Session], clock: Any
) -> None:
    world = World(session_factory, clock)
    with world.ctx() as ctx:
        free = {**PLAN, "included_credits": 0, "charges": []}
        catalog.create_plan(ctx, catalog.PlanCreate.model_validate(free))
        customer = create_customer(ctx, CustomerCreate(external_id="acme", currency="USD"))
        sub = subscriptions.create_subscription(
            ctx, subscriptions.SubscriptionCreate(customer_id="acme", plan_id="usage")
        )
    world.relay()
    with world.ctx() as ctx:
        assert allocation_remaining(ctx, customer.id) is None
        settled = settle_allocation(ctx, sub.id, sub.current_period_start, clock.now())
        assert settled == Settlement(granted=0, covered=0, currency="USD")


def test_allocations_never_pay_invoices(world: World, clock: Any) -> None:
    with world.ctx() as ctx:
        customer = world.customer(ctx)
        grant_credits(ctx, customer, amount=100, currency="USD", source="purchase")
        applied = apply_to_invoice(
            ctx, customer.id, currency="USD", amount=4900, invoice_id="in_fee", at=clock.now()
        )
        summary = credit_summary(ctx, customer)
    assert (applied, summary.balance) == (100, 2000)


def test_a_new_period_on_another_cycle_settles_the_open_allocation(
    world: World, clock: Any
) -> None:
    start = clock.now()
    clock.advance(timedelta(hours=1))
    with world.ctx() as ctx:
        _use(ctx, 300)
    clock.advance(timedelta(days=5))
    with world.ctx() as ctx:
        subscriptions.change_plan(
            ctx,
            world.sub_id,  # type: ignore[attr-defined]
            subscriptions.SubscriptionChange(new_plan_id="usage", billing_cycle="annual"),
        )
    world.relay()
    with world.ctx() as ctx:
        summary = credit_summary(ctx, world.customer(ctx))
        new, old = summary.grants
        assert (new.remaining, new.period_start) == (2000, clock.now())
        assert (old.remaining, summary.balance) == (0, 2000)
        expired = sorted((e.kind, e.amount, e.at) for e in summary.entries if e.grant_id == old.id)
        assert expired == [
            ("consume", -300, clock.now()),
            ("expire", -1700, clock.now()),
            ("grant", 2000, start),
        ]


def test_the_burn_prices_usage_with_the_plans_charge_models(
    session_factory: sessionmaker[Session], clock: Any
) -> None:
    world = World(session_factory, clock)
    tiers = [{"up_to": 100, "unit_amount": "10"}, {"up_to": None, "unit_amount": "1"}]
    plan = {**PLAN, "charges": [{"metric": "compute", "model": "graduated", "tiers": tiers}]}
    with world.ctx() as ctx:
        metric = catalog.MetricCreate(code="compute", name="c", aggregation="sum")
        catalog.create_metric(ctx, metric)
        catalog.create_plan(ctx, catalog.PlanCreate.model_validate(plan))
        customer = create_customer(ctx, CustomerCreate(external_id="acme", currency="USD"))
        subscriptions.create_subscription(
            ctx, subscriptions.SubscriptionCreate(customer_id="acme", plan_id="usage")
        )
    world.relay()
    clock.advance(timedelta(hours=2))
    with world.ctx() as ctx:
        _use(ctx, 150)
        assert allocation_remaining(ctx, customer.id) == 2000 - (100 * 10 + 50 * 1)
