"""The sweep of charges left ``processing``.

An attempt is ``processing`` while its charge job asks the provider. When that job
ends without an outcome (it failed for good while the provider was unreachable, or
a worker died and nothing ran it again), the attempt would stay ``processing``
forever. Every ``payments.sweep_processing`` run finds attempts processing for
longer than :data:`STALE_AFTER` on their clock with no live charge job, and runs
the charge again (same attempt, same operation id: the provider replays what it
did). After :data:`MAX_RECHECKS` such runs the attempt fails for good
(``provider_unreachable``, no retry: nobody knows whether money moved, and a new
attempt could charge twice; an operator looks at the provider).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tollway.kernel.context import Context
from tollway.kernel.jobs import DONE, FAILED, Job, enqueue
from tollway.payments.models import PaymentAttempt
from tollway.payments.service import outcomes

SWEEP_JOB = "payments.sweep_processing"
STALE_AFTER = timedelta(hours=1)
MAX_RECHECKS = 3
PERIODIC: dict[str, timedelta] = {SWEEP_JOB: timedelta(minutes=15)}


def sweep_processing(ctx: Context, payload: dict[str, Any]) -> None:
    """Ask again (or, after :data:`MAX_RECHECKS`, fail) stale processing attempts."""
    stmt = select(PaymentAttempt).where(PaymentAttempt.status == outcomes.PROCESSING)
    for attempt in ctx.session.scalars(stmt.order_by(PaymentAttempt.id)).all():
        scoped = outcomes.in_product(ctx, attempt.product_id)
        if attempt.attempted_at > scoped.now(attempt.test_clock_id) - STALE_AFTER:
            continue
        keys = [outcomes.charge_key(attempt.invoice_id, attempt.number)] + [
            f"{outcomes.charge_key(attempt.invoice_id, attempt.number)}:recheck:{n}"
            for n in range(1, MAX_RECHECKS + 1)
        ]
        jobs = {
            job.dedup_key: job
            for job in ctx.session.scalars(
                select(Job).where(Job.dedup_key.in_([f"{attempt.product_id}:{k}" for k in keys]))
            )
        }
        if any(job.status not in (DONE, FAILED) for job in jobs.values()):
            continue  # a charge job will still run
        if len(jobs) >= len(keys):
            outcomes.fail(
                scoped,
                attempt,
                "provider_unreachable",
                "the provider never answered; check the payment at the provider",
                retry=False,
            )
            continue
        enqueue(
            scoped,
            outcomes.CHARGE_JOB,
            {"invoice_id": attempt.invoice_id, "attempt": attempt.number},
            test_clock_id=attempt.test_clock_id,
            dedup_key=keys[len(jobs)],
            max_attempts=20,
        )
