"""Concurrent subscription writes for one customer, with real threads on each backend."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from race_kit import race
from tollway import catalog, customers, subscriptions
from tollway.kernel.clock import Clock, FixedClock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.errors import Conflict
from tollway.kernel.tenancy import ensure_product
from tollway.subscriptions.service.timeline import renew

THREADS = 8


def test_racing_creates_leave_one_live_subscription(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    with unit_of_work(session_factory) as session:
        product_id = ensure_product(session, code="default", name="Default", clock=clock).id
        ctx = Context(session=session, product_id=product_id, clock=clock)
        catalog.create_plan(
            ctx,
            catalog.PlanCreate(
                code="pro", name="Pro", prices=[catalog.PriceSpec(interval="monthly", amount=3000)]
            ),
        )
        customers.create_customer(ctx, customers.CustomerCreate(external_id="acme"))

    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def create() -> None:
        barrier.wait()
        try:
            with unit_of_work(session_factory) as session:
                ctx = Context(session=session, product_id=product_id, clock=clock)
                subscriptions.create_subscription(
                    ctx, subscriptions.SubscriptionCreate(customer_id="acme", plan_id="pro")
                )
            outcome = "created"
        except Conflict:
            outcome = "conflict"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=create) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["created"]
    with unit_of_work(session_factory) as session:
        count = session.scalar(select(func.count()).select_from(subscriptions.Subscription))
        charges = session.scalar(select(func.count()).select_from(subscriptions.SubscriptionCharge))
    assert (count, charges) == (1, 1)


def _setup(session_factory: sessionmaker[Session], clock: Clock) -> tuple[str, str]:
    """A product with ``pro`` (3000) and ``max`` (6000) and acme on ``pro``."""
    with unit_of_work(session_factory) as session:
        product_id = ensure_product(session, code="default", name="Default", clock=clock).id
        ctx = Context(session=session, product_id=product_id, clock=clock)
        for code, amount in (("pro", 3000), ("max", 6000)):
            catalog.create_plan(
                ctx,
                catalog.PlanCreate(
                    code=code,
                    name=code,
                    prices=[catalog.PriceSpec(interval="monthly", amount=amount)],
                ),
            )
        customers.create_customer(ctx, customers.CustomerCreate(external_id="acme"))
        sub = subscriptions.create_subscription(
            ctx, subscriptions.SubscriptionCreate(customer_id="acme", plan_id="pro")
        )
        return product_id, sub.id


def test_a_renewal_racing_a_plan_change_bills_the_new_period_once(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    product_id, sub_id = _setup(session_factory, clock)
    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=clock)
        period_end = subscriptions.get_subscription(ctx, sub_id).current_period_end
    assert period_end is not None
    at_end = FixedClock(period_end)

    def renewal() -> None:
        with unit_of_work(session_factory) as session:
            renew(Context(session=session, product_id=product_id, clock=at_end), sub_id, period_end)

    def change() -> None:
        with unit_of_work(session_factory) as session:
            subscriptions.change_plan(
                Context(session=session, product_id=product_id, clock=at_end),
                sub_id,
                subscriptions.SubscriptionChange(new_plan_id="max", immediate=True),
            )

    assert race(renewal, change) == ["ok", "ok"]
    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=at_end)
        sub = subscriptions.get_subscription(ctx, sub_id)
        charges = subscriptions.charges_of(ctx, sub_id)
        new_period = [c for c in charges if c.period_start == period_end]
        plan_fees = [c for c in new_period if c.kind == "plan"]
        assert (sub.plan_code, sub.current_period_start) == ("max", period_end)
        assert sub.current_period_end == period_end + timedelta(days=28)  # Feb 15 -> Mar 15
        # Whichever ran first, the new period costs the new price once.
        assert sum(c.amount for c in new_period) == 6000
        assert len(plan_fees) == 1


def test_two_invoices_cannot_claim_the_same_charges(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    product_id, _ = _setup(session_factory, clock)

    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=clock)
        customer_id = customers.get_customer(ctx, "acme").id
        seen = [c.id for c in subscriptions.subscription_charges(ctx, customer_id=customer_id)]

    def claim(invoice_id: str) -> Callable[[], None]:
        # Both invoicers saw the same uninvoiced charges before either claimed them.
        def run() -> None:
            with unit_of_work(session_factory) as session:
                ctx = Context(session=session, product_id=product_id, clock=clock)
                charges = [
                    c
                    for c in subscriptions.subscription_charges(
                        ctx, customer_id=customer_id, uninvoiced_only=False
                    )
                    if c.id in seen
                ]
                subscriptions.mark_charges_invoiced(ctx, {invoice_id: charges})

        return run

    assert race(claim("inv_a"), claim("inv_b")) == ["conflict", "ok"]
    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=clock)
        customer = customers.get_customer(ctx, "acme")
        charges = subscriptions.subscription_charges(
            ctx, customer_id=customer.id, uninvoiced_only=False
        )
        assert len(charges) == 1
        assert charges[0].invoice_id in ("inv_a", "inv_b")


def test_claiming_charges_already_on_an_invoice_is_a_conflict(ctx: Context) -> None:
    catalog.create_plan(
        ctx,
        catalog.PlanCreate(
            code="pro", name="Pro", prices=[catalog.PriceSpec(interval="monthly", amount=3000)]
        ),
    )
    customer = customers.create_customer(ctx, customers.CustomerCreate(external_id="acme"))
    subscriptions.create_subscription(
        ctx, subscriptions.SubscriptionCreate(customer_id="acme", plan_id="pro")
    )
    charges = subscriptions.subscription_charges(ctx, customer_id=customer.id, lock=True)
    assert [c.amount for c in charges] == [3000]
    subscriptions.mark_charges_invoiced(ctx, {"inv_a": charges})
    assert charges[0].invoice_id == "inv_a"
    assert subscriptions.subscription_charges(ctx, customer_id=customer.id, lock=True) == []
    with pytest.raises(Conflict, match="already on another invoice"):
        subscriptions.mark_charges_invoiced(ctx, {"inv_b": charges})
    assert charges[0].invoice_id == "inv_a"
