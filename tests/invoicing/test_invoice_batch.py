"""A batch invoice run: many subscriptions in one transaction, in a number of queries
that does not grow with the batch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tollway import catalog, customers, invoicing, subscriptions
from tollway.invoicing import tasks as invoicing_tasks
from tollway.jobs import Registry, relay_events
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.errors import NotFound, ValidationFailed
from tollway.kernel.tenancy import ensure_product

MAX_QUERIES_PER_BATCH = 30


@contextmanager
def counting(engine: Engine) -> Iterator[list[int]]:
    count = [0]

    def tick(*_: object) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", tick)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", tick)


def _subscribed(ctx: Context, count: int, offset: int = 0) -> list[subscriptions.Subscription]:
    found = []
    for n in range(offset, offset + count):
        customers.create_customer(ctx, customers.CustomerCreate(external_id=f"c{n}"))
        found.append(
            subscriptions.create_subscription(
                ctx, subscriptions.SubscriptionCreate(customer_id=f"c{n}", plan_id="pro")
            )
        )
    return found


def test_one_run_invoices_many_subscriptions_once(
    session_factory: sessionmaker[Session], clock: Clock, engine: Engine
) -> None:
    with unit_of_work(session_factory) as session:
        product_id = ensure_product(session, code="default", name="Default", clock=clock).id
        ctx = Context(session=session, product_id=product_id, clock=clock)
        catalog.create_metric(
            ctx, catalog.MetricCreate(code="calls", name="Calls", aggregation="sum")
        )
        catalog.create_plan(
            ctx,
            catalog.PlanCreate(
                code="pro",
                name="Pro",
                prices=[catalog.PriceSpec(interval="monthly", amount=2999)],
                charges=[
                    catalog.ChargeSpec.model_validate(
                        {"metric": "calls", "model": "standard", "unit_amount": "2"}
                    )
                ],
            ),
        )
        small = _subscribed(ctx, 10)
        large = _subscribed(ctx, 30, offset=10)
    start = clock.now()
    period = (start, start + timedelta(days=31))

    def run(subs: list[subscriptions.Subscription]) -> tuple[list[invoicing.Invoice], int]:
        with counting(engine) as queries, unit_of_work(session_factory) as session:
            ctx = Context(session=session, product_id=product_id, clock=clock)
            made = invoicing.run_invoices(ctx, [invoicing.RunItem(s.id, period) for s in subs])
        return made, queries[0]

    first, small_queries = run(small)
    second, large_queries = run(large)
    assert [i.number for i in first + second] == [f"INV-2026-{n:04d}" for n in range(1, 41)]
    assert {(i.status, i.total) for i in first + second} == {("open", 2999)}
    assert small_queries <= MAX_QUERIES_PER_BATCH
    # three times the invoices, not one more query (on PostgreSQL the larger batch writes
    # its events and lines with COPY, which goes round the statement count)
    assert large_queries <= small_queries
    again, _ = run(small + large)
    assert again == []
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(invoicing.Invoice)) == 40
        ctx = Context(session=session, product_id=product_id, clock=clock)
        with pytest.raises(NotFound):
            invoicing.run_invoices(ctx, [invoicing.RunItem("sub_missing", period)])


def test_a_run_refuses_two_periods_of_one_subscription(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    """Keeping one of them would silently drop the other's usage; the same item twice
    is one item."""
    with unit_of_work(session_factory) as session:
        product_id = ensure_product(session, code="default", name="Default", clock=clock).id
        ctx = Context(session=session, product_id=product_id, clock=clock)
        catalog.create_plan(
            ctx,
            catalog.PlanCreate(
                code="pro", name="Pro", prices=[catalog.PriceSpec(interval="monthly", amount=2999)]
            ),
        )
        (sub,) = _subscribed(ctx, 1)
    start = clock.now()
    march = invoicing.RunItem(sub.id, (start, start + timedelta(days=31)))
    april = invoicing.RunItem(sub.id, (start + timedelta(days=31), start + timedelta(days=61)))
    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=clock)
        with pytest.raises(ValidationFailed) as refused:
            invoicing.run_invoices(ctx, [march, april])
        assert refused.value.errors[0].field == "subscription_id"
        made = invoicing.run_invoices(ctx, [march, march])
        assert [(i.subscription_id, i.total) for i in made] == [(sub.id, 2999)]


def test_the_consumer_invoices_a_relay_pass_together_each_subscription_once(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    with unit_of_work(session_factory) as session:
        product_id = ensure_product(session, code="default", name="Default", clock=clock).id
        ctx = Context(session=session, product_id=product_id, clock=clock)
        for code, amount in (("pro", 2999), ("max", 5999)):
            catalog.create_plan(
                ctx,
                catalog.PlanCreate(
                    code=code,
                    name=code,
                    prices=[catalog.PriceSpec(interval="monthly", amount=amount)],
                ),
            )
        subs = _subscribed(ctx, 3)
    clock.advance(timedelta(days=10))
    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=clock)
        subscriptions.change_plan(
            ctx, subs[0].id, subscriptions.SubscriptionChange(new_plan_id="max", immediate=True)
        )
    registry = Registry()
    registry.include({}, consumers=invoicing_tasks.CONSUMERS)
    assert relay_events(session_factory, registry, clock) == 4  # 3 created, 1 updated: one pass
    with unit_of_work(session_factory) as session:
        made = session.execute(
            select(
                invoicing.Invoice.subscription_id, func.count(), func.sum(invoicing.Invoice.total)
            ).group_by(invoicing.Invoice.subscription_id)
        ).all()
        numbers = sorted(session.scalars(select(invoicing.Invoice.number)))
    # the upgraded subscription's two events: its first run bills every open charge
    # (first month, proration credit and charge), the second round has nothing left
    by_sub = {sub_id: (count, total) for sub_id, count, total in made}
    assert by_sub[subs[1].id] == by_sub[subs[2].id] == (1, 2999)
    assert by_sub[subs[0].id][0] == 1
    assert by_sub[subs[0].id][1] > 2999
    assert numbers == [f"INV-2026-{n:04d}" for n in range(1, 4)]
