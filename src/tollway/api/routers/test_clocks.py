"""``/v1/test-clocks`` (only when ``TOLLWAY_TEST_MODE=true``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from tollway import jobs
from tollway.api.deps import AppStateDep, Ctx
from tollway.api.routing import resource_router
from tollway.kernel.access import require_full_access
from tollway.kernel.clock import TestClock, load_test_clock
from tollway.kernel.validation import INPUT_CONFIG, Instant

router = resource_router("test clocks")
ClockPath = Annotated[str, Path(max_length=64)]


class TestClockCreate(BaseModel):
    model_config = INPUT_CONFIG

    frozen_time: Instant
    name: str = Field(default="test clock", min_length=1, max_length=200)


class TestClockAdvance(BaseModel):
    model_config = INPUT_CONFIG

    frozen_time: Instant


class TestClockOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    frozen_time: datetime
    status: str
    created_at: datetime


def _out(clock: TestClock) -> TestClockOut:
    return TestClockOut.model_validate(clock)


@router.post("/test-clocks", status_code=201)
def create_test_clock(ctx: Ctx, body: TestClockCreate) -> TestClockOut:
    """A clock standing still at ``frozen_time``; attach customers to it on creation."""
    return _out(jobs.create_test_clock(ctx, frozen_time=body.frozen_time, name=body.name))


@router.get("/test-clocks/{clock_id}")
def get_test_clock(ctx: Ctx, clock_id: ClockPath) -> TestClockOut:
    """One test clock."""
    require_full_access(ctx, "read test clocks")
    return _out(load_test_clock(ctx.session, ctx.product_id, clock_id))


@router.post("/test-clocks/{clock_id}/advance")
def advance_test_clock(
    ctx: Ctx, state: AppStateDep, clock_id: ClockPath, body: TestClockAdvance
) -> TestClockOut:
    """Move forward to ``frozen_time``, running every job that falls due, in order.

    Answers once all of it is done. Each job commits on its own, as on a worker.
    """
    require_full_access(ctx, "advance test clocks")
    ctx.session.rollback()  # release the request's snapshot before the jobs' transactions
    clock = jobs.advance_test_clock(
        state.session_factory,
        state.registry,
        state.clock,
        product_id=ctx.product_id,
        clock_id=clock_id,
        to=body.frozen_time,
        actor=ctx.actor,
    )
    return _out(clock)
