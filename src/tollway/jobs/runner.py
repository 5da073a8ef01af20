"""Claiming and running jobs, safely from any number of workers.

A job is claimed in one short transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite serializes writers) that sets a lease and counts the attempt.
It then runs in a second transaction that locks its row, checks the lease is still
this worker's, runs the handler and marks the job done, so its effects and its
completion commit together. Exactly-once effects follow:

- while a job runs, its row stays locked, so no other worker can claim it even
  when the lease runs out meanwhile (claims skip locked rows);
- a worker that dies between claim and run loses its lease; the job is claimed
  again after ``lease`` and the stale worker's attempt number no longer matches;
- a handler that raises has its transaction rolled back, writes and all; the
  failed attempt is recorded in a new transaction and the job retried with
  exponential backoff, or marked ``failed`` after ``max_attempts``. Expired
  leases count as attempts too, so a job that kills its worker every time fails
  instead of cycling forever.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Collection
from contextlib import closing
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tollway.jobs.registry import Handler, Registry
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import DONE, FAILED, PENDING, RUNNING, Job
from tollway.kernel.outside import OutsideWork

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
DEFAULT_LEASE = timedelta(minutes=5)
DEFAULT_BATCH = 20
_MAX_ERROR_CHARS = 4000


def backoff(attempts: int) -> timedelta:
    """Delay before retry number ``attempts``: 30 s, 1 min, 2 min, ... at most 1 h."""
    exponent = min(max(attempts - 1, 0), 20)  # 30 s * 2**20 is far past the cap
    return min(BACKOFF_BASE * (1 << exponent), BACKOFF_CAP)


def claim(
    session: Session,
    *,
    now: datetime,
    worker_id: str,
    lease: timedelta,
    limit: int,
    apart: Collection[str] = (),
) -> list[tuple[str, int]]:
    """Lease up to ``limit`` due jobs (not on a test clock), in due order, at most one
    of the kinds in ``apart`` (the others stay for other workers).

    Returns (id, attempt) pairs; the attempt number identifies this lease. Jobs
    whose lease expired with no attempts left are marked failed instead.
    """
    due = or_(
        and_(Job.status == PENDING, Job.due_at <= now),
        and_(Job.status == RUNNING, Job.lease_until < now),
    )
    rows = session.execute(
        select(Job.id, Job.kind, Job.status, Job.attempts, Job.max_attempts)
        .where(due, Job.test_clock_id.is_(None))
        .order_by(Job.due_at, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if apart:
        apart_rows = [r for r in rows if r.kind in apart]
        rows = [r for r in rows if r.kind not in apart or r is apart_rows[0]]
    runnable = [r.id for r in rows if r.status == PENDING or r.attempts < r.max_attempts]
    for row in rows:
        if row.status == RUNNING and row.attempts >= row.max_attempts:
            _fail_exhausted(session, row.id, row.max_attempts, now)
    if not runnable:
        return []
    leased = session.execute(
        update(Job)
        .where(Job.id.in_(runnable))
        .values(
            status=RUNNING,
            attempts=Job.attempts + 1,
            lease_until=now + lease,
            locked_by=worker_id,
        )
        .returning(Job.id, Job.attempts)
        .execution_options(synchronize_session=False)
    )
    attempts = {row.id: row.attempts for row in leased}
    return [(job_id, attempts[job_id]) for job_id in runnable]


def _fail_exhausted(session: Session, job_id: str, max_attempts: int, now: datetime) -> None:
    error = (
        f"lease expired on attempt {max_attempts} of {max_attempts} "
        "(the worker stopped or the job outlived its lease); no attempts left"
    )
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(status=FAILED, finished_at=now, lease_until=None, last_error=error)
        .execution_options(synchronize_session=False)
    )
    log.error("job %s failed for good: %s", job_id, error)


class UnknownKind(LookupError):
    """No handler is registered for the job's kind (maybe only newer workers know it)."""


def _context(session: Session, job: Job, clock: Clock) -> Context:
    return Context(
        session=session, product_id=job.product_id or "", clock=clock, actor=f"job:{job.kind}"
    )


def _handler(registry: Registry, job: Job) -> Handler:
    handler = registry.handlers.get(job.kind)
    if handler is None:
        raise UnknownKind(f"no handler registered for job kind {job.kind!r}")
    return handler


def _finish(session: Session, job: Job, now: datetime, number: int) -> None:
    job.attempts = number
    job.status = DONE
    job.finished_at = now
    job.lease_until = None
    job.last_error = None
    session.flush()  # constraint errors surface here, as the handler's


def perform(
    session: Session, registry: Registry, clock: Clock, job: Job, now: datetime, *, number: int
) -> None:
    """Run ``job``'s handler in ``session``'s transaction and mark the job done.

    ``number`` is the attempt being made. Raises whatever the handler raised; the
    caller then rolls the whole transaction back (undoing the handler's writes) and
    records the failure in a new one with :func:`record_failure`. An
    :class:`OutsideWork` handler runs all its steps in this one transaction.
    """
    handler = _handler(registry, job)
    ctx = _context(session, job, clock)
    if isinstance(handler, OutsideWork):
        handler.run_at_once(ctx, dict(job.payload))
    else:
        handler(ctx, dict(job.payload))
    _finish(session, job, now, number)


def record_failure(job: Job, error: str, now: datetime) -> None:
    """Reschedule ``job`` after a failed attempt, or fail it when none are left.

    ``job.attempts`` counts the failed attempt.
    """
    # PostgreSQL text cannot hold NUL; an error that cannot be saved would loop.
    job.last_error = error.replace("\x00", "\\x00")[-_MAX_ERROR_CHARS:]
    job.lease_until = None
    job.locked_by = None
    if job.attempts >= job.max_attempts:
        job.status = FAILED
        job.finished_at = now
        log.error("job %s (%s) failed for good:\n%s", job.id, job.kind, job.last_error)
    else:
        job.status = PENDING
        job.due_at = now + backoff(job.attempts)
        log.warning("job %s (%s) failed, retry at %s", job.id, job.kind, job.due_at.isoformat())


def error_text() -> str:
    """The exception being handled, as stored in ``last_error``."""
    return traceback.format_exc(limit=20)


def _owned(session: Session, job_id: str, number: int, worker_id: str) -> Job | None:
    """The job, locked, if this worker's lease (attempt ``number``) still holds it."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status != RUNNING or job.locked_by != worker_id or job.attempts != number:
        return None
    return job


def run_claimed(
    factory: sessionmaker[Session],
    registry: Registry,
    clock: Clock,
    *,
    job_id: str,
    attempt: int,
    worker_id: str,
) -> bool | None:
    """Run a job this worker claimed: ``True`` done, ``False`` failed (to be retried or
    failed for good), ``None`` if the lease was lost meanwhile and nothing was done.

    The job's effects and its completion commit in one transaction (for
    :class:`OutsideWork`, its ``complete`` step's). When anything in it raises (the
    handler, a constraint at flush, the commit), it is rolled back and the failed
    attempt is recorded in a second transaction, if the lease still holds.
    """
    try:
        outcome = _attempt(
            factory, registry, clock, job_id=job_id, attempt=attempt, worker_id=worker_id
        )
    except Exception:
        error = error_text()
    else:
        if outcome is None:
            log.info("job %s: lease %d of %s was lost; skipped", job_id, attempt, worker_id)
        return outcome
    with unit_of_work(factory) as session:
        job = _owned(session, job_id, attempt, worker_id)
        if job is None:
            return None
        record_failure(job, error, clock.now())
    return False


def _attempt(
    factory: sessionmaker[Session],
    registry: Registry,
    clock: Clock,
    *,
    job_id: str,
    attempt: int,
    worker_id: str,
) -> bool | None:
    with closing(factory()) as session:
        job = _owned(session, job_id, attempt, worker_id)
        if job is None:
            return None
        handler = _handler(registry, job)
        if not isinstance(handler, OutsideWork):
            perform(session, registry, clock, job, clock.now(), number=attempt)
            session.commit()
            return True
        payload = dict(job.payload)
        prepared = handler.prepare(_context(session, job, clock), payload)
        session.commit()  # no transaction stays open while we wait on the outside
    result = handler.perform(prepared) if prepared is not None else None
    with closing(factory()) as session:
        job = _owned(session, job_id, attempt, worker_id)
        if job is None:
            return None
        if prepared is not None:
            handler.complete(_context(session, job, clock), payload, prepared, result)
        _finish(session, job, clock.now(), attempt)
        session.commit()
    return True


def run_due(
    factory: sessionmaker[Session],
    registry: Registry,
    clock: Clock,
    *,
    worker_id: str,
    lease: timedelta = DEFAULT_LEASE,
    batch: int = DEFAULT_BATCH,
) -> int:
    """Claim and run one batch of due jobs; returns how many were claimed."""
    with unit_of_work(factory) as session:
        claimed = claim(
            session,
            now=clock.now(),
            worker_id=worker_id,
            lease=lease,
            limit=batch,
            apart=registry.claim_apart,
        )
    for job_id, attempt in claimed:
        try:
            run_claimed(
                factory, registry, clock, job_id=job_id, attempt=attempt, worker_id=worker_id
            )
        except Exception:
            # Not even the failure could be recorded (the database is in trouble): the
            # lease runs out and the job is claimed again. Try the rest of the batch.
            log.exception("job %s: could not record its outcome", job_id)
    return len(claimed)
