"""``advance_test_clock`` as a service: ordering under concurrency, runaway guard."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jobkit import Jobs

from tollway.jobs import Registry, advance_test_clock, create_test_clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.errors import Conflict, NotFound
from tollway.kernel.jobs import enqueue
from tollway.kernel.tenancy import ensure_product

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _new_clock(jobs: Jobs, at: datetime = T0) -> str:
    with unit_of_work(jobs.factory) as session:
        return create_test_clock(jobs.context(session), frozen_time=at, name="t").id


def _advance(jobs: Jobs, registry: Registry, clock_id: str, to: datetime, **kw: Any) -> datetime:
    clock = advance_test_clock(
        jobs.factory,
        registry,
        jobs.clock,
        product_id=jobs.product_id,
        clock_id=clock_id,
        to=to,
        actor="test",
        **kw,
    )
    return clock.frozen_time


def _daily_chain(seen: list[datetime], lock: threading.Lock) -> Any:
    def handler(ctx: Context, payload: dict[str, Any]) -> None:
        now = ctx.now(payload["clock_id"])
        with lock:
            seen.append(now)
        enqueue(ctx, "test.daily", payload, due_at=now + DAY, test_clock_id=payload["clock_id"])

    return handler


def test_concurrent_advances_of_one_clock_run_each_job_once_in_order(
    jobs: Jobs, registry: Registry
) -> None:
    seen: list[datetime] = []
    registry.register("test.daily", _daily_chain(seen, threading.Lock()))
    clock_id = _new_clock(jobs)
    jobs.enqueue("test.daily", {"clock_id": clock_id}, due_at=T0 + DAY, test_clock_id=clock_id)

    targets = [T0 + 60 * DAY, T0 + 30 * DAY, T0 + 45 * DAY, T0 + 10 * DAY]
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def advancer(to: datetime) -> None:
        try:
            barrier.wait(30)
            _advance(jobs, registry, clock_id, to)
        except Conflict:
            pass  # a later advance already moved the clock past ``to``
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=advancer, args=(to,)) for to in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == []
    assert seen == [T0 + n * DAY for n in range(1, 61)]
    assert _advance(jobs, registry, clock_id, T0 + 60 * DAY) == T0 + 60 * DAY


def test_runaway_job_is_stopped_with_409(jobs: Jobs, registry: Registry) -> None:
    def forever(ctx: Context, payload: dict[str, Any]) -> None:
        enqueue(ctx, "test.forever", payload, test_clock_id=payload["clock_id"])

    registry.register("test.forever", forever)
    clock_id = _new_clock(jobs)
    jobs.enqueue("test.forever", {"clock_id": clock_id}, test_clock_id=clock_id)
    with pytest.raises(Conflict, match="keeps rescheduling itself"):
        _advance(jobs, registry, clock_id, T0 + DAY, max_jobs=25)
    assert jobs.count() == 26


def test_clock_of_another_product_is_not_found(jobs: Jobs, registry: Registry, clock: Any) -> None:
    clock_id = _new_clock(jobs)
    with unit_of_work(jobs.factory) as session:
        other = ensure_product(session, code="other", name="Other", clock=clock).id
    with pytest.raises(NotFound):
        advance_test_clock(
            jobs.factory,
            registry,
            clock,
            product_id=other,
            clock_id=clock_id,
            to=T0 + DAY,
            actor="test",
        )


def test_naive_target_is_refused(jobs: Jobs, registry: Registry) -> None:
    clock_id = _new_clock(jobs)
    with pytest.raises(ValueError, match="naive"):
        _advance(jobs, registry, clock_id, datetime(2026, 2, 1))  # noqa: DTZ001
