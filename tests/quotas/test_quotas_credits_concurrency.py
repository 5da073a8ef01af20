"""Real threads consuming two metrics that one plan allocation pays, with blocked
overage, on SQLite and PostgreSQL: the allocation is locked while a consume is
judged, so never one credit beyond it is consumed, whatever the metric."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tollway import catalog
from tollway.customers import CustomerCreate, create_customer
from tollway.jobs import Registry
from tollway.jobs.relay import relay_events
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.tenancy import write_settings
from tollway.ledger import CreditsExhausted, CreditsSettings, allocation_remaining
from tollway.ledger.tasks import CONSUMERS
from tollway.metering.models import UsageEvent
from tollway.quotas import consume
from tollway.subscriptions import SubscriptionCreate, create_subscription

THREADS = 16
ATTEMPTS = 3
CREDITS = 40
METRICS = ("compute", "storage")


def _setup(ctx: Context, session_factory: sessionmaker[Session], clock: Any) -> str:
    for code in METRICS:
        catalog.create_metric(ctx, catalog.MetricCreate(code=code, name=code, aggregation="sum"))
    plan = {
        "code": "usage",
        "name": "Usage",
        "prices": [{"interval": "monthly", "amount": 4900}],
        "included_credits": CREDITS,
        "charges": [{"metric": m, "model": "standard", "unit_amount": "1"} for m in METRICS],
    }
    catalog.create_plan(ctx, catalog.PlanCreate.model_validate(plan))
    customer = create_customer(ctx, CustomerCreate(external_id="acme", currency="USD"))
    create_subscription(ctx, SubscriptionCreate(customer_id="acme", plan_id="usage"))
    write_settings(ctx, {"credits": CreditsSettings(overage="block")})
    ctx.session.commit()
    registry = Registry()
    for consumer in CONSUMERS:
        registry.register_consumer(consumer)
    relay_events(session_factory, registry, clock, cursor_lag=timedelta(0))
    return customer.id


def test_racing_consumes_of_two_metrics_never_overdraw_the_allocation(
    ctx: Context, session_factory: sessionmaker[Session], clock: Any
) -> None:
    customer_id = _setup(ctx, session_factory, clock)
    admitted: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()

    def work(thread: int) -> None:
        try:
            barrier.wait()
            metric = METRICS[thread % 2]
            for _ in range(ATTEMPTS):
                try:
                    with unit_of_work(session_factory) as session:
                        worker = Context(session=session, product_id=ctx.product_id, clock=clock)
                        consume(worker, "acme", metric, quantity=Decimal(1))
                    with lock:
                        admitted.append(metric)
                except CreditsExhausted:
                    with lock:
                        refused.append(metric)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert (len(admitted), len(refused)) == (CREDITS, THREADS * ATTEMPTS - CREDITS)
    ctx.session.rollback()
    assert ctx.session.scalar(select(func.count()).select_from(UsageEvent)) == CREDITS
    assert allocation_remaining(ctx, customer_id) == 0
