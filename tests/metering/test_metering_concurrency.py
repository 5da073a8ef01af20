"""Concurrent batches with real threads: each event counts once and rollups stay exact."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tollway.catalog import MetricCreate, create_metric
from tollway.customers import CustomerCreate, create_customer
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.metering import current_usage, ingest
from tollway.metering.models import UsageEvent, UsageEventKey

THREADS = 8


def _run_threads(
    factory: sessionmaker[Session],
    ctx: Context,
    clock: Any,
    batches: list[list[dict[str, Any]]],
) -> list[tuple[int, int]]:
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(batches))
    lock = threading.Lock()

    def work(batch: list[dict[str, Any]]) -> None:
        try:
            barrier.wait()
            with unit_of_work(factory) as session:
                worker = Context(session=session, product_id=ctx.product_id, clock=clock)
                result = ingest(worker, batch)
            with lock:
                results.append((result.accepted, result.duplicates))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def _setup(ctx: Context, aggregation: str) -> str:
    create_metric(ctx, MetricCreate(code="m", name="m", aggregation=aggregation))  # type: ignore[arg-type]
    customer = create_customer(ctx, CustomerCreate(external_id="acme"))
    ctx.session.commit()
    return customer.id


def _event(i: int, quantity: str, at: datetime) -> dict[str, Any]:
    return {
        "customer_id": "acme",
        "metric": "m",
        "event_id": f"e{i}",
        "quantity": quantity,
        "timestamp": at.isoformat(),
    }


def test_the_same_events_from_many_threads_count_once(
    ctx: Context, session_factory: sessionmaker[Session], clock: Any
) -> None:
    customer_id = _setup(ctx, "sum")
    at = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    # Every thread sends all 300 events, in its own order (reversed for odd threads).
    events = [_event(i, "1.01", at + timedelta(seconds=i)) for i in range(300)]
    batches = [events if t % 2 == 0 else events[::-1] for t in range(THREADS)]
    results = _run_threads(session_factory, ctx, clock, batches)
    assert sum(accepted for accepted, _ in results) == 300
    assert sum(duplicates for _, duplicates in results) == 300 * (THREADS - 1)
    ctx.session.rollback()
    assert ctx.session.scalar(select(func.count()).select_from(UsageEvent)) == 300
    assert ctx.session.scalar(select(func.count()).select_from(UsageEventKey)) == 300
    total = current_usage(ctx, customer_id, "m", at, at + timedelta(hours=1))
    assert total == Decimal("303.00")


def test_distinct_events_from_many_threads_add_up_exactly_in_one_cell(
    ctx: Context, session_factory: sessionmaker[Session], clock: Any
) -> None:
    customer_id = _setup(ctx, "sum")
    at = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    batches = [
        [_event(t * 1000 + i, "0.1", at + timedelta(seconds=i)) for i in range(100)]
        for t in range(THREADS)
    ]
    results = _run_threads(session_factory, ctx, clock, batches)
    assert results == [(100, 0)] * THREADS
    ctx.session.rollback()
    total = current_usage(ctx, customer_id, "m", at, at + timedelta(hours=1))
    assert total == Decimal("80.0")


def test_concurrent_gauge_updates_integrate_every_event(
    ctx: Context, session_factory: sessionmaker[Session], clock: Any
) -> None:
    customer_id = _setup(ctx, "weighted_sum")
    hour = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    # Thread t sets the gauge to t+1 at minute 6*t: the integral is known exactly.
    batches = [[_event(t, str(t + 1), hour + timedelta(minutes=6 * t))] for t in range(THREADS)]
    _run_threads(session_factory, ctx, clock, batches)
    ctx.session.rollback()
    total = current_usage(ctx, customer_id, "m", hour, hour + timedelta(hours=1))
    # values 1..7 held 6 minutes each, then 8 held for the last 18 minutes.
    expected = (sum(Decimal(v) * 6 for v in range(1, 8)) + 8 * 18) / 60
    assert total == expected
