"""Real threads consuming one quota at once, on SQLite and PostgreSQL: never one unit
too many, and each threshold fires once."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tollway.catalog import MetricCreate, PlanCreate, create_metric, create_plan
from tollway.customers import CustomerCreate, create_customer
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.outbox import Event
from tollway.metering import current_usage
from tollway.metering.models import UsageEvent
from tollway.quotas import QuotaExceeded, consume
from tollway.quotas.models import QuotaAlert
from tollway.subscriptions import SubscriptionCreate, create_subscription

THREADS = 16
ATTEMPTS = 6
LIMIT = 37


def _setup(ctx: Context, enforcement: str) -> str:
    quota = {"metric": "calls", "limit": LIMIT, "period": "monthly", "enforcement": enforcement}
    create_metric(ctx, MetricCreate(code="calls", name="Calls", aggregation="count"))
    create_plan(
        ctx,
        PlanCreate.model_validate(
            {
                "code": "pro",
                "name": "Pro",
                "prices": [{"interval": "monthly", "amount": 1000}],
                "quotas": [quota],
            }
        ),
    )
    customer = create_customer(ctx, CustomerCreate(external_id="acme"))
    create_subscription(ctx, SubscriptionCreate(customer_id="acme", plan_id="pro"))
    ctx.session.commit()
    return customer.id


def _race(factory: sessionmaker[Session], ctx: Context, clock: Any) -> tuple[int, int]:
    admitted = refused = 0
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()

    def work(thread: int) -> None:
        nonlocal admitted, refused
        try:
            barrier.wait()
            for attempt in range(ATTEMPTS):
                try:
                    with unit_of_work(factory) as session:
                        worker = Context(session=session, product_id=ctx.product_id, clock=clock)
                        consume(
                            worker,
                            "acme",
                            "calls",
                            quantity=Decimal(1),
                            event_id=f"t{thread}-{attempt}",
                        )
                    with lock:
                        admitted += 1
                except QuotaExceeded:
                    with lock:
                        refused += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return admitted, refused


def test_sixteen_threads_never_admit_one_unit_beyond_a_hard_limit(
    ctx: Context, session_factory: sessionmaker[Session], clock: Any
) -> None:
    customer_id = _setup(ctx, "hard")
    admitted, refused = _race(session_factory, ctx, clock)
    assert (admitted, refused) == (LIMIT, THREADS * ATTEMPTS - LIMIT)
    ctx.session.rollback()
    assert ctx.session.scalar(select(func.count()).select_from(UsageEvent)) == LIMIT
    start, end = clock.now().replace(day=1, hour=0), clock.now().replace(month=2, day=1, hour=0)
    assert current_usage(ctx, customer_id, "calls", start, end) == LIMIT
    fired = ctx.session.execute(
        select(Event.type, Event.data).where(Event.type.like("quota.%")).order_by(Event.id)
    ).all()
    assert [(kind, data["threshold"], data["used"]) for kind, data in fired] == [
        ("quota.warning", 80, "30"),  # 30 of 37 is the first count at or above 80 %
        ("quota.warning", 90, "34"),
        ("quota.exceeded", 100, "37"),
    ]


def test_soft_limit_under_concurrency_fires_each_threshold_and_grace_once(
    ctx: Context, session_factory: sessionmaker[Session], clock: Any
) -> None:
    _setup(ctx, "soft")
    admitted, refused = _race(session_factory, ctx, clock)
    assert (admitted, refused) == (THREADS * ATTEMPTS, 0)
    ctx.session.rollback()
    assert ctx.session.scalar(select(func.count()).select_from(QuotaAlert)) == 3
    kinds = ctx.session.scalars(
        select(Event.type)
        .where(Event.type.in_(["quota.warning", "quota.exceeded", "grace_period.started"]))
        .order_by(Event.id)
    ).all()
    assert kinds == ["quota.warning", "quota.warning", "quota.exceeded", "grace_period.started"]
