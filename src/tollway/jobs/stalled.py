"""Sweep: sends whose job failed for good are marked failed, not left pending.

A webhook delivery or notification channel stays ``pending`` while a job will
still attempt it. When that job fails for good (its handler raised on every run,
e.g. the database refused the outcome), nothing would ever move it on; this
periodic sweep finds such jobs, recently failed, and records the failure with
the job's last error on the delivery or channel.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tollway import notifications, webhooks
from tollway.jobs.registry import Handler, Periodic
from tollway.kernel.context import Context
from tollway.kernel.jobs import FAILED, Job

SWEEP_KIND = "jobs.fail_stalled_sends"
LOOKBACK = timedelta(days=7)
"""Jobs that failed for good this long ago or less are examined on every sweep."""


def _reason(job: Job) -> str:
    last_line = (job.last_error or "").strip().splitlines()[-1:] or ["no error recorded"]
    return last_line[0]


def fail_stalled_sends(ctx: Context, payload: dict[str, Any]) -> None:
    """Mark the deliveries and channels of recently failed send jobs as failed."""
    kinds = (webhooks.DELIVER_KIND, notifications.SEND_KIND)
    stmt = select(Job).where(
        Job.kind.in_(kinds), Job.status == FAILED, Job.finished_at >= ctx.now() - LOOKBACK
    )
    for job in ctx.session.scalars(stmt.order_by(Job.id)):
        scoped = Context(
            session=ctx.session, product_id=job.product_id or "", clock=ctx.clock, actor=ctx.actor
        )
        if job.kind == webhooks.DELIVER_KIND:
            webhooks.fail_stalled_delivery(
                scoped, str(job.payload.get("delivery_id")), reason=_reason(job)
            )
        else:
            notifications.fail_stalled_send(
                scoped,
                str(job.payload.get("notification_id")),
                str(job.payload.get("channel")),
                reason=_reason(job),
            )


HANDLERS: dict[str, Handler] = {SWEEP_KIND: fail_stalled_sends}
PERIODIC = [Periodic(SWEEP_KIND, timedelta(minutes=10))]
