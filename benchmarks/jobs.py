"""Job throughput: jobs through ``enqueue`` and ``run_due`` against raw SQL on the same rows.

The baseline is the least any durable job table does per job: insert the rows in
one transaction, then one transaction per row that marks it done. The measured
path does the same work through the runtime: ``enqueue`` in one transaction, then
``run_due`` batches (claim, then per job: lock, check lease, run a no-op handler
in a savepoint, mark done, commit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, update

from benchmarks.harness import Benchmark, Database, Figure, Stopwatch
from tollway.jobs import Registry, run_due
from tollway.kernel.clock import SystemClock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.ids import new_id
from tollway.kernel.jobs import DONE, PENDING, Job, enqueue

JOBS = 2000
KIND = "bench.noop"


def _noop(ctx: Context, payload: dict[str, Any]) -> None:
    """The handler: nothing, so the figure is the runtime's own cost."""


def _through_runtime(db: Database, n: int) -> tuple[float, float]:
    registry = Registry()
    registry.register(KIND, _noop)
    clock = SystemClock()
    with Stopwatch() as enqueue_watch, unit_of_work(db.factory) as session:
        ctx = Context(session=session, product_id=db.product_id, clock=clock)
        for i in range(n):
            enqueue(ctx, KIND, {"n": i})
    ran = 0
    with Stopwatch() as run_watch:
        while batch := run_due(db.factory, registry, clock, worker_id="bench"):
            ran += batch
    if ran != n:
        raise AssertionError(f"ran {ran} jobs, expected {n}")
    return enqueue_watch.seconds, run_watch.seconds


def _raw_sql(db: Database, n: int) -> tuple[float, float]:
    now = SystemClock().now()
    rows = [_row(db.product_id, i, now) for i in range(n)]
    with Stopwatch() as insert_watch, unit_of_work(db.factory) as session:
        session.execute(insert(Job), rows)
    with Stopwatch() as update_watch:
        for row in rows:
            with unit_of_work(db.factory) as session:
                session.execute(
                    update(Job)
                    .where(Job.id == row["id"])
                    .values(status=DONE, attempts=1, finished_at=now)
                )
    return insert_watch.seconds, update_watch.seconds


def _row(product_id: str, i: int, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id("job"),
        "product_id": product_id,
        "kind": KIND,
        "payload": {"n": i},
        "status": PENDING,
        "due_at": now,
        "attempts": 0,
        "max_attempts": 8,
        "created_at": now,
    }


def _clear(db: Database) -> None:
    with unit_of_work(db.factory) as session:
        session.execute(delete(Job))


def run_due_throughput(db: Database) -> Figure:
    _through_runtime(db, 50)  # warm up connections and statement caches
    _clear(db)
    raw_insert, raw_update = _raw_sql(db, JOBS)
    _clear(db)
    enqueued, ran = _through_runtime(db, JOBS)
    value = JOBS / (enqueued + ran)
    baseline = JOBS / (raw_insert + raw_update)
    return {
        "value": round(value, 1),
        "unit": "jobs/s",
        "jobs": JOBS,
        "enqueue_seconds": round(enqueued, 3),
        "run_seconds": round(ran, 3),
        "baseline": {
            "name": "raw INSERT of the rows, then one UPDATE-to-done transaction per row",
            "value": round(baseline, 1),
            "unit": "rows/s",
            "insert_seconds": round(raw_insert, 3),
            "update_seconds": round(raw_update, 3),
        },
        "ratio_to_baseline": round(value / baseline, 3),
    }


BENCHMARKS = [Benchmark("jobs.run_due", run_due_throughput)]
