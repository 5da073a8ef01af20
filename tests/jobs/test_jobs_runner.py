"""The runner: claim, run, complete, retry with backoff, fail, leases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from jobkit import Jobs, recording
from sqlalchemy import insert, select

from tollway.jobs import Registry, backoff
from tollway.jobs.runner import claim, run_claimed
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import DONE, FAILED, PENDING, RUNNING, Job
from tollway.kernel.outbox import Event, record_event

Calls = list[tuple[datetime, dict[str, Any]]]


class Boom(Exception):
    pass


def _claim(jobs: Jobs, worker_id: str, *, lease: timedelta = timedelta(minutes=5)) -> list[Any]:
    with unit_of_work(jobs.factory) as session:
        return claim(session, now=jobs.clock.now(), worker_id=worker_id, lease=lease, limit=10)


def test_backoff_doubles_from_30_seconds_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
    ]
    assert backoff(30) == timedelta(hours=1)
    assert backoff(10_000) == timedelta(hours=1)


def test_registered_handler_runs_once_and_job_is_done(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    calls: Calls = []
    registry.register("test.record", recording(calls, "test.recorded"))
    job_id = jobs.enqueue("test.record", {"n": 1})

    assert jobs.run_due(registry) == 1
    assert jobs.run_due(registry) == 0

    assert calls == [(clock.now(), {"n": 1})]
    job = jobs.get(job_id)
    assert job.status == DONE
    assert job.attempts == 1
    assert job.finished_at == clock.now()
    assert job.lease_until is None
    assert job.last_error is None
    assert [e.data for e in jobs.events("test.recorded")] == [{"n": 1}]


def test_registering_a_kind_twice_is_refused(registry: Registry) -> None:
    registry.register("test.once", recording([]))
    with pytest.raises(ValueError, match="already registered"):
        registry.register("test.once", recording([]))


def test_jobs_wait_for_their_due_time_and_run_in_due_order(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    calls: Calls = []
    registry.register("test.record", recording(calls))
    now = clock.now()
    jobs.enqueue("test.record", {"n": 3}, due_at=now + timedelta(minutes=3))
    jobs.enqueue("test.record", {"n": 1}, due_at=now + timedelta(minutes=1))
    jobs.enqueue("test.record", {"n": 2}, due_at=now + timedelta(minutes=2))

    assert jobs.run_due(registry) == 0
    clock.advance(timedelta(minutes=2))
    assert jobs.drain(registry) == 2
    clock.advance(timedelta(minutes=1))
    assert jobs.drain(registry) == 1
    assert [payload["n"] for _, payload in calls] == [1, 2, 3]


def test_failing_handler_is_retried_with_backoff_then_fails(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    attempts: list[datetime] = []

    def flaky(ctx: Context, payload: dict[str, Any]) -> None:
        attempts.append(ctx.now())
        raise Boom(f"attempt {len(attempts)} went wrong")

    registry.register("test.flaky", flaky)
    job_id = jobs.enqueue("test.flaky", max_attempts=4)

    for attempt, delay in enumerate([30, 60, 120], start=1):
        ran_at = clock.now()
        assert jobs.run_due(registry) == 1
        job = jobs.get(job_id)
        assert job.status == PENDING
        assert job.attempts == attempt
        assert job.due_at == ran_at + timedelta(seconds=delay)
        assert job.lease_until is None
        assert job.locked_by is None
        assert f"Boom: attempt {attempt} went wrong" in (job.last_error or "")
        # Not a moment early.
        clock.set(job.due_at - timedelta(microseconds=1))
        assert jobs.run_due(registry) == 0
        clock.set(job.due_at)

    assert jobs.run_due(registry) == 1
    job = jobs.get(job_id)
    assert job.status == FAILED
    assert job.attempts == 4
    assert job.finished_at == clock.now()
    assert "Boom: attempt 4 went wrong" in (job.last_error or "")
    clock.advance(timedelta(days=1))
    assert jobs.run_due(registry) == 0
    assert len(attempts) == 4


def test_a_retry_that_succeeds_completes_the_job(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    seen: list[int] = []

    def second_time_lucky(ctx: Context, payload: dict[str, Any]) -> None:
        seen.append(1)
        if len(seen) == 1:
            raise Boom("first try")
        record_event(ctx, "test.lucky", {})

    registry.register("test.lucky", second_time_lucky)
    job_id = jobs.enqueue("test.lucky")
    assert jobs.run_due(registry) == 1
    clock.advance(timedelta(seconds=30))
    assert jobs.run_due(registry) == 1
    job = jobs.get(job_id)
    assert (job.status, job.attempts) == (DONE, 2)
    assert len(jobs.events("test.lucky")) == 1


@pytest.mark.parametrize("flush", [False, True], ids=["pending", "flushed"])
def test_writes_of_a_failed_handler_are_rolled_back(
    jobs: Jobs, registry: Registry, flush: bool
) -> None:
    def writes_then_raises(ctx: Context, payload: dict[str, Any]) -> None:
        record_event(ctx, "test.should_vanish", {})
        if flush:
            ctx.session.flush()
        raise Boom("after writing")

    registry.register("test.vanish", writes_then_raises)
    job_id = jobs.enqueue("test.vanish", max_attempts=1)
    assert jobs.run_due(registry) == 1

    assert jobs.events("test.should_vanish") == []
    job = jobs.get(job_id)
    assert job.status == FAILED
    assert "after writing" in (job.last_error or "")


def test_database_error_in_a_handler_is_rolled_back_and_retried(
    jobs: Jobs, registry: Registry
) -> None:
    """A handler whose SQL fails (here a unique violation) leaves a usable transaction."""

    def duplicate_insert(ctx: Context, payload: dict[str, Any]) -> None:
        row = {
            "id": "evt_duplicate",
            "product_id": ctx.product_id,
            "type": "test.dup",
            "data": {},
            "created_at": ctx.now(),
        }
        ctx.session.execute(insert(Event), [row])
        ctx.session.execute(insert(Event), [row])

    registry.register("test.dup", duplicate_insert)
    job_id = jobs.enqueue("test.dup")
    assert jobs.run_due(registry) == 1
    job = jobs.get(job_id)
    assert (job.status, job.attempts) == (PENDING, 1)
    assert "IntegrityError" in (job.last_error or "")
    assert jobs.events("test.dup") == []


def test_unknown_kind_fails_cleanly_without_stopping_the_batch(
    jobs: Jobs, registry: Registry
) -> None:
    calls: Calls = []
    registry.register("test.record", recording(calls))
    unknown = jobs.enqueue("test.no_such_kind", max_attempts=1)
    retried = jobs.enqueue("test.no_such_kind_either")
    jobs.enqueue("test.record", {"n": 1})

    assert jobs.run_due(registry) == 3

    job = jobs.get(unknown)
    assert job.status == FAILED
    assert "no handler registered for job kind 'test.no_such_kind'" in (job.last_error or "")
    # With attempts left it is retried like any failure (a newer worker may know it).
    job = jobs.get(retried)
    assert (job.status, job.attempts) == (PENDING, 1)
    assert len(calls) == 1


def test_expired_lease_is_reclaimed_by_another_worker(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    calls: Calls = []
    registry.register("test.record", recording(calls, "test.recorded"))
    job_id = jobs.enqueue("test.record")

    # Worker A claims the job and dies before running it.
    assert _claim(jobs, "worker-a") == [(job_id, 1)]
    job = jobs.get(job_id)
    assert (job.status, job.locked_by) == (RUNNING, "worker-a")
    assert job.lease_until == clock.now() + timedelta(minutes=5)

    clock.advance(timedelta(minutes=5))
    assert jobs.run_due(registry, worker_id="worker-b") == 0  # the lease still holds
    clock.advance(timedelta(microseconds=1))
    assert jobs.run_due(registry, worker_id="worker-b") == 1

    job = jobs.get(job_id)
    assert (job.status, job.attempts, job.locked_by) == (DONE, 2, "worker-b")
    assert len(calls) == 1
    assert len(jobs.events("test.recorded")) == 1


def test_worker_that_lost_its_lease_does_not_run_or_complete_the_job(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    calls: Calls = []
    registry.register("test.record", recording(calls))
    job_id = jobs.enqueue("test.record")

    [(_, attempt_a)] = _claim(jobs, "worker-a", lease=timedelta(seconds=10))
    clock.advance(timedelta(seconds=11))
    [(_, attempt_b)] = _claim(jobs, "worker-b", lease=timedelta(seconds=10))
    assert (attempt_a, attempt_b) == (1, 2)

    def run_as(worker_id: str, attempt: int) -> bool | None:
        return run_claimed(
            jobs.factory,
            registry,
            clock,
            job_id=job_id,
            attempt=attempt,
            worker_id=worker_id,
        )

    assert run_as("worker-a", attempt_a) is None
    job = jobs.get(job_id)
    assert (job.status, job.locked_by) == (RUNNING, "worker-b")
    assert calls == []

    assert run_as("worker-b", attempt_b) is True
    assert run_as("worker-b", attempt_b) is None  # already done
    assert run_as("worker-a", attempt_a) is None
    assert jobs.get(job_id).status == DONE
    assert len(calls) == 1


def test_same_worker_id_with_a_stale_attempt_does_not_run(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    """A restarted worker reusing its id must not run what its previous life claimed."""
    calls: Calls = []
    registry.register("test.record", recording(calls))
    job_id = jobs.enqueue("test.record")
    [(_, first)] = _claim(jobs, "worker-a", lease=timedelta(seconds=1))
    clock.advance(timedelta(seconds=2))
    [(_, second)] = _claim(jobs, "worker-a", lease=timedelta(seconds=1))
    assert (
        run_claimed(
            jobs.factory, registry, clock, job_id=job_id, attempt=first, worker_id="worker-a"
        )
        is None
    )
    assert (
        run_claimed(
            jobs.factory, registry, clock, job_id=job_id, attempt=second, worker_id="worker-a"
        )
        is True
    )
    assert len(calls) == 1


def test_job_whose_worker_keeps_dying_fails_after_max_attempts(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    """Leases that expire count as attempts: a poison job does not cycle forever."""
    calls: Calls = []
    registry.register("test.record", recording(calls))
    job_id = jobs.enqueue("test.record", max_attempts=3)
    for n in range(3):
        assert _claim(jobs, f"dies-{n}", lease=timedelta(seconds=1)) == [(job_id, n + 1)]
        clock.advance(timedelta(seconds=2))

    assert jobs.run_due(registry) == 0
    job = jobs.get(job_id)
    assert job.status == FAILED
    assert job.attempts == 3
    assert "lease expired" in (job.last_error or "")
    assert job.finished_at == clock.now()
    assert calls == []


def test_claim_skips_future_jobs(jobs: Jobs, clock: Any) -> None:
    job_id = jobs.enqueue("test.record", due_at=clock.now() + timedelta(seconds=1))
    assert _claim(jobs, "worker-a") == []
    clock.advance(timedelta(seconds=1))
    assert _claim(jobs, "worker-a") == [(job_id, 1)]


def test_handler_context_carries_product_clock_and_actor(
    jobs: Jobs, registry: Registry, clock: Any, product_id: str
) -> None:
    seen: list[Context] = []

    def keep_context(ctx: Context, payload: dict[str, Any]) -> None:
        seen.append(ctx)

    registry.register("test.ctx", keep_context)
    jobs.enqueue("test.ctx")
    jobs.run_due(registry)
    [ctx] = seen
    assert ctx.product_id == product_id
    assert ctx.clock is clock
    assert ctx.actor == "job:test.ctx"
    assert ctx.customer_scope is None


def test_payload_round_trips_as_json(jobs: Jobs, registry: Registry) -> None:
    calls: Calls = []
    registry.register("test.record", recording(calls))
    payload = {"s": "x", "n": 1, "nested": {"list": [1, 2, None]}, "flag": True}
    jobs.enqueue("test.record", payload)
    jobs.run_due(registry)
    assert calls[0][1] == payload


def test_batch_limit_is_respected(jobs: Jobs, registry: Registry) -> None:
    registry.register("test.record", recording([]))
    for n in range(5):
        jobs.enqueue("test.record", {"n": n})
    assert jobs.run_due(registry, batch=2) == 2
    assert jobs.run_due(registry, batch=2) == 2
    assert jobs.run_due(registry, batch=2) == 1
    assert jobs.run_due(registry, batch=2) == 0
    with unit_of_work(jobs.factory) as session:
        assert set(session.scalars(select(Job.status))) == {DONE}


def test_error_text_that_postgresql_cannot_store_is_still_recorded(
    jobs: Jobs, registry: Registry
) -> None:
    def nul(ctx: Context, payload: dict[str, Any]) -> None:
        raise Boom("bad\x00byte")

    registry.register("test.nul", nul)
    job_id = jobs.enqueue("test.nul")
    assert jobs.run_due(registry) == 1
    job = jobs.get(job_id)
    assert (job.status, job.attempts) == (PENDING, 1)
    assert "Boom: bad\\x00byte" in (job.last_error or "")
