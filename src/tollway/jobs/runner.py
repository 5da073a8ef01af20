"""Claiming and running jobs, safely from any number of workers.

A job is claimed in one short transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite serializes writers) that sets a lease. It then runs in a
second transaction that also marks it done, so its effects and its completion
commit together. A worker that dies mid-job loses its lease, and the job is
claimed again; a handler that raises is retried with exponential backoff.
"""

from __future__ import annotations

import logging
import traceback
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tollway.jobs.registry import Registry
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import DONE, FAILED, PENDING, RUNNING, Job

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """Delay before retry number ``attempts``: 30 s, 1 min, 2 min, ... at most 1 h."""
    delay: timedelta = BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return min(delay, BACKOFF_CAP)


def claim(
    session: Session, *, now: datetime, worker_id: str, lease: timedelta, limit: int
) -> list[tuple[str, int]]:
    """Lease up to ``limit`` due jobs (not on a test clock); returns (id, attempt) pairs."""
    due = or_(
        and_(Job.status == PENDING, Job.due_at <= now),
        and_(Job.status == RUNNING, Job.lease_until < now),
    )
    ids = list(
        session.scalars(
            select(Job.id)
            .where(due, Job.test_clock_id.is_(None))
            .order_by(Job.due_at, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    claimed: list[tuple[str, int]] = []
    for job_id in ids:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, due)
            .values(
                status=RUNNING,
                attempts=Job.attempts + 1,
                lease_until=now + lease,
                locked_by=worker_id,
            )
            .returning(Job.attempts)
        )
        attempt = result.scalar_one_or_none()
        if attempt is not None:
            claimed.append((job_id, attempt))
    return claimed


def execute(session: Session, registry: Registry, clock: Clock, job: Job, now: datetime) -> bool:
    """Run ``job`` inside ``session``'s transaction and record the outcome.

    The handler runs in a savepoint: when it raises, its writes are undone and the
    job is rescheduled (or marked failed after ``max_attempts``). Returns success.
    """
    handler = registry.handlers.get(job.kind)
    ctx = Context(
        session=session, product_id=job.product_id or "", clock=clock, actor=f"job:{job.kind}"
    )
    try:
        if handler is None:
            raise LookupError(f"no handler registered for job kind {job.kind!r}")
        with session.begin_nested():
            handler(ctx, dict(job.payload))
    except Exception:
        job.last_error = traceback.format_exc(limit=20)[-4000:]
        job.lease_until = None
        job.locked_by = None
        if job.attempts >= job.max_attempts:
            job.status = FAILED
            job.finished_at = now
            log.error("job %s (%s) failed for good:\n%s", job.id, job.kind, job.last_error)
        else:
            job.status = PENDING
            job.due_at = now + backoff(job.attempts)
            log.warning("job %s (%s) failed, retry at %s", job.id, job.kind, job.due_at)
        return False
    job.status = DONE
    job.finished_at = now
    job.lease_until = None
    return True


def run_claimed(
    factory: sessionmaker[Session],
    registry: Registry,
    clock: Clock,
    *,
    job_id: str,
    attempt: int,
    worker_id: str,
) -> bool | None:
    """Run a job this worker claimed; ``None`` if the lease was lost meanwhile."""
    with unit_of_work(factory) as session:
        job = session.get(Job, job_id, with_for_update=True)
        if (
            job is None
            or job.status != RUNNING
            or job.locked_by != worker_id
            or job.attempts != attempt
        ):
            return None
        return execute(session, registry, clock, job, clock.now())


def run_due(
    factory: sessionmaker[Session],
    registry: Registry,
    clock: Clock,
    *,
    worker_id: str,
    lease: timedelta = timedelta(minutes=5),
    batch: int = 20,
) -> int:
    """Claim and run one batch of due jobs; returns how many were run."""
    with unit_of_work(factory) as session:
        claimed = claim(session, now=clock.now(), worker_id=worker_id, lease=lease, limit=batch)
    for job_id, attempt in claimed:
        run_claimed(factory, registry, clock, job_id=job_id, attempt=attempt, worker_id=worker_id)
    return len(claimed)
