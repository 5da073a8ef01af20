"""Test clock advance: one year of monthly jobs for 100 customers on one clock.

Each customer has a renewal-like job that records an outbox event and schedules
itself a month later on the customer's clock. The figure is the seconds one
``advance_test_clock`` call takes to run all 1,200 of them, in order. The baseline
runs the same jobs (system-clock customers) through the worker's ``run_due``, with
the clock stepped a month at a time: the same work without the time machine.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from benchmarks.harness import Benchmark, Database, Figure, Stopwatch
from tollway import customers
from tollway.jobs import Registry, advance_test_clock, create_test_clock, run_due
from tollway.kernel.clock import FixedClock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import DONE, Job, enqueue
from tollway.kernel.outbox import record_event

CUSTOMERS = 100
MONTHS = 12
KIND = "bench.renewal"
T0 = datetime(2026, 1, 15, 12, tzinfo=UTC)


def add_month(at: datetime) -> datetime:
    return at.replace(year=at.year + (at.month == 12), month=at.month % 12 + 1)


def renewal(ctx: Context, payload: dict[str, Any]) -> None:
    """Look the customer up, note the renewal, schedule the next one."""
    customer = customers.get_customer_by_id(ctx, payload["customer_id"])
    now = ctx.now(customer.test_clock_id)
    record_event(
        ctx,
        "bench.renewed",
        {"at": now.isoformat()},
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )
    following = add_month(now)
    enqueue(ctx, KIND, payload, due_at=following, test_clock_id=customer.test_clock_id)


def _registry() -> Registry:
    registry = Registry()
    registry.register(KIND, renewal)
    return registry


def _seed(db: Database, clock: FixedClock, *, prefix: str, clock_id: str | None) -> None:
    with unit_of_work(db.factory) as session:
        ctx = Context(session=session, product_id=db.product_id, clock=clock)
        for n in range(CUSTOMERS):
            customer = customers.create_customer(
                ctx,
                customers.CustomerCreate(external_id=f"{prefix}{n}", test_clock=clock_id),
            )
            enqueue(
                ctx,
                KIND,
                {"customer_id": customer.id},
                due_at=add_month(T0),
                test_clock_id=clock_id,
            )


def _done(db: Database) -> int:
    with unit_of_work(db.factory) as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.status == DONE)) or 0


def advance_a_year(db: Database) -> Figure:
    registry = _registry()
    clock = FixedClock(T0)
    end = T0.replace(year=T0.year + 1)
    expected = CUSTOMERS * MONTHS

    # Baseline: the same jobs on the system clock, run by the worker month by month.
    _seed(db, clock, prefix="sys_", clock_id=None)
    with Stopwatch() as baseline:
        at = T0
        while at < end:
            at = add_month(at)
            clock.set(at)
            while run_due(db.factory, registry, clock, worker_id="bench", batch=50):
                pass
    if (baseline_done := _done(db)) != expected:
        raise AssertionError(f"baseline ran {baseline_done} jobs, expected {expected}")

    clock.set(T0)
    with unit_of_work(db.factory) as session:
        ctx = Context(session=session, product_id=db.product_id, clock=clock)
        clock_id = create_test_clock(ctx, frozen_time=T0, name="bench").id
    _seed(db, clock, prefix="tc_", clock_id=clock_id)
    with Stopwatch() as watch:
        advance_test_clock(
            db.factory,
            registry,
            clock,
            product_id=db.product_id,
            clock_id=clock_id,
            to=end,
            actor="bench",
        )
    if (done := _done(db) - baseline_done) != expected:
        raise AssertionError(f"advance ran {done} jobs, expected {expected}")
    return {
        "value": round(watch.seconds, 3),
        "unit": "s",
        "customers": CUSTOMERS,
        "jobs": expected,
        "jobs_per_second": round(expected / watch.seconds, 1),
        "baseline": {
            "name": "same jobs on the system clock through run_due, stepped monthly",
            "value": round(baseline.seconds, 3),
            "unit": "s",
        },
        "ratio_to_baseline": round(watch.seconds / baseline.seconds, 3),
    }


BENCHMARKS = [Benchmark("testclocks.advance_year", advance_a_year)]
