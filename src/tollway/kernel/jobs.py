"""The jobs table: durable background work, enqueued inside the caller's transaction.

A job is released to workers only when the transaction that enqueued it commits.
Jobs of customers on a test clock carry ``test_clock_id`` and fall due in that
clock's time: only advancing the clock runs them. The runtime is ``tollway.jobs``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel import clock, tenancy
from tollway.kernel.context import Context
from tollway.kernel.db import Base
from tollway.kernel.ids import new_id

# The tables a job references must be mapped wherever jobs are used (a bare
# ``tollway worker`` process imports little else), or flushes cannot sort them.
_REFERENCED = (tenancy.Product, clock.TestClock)

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"


class Job(Base):
    """One unit of background work of a registered ``kind``."""

    __tablename__ = "jobs"
    __table_args__ = (Index(None, "status", "test_clock_id", "due_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"))
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    lease_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    test_clock_id: Mapped[str | None] = mapped_column(
        ForeignKey("test_clocks.id", ondelete="CASCADE")
    )
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


def enqueue(
    ctx: Context,
    kind: str,
    payload: dict[str, Any],
    *,
    due_at: datetime | None = None,
    test_clock_id: str | None = None,
    dedup_key: str | None = None,
    max_attempts: int = 8,
    product_scoped: bool = True,
) -> Job:
    """Schedule ``kind`` with ``payload`` at ``due_at`` (default: now on the clock).

    With ``dedup_key``, a job already scheduled under that key is returned instead
    of adding a second one, also when two transactions race to add it. Keys of
    product-scoped jobs are scoped to the product.
    """
    if dedup_key is not None and product_scoped:
        dedup_key = f"{ctx.product_id}:{dedup_key}"
    if dedup_key is not None:
        existing = ctx.session.scalar(select(Job).where(Job.dedup_key == dedup_key))
        if existing is not None:
            return existing
    job = Job(
        id=new_id("job"),
        product_id=ctx.product_id if product_scoped else None,
        kind=kind,
        payload=payload,
        status=PENDING,
        due_at=due_at or ctx.now(test_clock_id),
        attempts=0,
        max_attempts=max_attempts,
        test_clock_id=test_clock_id,
        dedup_key=dedup_key,
        created_at=ctx.clock.now(),
    )
    if dedup_key is None:
        ctx.session.add(job)
        return job
    try:
        with ctx.session.begin_nested():
            ctx.session.add(job)
    except IntegrityError:
        raced = ctx.session.scalar(select(Job).where(Job.dedup_key == dedup_key))
        if raced is None:
            raise
        return raced
    return job
