"""Jobs that wait on the outside world hold no transaction while they wait."""

from __future__ import annotations

import time
from typing import Any

from jobkit import Jobs
from sqlalchemy import update

from tollway.jobs import Registry
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import DONE, PENDING, Job
from tollway.kernel.outbox import record_event
from tollway.kernel.outside import OutsideWork


class Steps:
    """Notes each step; ``perform`` runs ``during`` (its own database work)."""

    def __init__(self, jobs: Jobs, during: Any = None, *, nothing_to_do: bool = False) -> None:
        self.jobs = jobs
        self.during = during
        self.nothing_to_do = nothing_to_do
        self.seen: list[str] = []

    def prepare(self, ctx: Context, payload: dict[str, Any]) -> Any:
        self.seen.append("prepare")
        record_event(ctx, "test.prepared", payload)
        return None if self.nothing_to_do else {"n": payload["n"]}

    def perform(self, prepared: Any) -> str:
        self.seen.append("perform")
        if self.during is not None:
            self.during()
        return f"sent {prepared['n']}"

    def complete(self, ctx: Context, payload: dict[str, Any], prepared: Any, result: Any) -> None:
        self.seen.append(f"complete: {result}")
        record_event(ctx, "test.completed", payload)

    def work(self) -> OutsideWork:
        return OutsideWork(prepare=self.prepare, perform=self.perform, complete=self.complete)


def test_the_outside_step_runs_with_no_transaction_open(jobs: Jobs, registry: Registry) -> None:
    def write_meanwhile() -> None:
        # on SQLite a transaction still open would hold the write lock: this would wait
        with unit_of_work(jobs.factory) as session:
            record_event(jobs.context(session), "test.meanwhile", {})

    steps = Steps(jobs, write_meanwhile)
    registry.register("test.outside", steps.work())
    job_id = jobs.enqueue("test.outside", {"n": 1})
    started = time.monotonic()
    assert jobs.run_due(registry) == 1
    assert time.monotonic() - started < 5
    assert steps.seen == ["prepare", "perform", "complete: sent 1"]
    assert jobs.get(job_id).status == DONE
    assert [len(jobs.events(t)) for t in ("test.prepared", "test.meanwhile", "test.completed")] == [
        1,
        1,
        1,
    ]


def test_nothing_to_do_finishes_the_job_without_the_other_steps(
    jobs: Jobs, registry: Registry
) -> None:
    steps = Steps(jobs, nothing_to_do=True)
    registry.register("test.outside", steps.work())
    job_id = jobs.enqueue("test.outside", {"n": 2})
    jobs.run_due(registry)
    assert steps.seen == ["prepare"]
    assert jobs.get(job_id).status == DONE


def test_a_failing_outside_step_is_retried_and_completes_nothing(
    jobs: Jobs, registry: Registry
) -> None:
    def fail() -> None:
        raise ConnectionError("the receiver is down")

    steps = Steps(jobs, fail)
    registry.register("test.outside", steps.work())
    job_id = jobs.enqueue("test.outside", {"n": 3})
    jobs.run_due(registry)
    job = jobs.get(job_id)
    assert (job.status, job.attempts) == (PENDING, 1)
    assert "the receiver is down" in (job.last_error or "")
    assert steps.seen == ["prepare", "perform"]
    assert jobs.events("test.completed") == []


def test_a_lease_lost_during_the_outside_step_completes_nothing(
    jobs: Jobs, registry: Registry
) -> None:
    def stolen() -> None:
        with unit_of_work(jobs.factory) as session:
            session.execute(update(Job).values(locked_by="another-worker"))

    steps = Steps(jobs, stolen)
    registry.register("test.outside", steps.work())
    job_id = jobs.enqueue("test.outside", {"n": 4})
    jobs.run_due(registry)
    assert steps.seen == ["prepare", "perform"]
    assert jobs.events("test.completed") == []
    assert jobs.get(job_id).status != DONE
