"""Concurrent finalizations and invoice runs, with real threads on each backend
(PostgreSQL runs them truly in parallel; SQLite takes one writer at a time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from race_kit import race
from tollway import catalog, customers, invoicing, subscriptions
from tollway.invoicing import tasks as invoicing_tasks
from tollway.invoicing.models import BilledPeriod
from tollway.jobs import Registry, Shard, relay_events, run_due
from tollway.jobs.relay import RELAY_KIND
from tollway.jobs.relay import tasks as relay_tasks
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import DONE, Job, enqueue
from tollway.kernel.outbox import Event
from tollway.kernel.relay import Consumer
from tollway.kernel.tenancy import ensure_product

THREADS = 8


def _product(session_factory: sessionmaker[Session], clock: Clock) -> str:
    with unit_of_work(session_factory) as session:
        return ensure_product(session, code="default", name="Default", clock=clock).id


def _pro_plan(ctx: Context) -> None:
    """The monthly plan ``pro`` at 2999."""
    catalog.create_plan(
        ctx,
        catalog.PlanCreate(
            code="pro", name="Pro", prices=[catalog.PriceSpec(interval="monthly", amount=2999)]
        ),
    )


def test_concurrent_finalizations_take_every_number_once(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    product_id = _product(session_factory, clock)
    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=clock)
        customers.create_customer(ctx, customers.CustomerCreate(external_id="acme"))
        drafts = [
            invoicing.create_invoice(
                ctx,
                invoicing.InvoiceCreate(
                    customer_id="acme",
                    items=[invoicing.ItemIn(description=f"item {n}", unit_amount=100 + n)],
                ),
            ).id
            for n in range(THREADS * 2)
        ]

    def finalize(invoice_id: str) -> Callable[[], None]:
        def job() -> None:
            with unit_of_work(session_factory) as session:
                ctx = Context(session=session, product_id=product_id, clock=clock)
                invoicing.finalize_invoice(ctx, invoice_id)

        return job

    # Each draft twice: one finalization wins, the other finds it open (409).
    outcomes = race(*[finalize(i) for i in drafts] * 2)
    assert outcomes == ["conflict"] * len(drafts) + ["ok"] * len(drafts)
    with unit_of_work(session_factory) as session:
        numbers = sorted(session.scalars(select(invoicing.Invoice.number)))
    assert numbers == [f"INV-2026-{n:04d}" for n in range(1, len(drafts) + 1)]


def test_two_workers_running_the_same_run_bill_once(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    product_id = _product(session_factory, clock)
    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=clock)
        _pro_plan(ctx)
        customers.create_customer(ctx, customers.CustomerCreate(external_id="acme"))
        sub = subscriptions.create_subscription(
            ctx, subscriptions.SubscriptionCreate(customer_id="acme", plan_id="pro")
        )
        period = (sub.current_period_start, sub.current_period_start + timedelta(days=31))

    def run() -> None:
        with unit_of_work(session_factory) as session:
            ctx = Context(session=session, product_id=product_id, clock=clock, actor="worker")
            invoicing.invoice_subscription(ctx, sub.id, closed_period=period)

    assert race(*[run] * THREADS) == ["ok"] * THREADS
    with unit_of_work(session_factory) as session:
        invoices = list(session.scalars(select(invoicing.Invoice)))
        keys = session.scalar(select(func.count()).select_from(BilledPeriod))
    assert [(i.number, i.total) for i in invoices] == [("INV-2026-0001", 2999)]
    assert keys == 1


def _subscribed(session_factory: sessionmaker[Session], clock: Clock, count: int) -> str:
    """``count`` customers subscribed to a monthly plan of 2999 (each subscription's
    ``subscription.created`` event bills its first period); the product's id."""
    product_id = _product(session_factory, clock)
    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=clock)
        _pro_plan(ctx)
        for n in range(count):
            customers.create_customer(ctx, customers.CustomerCreate(external_id=f"c{n}"))
            subscriptions.create_subscription(
                ctx, subscriptions.SubscriptionCreate(customer_id=f"c{n}", plan_id="pro")
            )
    return product_id


def test_sharded_relayers_invoice_each_subscription_once_with_numbers_in_sequence(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    _subscribed(session_factory, clock, 24)
    registry = Registry()
    registry.include({}, consumers=invoicing_tasks.CONSUMERS)
    handled: dict[int, int] = {}

    def relayer(index: int) -> Callable[[], None]:
        def job() -> None:
            handled[index] = relay_events(
                session_factory, registry, clock, shard=Shard(index, 2), cursor_lag=timedelta(0)
            )

        return job

    assert race(relayer(0), relayer(1)) == ["ok", "ok"]
    assert sum(handled.values()) == 24  # each subscription.created once, in one shard
    assert min(handled.values()) > 0  # both shards had customers
    with unit_of_work(session_factory) as session:
        invoices = list(session.scalars(select(invoicing.Invoice)))
    assert sorted(i.number or "" for i in invoices) == [f"INV-2026-{n:04d}" for n in range(1, 25)]
    assert len({i.subscription_id for i in invoices}) == 24
    assert {i.total for i in invoices} == {2999}


def _ignore(ctx: Context, event: Event) -> None:
    """A consumer with nothing to do."""


def test_two_workers_running_the_relay_shards_as_jobs_invoice_everything_once(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    product_id = _subscribed(session_factory, clock, 24)
    registry = Registry()
    registry.register_consumer(Consumer("other", _ignore))  # a second consumer in each pass
    registry.include({}, consumers=invoicing_tasks.CONSUMERS)
    registry.include(*relay_tasks(registry, shards=2))
    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=clock)
        for kind in (RELAY_KIND, f"{RELAY_KIND}.1"):
            enqueue(ctx, kind, {}, product_scoped=False)

    def worker(worker_id: str) -> Callable[[], None]:
        def job() -> None:
            while run_due(session_factory, registry, clock, worker_id=worker_id):
                pass

        return job

    assert race(worker("a"), worker("b")) == ["ok", "ok"]
    while run_due(session_factory, registry, clock, worker_id="c"):  # follow-ups left, if any
        pass
    with unit_of_work(session_factory) as session:
        invoices = list(session.scalars(select(invoicing.Invoice)))
        relays = set(session.scalars(select(Job.status).where(Job.kind.like("events.relay%"))))
        errors = list(session.scalars(select(Job.last_error).where(Job.last_error.is_not(None))))
    assert relays == {DONE}
    assert errors == []  # no job failed (a deadlock would have)
    assert sorted(i.number or "" for i in invoices) == [f"INV-2026-{n:04d}" for n in range(1, 25)]
    assert len({i.subscription_id for i in invoices}) == 24
