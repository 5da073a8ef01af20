"""Concurrent subscription writes for one customer, with real threads on each backend."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tollway import catalog, customers, subscriptions
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.errors import Conflict
from tollway.kernel.tenancy import ensure_product

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
