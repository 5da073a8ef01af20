"""Test clocks: create them, and advance one, running all work that falls due.

Advancing runs, in due order, every pending job of the clock due at or before the
target. Before each job the clock is set to that job's due time, so jobs that
schedule further jobs along the way (a renewal scheduling the next one) run too.
Each job is its own transaction, exactly as on a worker, and each step locks the
clock row before it looks for the next job: two advances of one clock take turns
instead of skipping each other's jobs and jumping the clock past them.

Before each job, and once more when no job is left, the events of the clock's
customers are relayed to the event consumers (webhooks, notifications) at the
clock's current time; deliveries they schedule then run in the same advance.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tollway.jobs.registry import Registry
from tollway.jobs.relay import relay_test_clock
from tollway.jobs.runner import error_text, perform, record_failure
from tollway.kernel.access import require_full_access
from tollway.kernel.clock import Clock, FixedClock, TestClock, ensure_utc
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.errors import Conflict, NotFound
from tollway.kernel.ids import new_id
from tollway.kernel.jobs import PENDING, Job
from tollway.kernel.outbox import record_event

MAX_JOBS_PER_ADVANCE = 100_000


def _snapshot(clock: TestClock) -> dict[str, str]:
    return {
        "id": clock.id,
        "name": clock.name,
        "frozen_time": clock.frozen_time.isoformat(),
        "status": clock.status,
    }


def create_test_clock(ctx: Context, *, frozen_time: datetime, name: str) -> TestClock:
    """A new test clock standing at ``frozen_time``."""
    require_full_access(ctx, "create test clocks")
    clock = TestClock(
        id=new_id("clock"),
        product_id=ctx.product_id,
        name=name,
        frozen_time=ensure_utc(frozen_time),
        status="ready",
        created_at=ctx.now(),
    )
    ctx.session.add(clock)
    record_event(ctx, "test_clock.created", _snapshot(clock))
    return clock


def advance_test_clock(
    factory: sessionmaker[Session],
    registry: Registry,
    clock: Clock,
    *,
    product_id: str,
    clock_id: str,
    to: datetime,
    actor: str,
    max_jobs: int = MAX_JOBS_PER_ADVANCE,
) -> TestClock:
    """Move the clock forward to ``to`` and run everything due on the way.

    Each step locks the clock row first, so concurrent advances of one clock take
    turns and jobs still run in due order; each job commits on its own.
    """
    target = ensure_utc(to)
    with unit_of_work(factory) as session:
        test_clock = _lock(session, clock_id, product_id)
        if target < test_clock.frozen_time:
            raise Conflict(
                f"test clock {clock_id} is at {test_clock.frozen_time.isoformat()}; "
                "it only moves forward",
                param="frozen_time",
            )
    for _ in range(max_jobs):
        relay_test_clock(factory, registry, clock_id)
        if not _run_next(factory, registry, clock_id, target):
            break
    else:
        raise Conflict(
            f"advancing test clock {clock_id} ran more than {max_jobs} jobs; "
            "a job keeps rescheduling itself"
        )
    with unit_of_work(factory) as session:
        test_clock = _lock(session, clock_id, product_id)
        test_clock.frozen_time = max(test_clock.frozen_time, target)
        ctx = Context(session=session, product_id=product_id, clock=clock, actor=actor)
        record_event(ctx, "test_clock.advanced", _snapshot(test_clock))
    return test_clock


def _lock(session: Session, clock_id: str, product_id: str) -> TestClock:
    test_clock = session.scalar(
        select(TestClock)
        .where(TestClock.id == clock_id, TestClock.product_id == product_id)
        .with_for_update()
    )
    if test_clock is None:
        raise NotFound(f"test clock {clock_id!r} not found", param="test_clock")
    return test_clock


def _run_next(
    factory: sessionmaker[Session], registry: Registry, clock_id: str, target: datetime
) -> bool:
    """Run the clock's earliest pending job due by ``target``; ``False`` if none is left.

    As on a worker, the job's effects and its completion commit together; when it
    fails, its transaction is rolled back and the failure recorded in another one
    (the clock still moves to the job's time).
    """
    session = factory()
    job_id: str | None = None
    try:
        test_clock = session.get_one(TestClock, clock_id, with_for_update=True)
        job = _next_job(session, clock_id, target)
        if job is None:
            return False
        job_id = job.id
        now = max(test_clock.frozen_time, job.due_at)
        test_clock.frozen_time = now
        # Everything the job does happens at the clock's time, not the wall clock's.
        perform(session, registry, FixedClock(now), job, now, number=job.attempts + 1)
        session.commit()
        return True
    except Exception:
        session.rollback()
        if job_id is None:
            raise
        error = error_text()
    finally:
        session.close()
    with unit_of_work(factory) as session:
        test_clock = session.get_one(TestClock, clock_id, with_for_update=True)
        job = session.get_one(Job, job_id)
        now = max(test_clock.frozen_time, job.due_at)
        test_clock.frozen_time = now
        job.attempts += 1
        record_failure(job, error, now)
    return True


def _next_job(session: Session, clock_id: str, target: datetime) -> Job | None:
    return session.scalar(
        select(Job)
        .where(Job.test_clock_id == clock_id, Job.status == PENDING, Job.due_at <= target)
        .order_by(Job.due_at, Job.id)
        .limit(1)
    )
