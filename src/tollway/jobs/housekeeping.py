"""Housekeeping jobs: forget old idempotency keys, prune finished jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from tollway.jobs.registry import Handler, Periodic
from tollway.kernel.context import Context
from tollway.kernel.idempotency import purge_before
from tollway.kernel.jobs import DONE, Job

IDEMPOTENCY_RETENTION = timedelta(hours=24)
FINISHED_JOB_RETENTION = timedelta(days=30)


def purge_idempotency_keys(ctx: Context, payload: dict[str, Any]) -> None:
    """Keys are honoured for 24 hours, as Stripe does."""
    purge_before(ctx.session, ctx.now() - IDEMPOTENCY_RETENTION)


def prune_finished_jobs(ctx: Context, payload: dict[str, Any]) -> None:
    """Finished jobs are kept 30 days for inspection, then deleted."""
    cutoff = ctx.now() - FINISHED_JOB_RETENTION
    ctx.session.execute(delete(Job).where(Job.status == DONE, Job.finished_at < cutoff))


HANDLERS: dict[str, Handler] = {
    "housekeeping.purge_idempotency_keys": purge_idempotency_keys,
    "housekeeping.prune_finished_jobs": prune_finished_jobs,
}
PERIODIC = [
    Periodic("housekeeping.purge_idempotency_keys", timedelta(hours=1)),
    Periodic("housekeeping.prune_finished_jobs", timedelta(days=1)),
]
