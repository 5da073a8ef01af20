"""A worker's threads run due jobs side by side, each thread a worker of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from jobkit import Jobs

from tollway.jobs import Registry, start_workers
from tollway.kernel.context import Context
from tollway.kernel.jobs import DONE
from tollway.kernel.outbox import record_event
from tollway.kernel.outside import OutsideWork


def _meeting(registry: Registry, wait_seconds: float) -> None:
    """``test.meet``: its outside step waits (no transaction open) until a second job
    is in the same step, and the completion notes the thread that ran it."""
    meeting = threading.Barrier(2, timeout=wait_seconds)

    def prepare(ctx: Context, payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    def perform(prepared: dict[str, Any]) -> str:
        meeting.wait()
        return threading.current_thread().name

    def complete(ctx: Context, payload: dict[str, Any], prepared: Any, thread: str) -> None:
        record_event(ctx, "test.met", {"n": payload["n"], "thread": thread})

    registry.register("test.meet", OutsideWork(prepare=prepare, perform=perform, complete=complete))


def _run(jobs: Jobs, registry: Registry, threads: int, until: Callable[[], bool]) -> None:
    """Run ``threads`` job loops until ``until()`` or 15 s have passed."""
    started, stop = start_workers(
        jobs.factory, registry, jobs.clock, threads=threads, poll_seconds=0.01
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not until():
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in started:
            thread.join(15)
    assert not any(thread.is_alive() for thread in started)


def test_two_threads_run_two_jobs_at_once(jobs: Jobs, registry: Registry) -> None:
    _meeting(registry, wait_seconds=10)
    job_ids = [jobs.enqueue("test.meet", {"n": n}) for n in (1, 2)]
    _run(jobs, registry, 2, lambda: all(jobs.get(j).status == DONE for j in job_ids))
    assert [jobs.get(job_id).status for job_id in job_ids] == [DONE, DONE]
    assert [jobs.get(job_id).attempts for job_id in job_ids] == [1, 1]
    met = jobs.events("test.met")
    assert sorted(e.data["n"] for e in met) == [1, 2]
    assert {e.data["thread"] for e in met} == {"tollway-worker-0", "tollway-worker-1"}


def test_one_thread_runs_the_jobs_in_turn(jobs: Jobs, registry: Registry) -> None:
    # the control: alone, the first job waits for a second that never comes
    _meeting(registry, wait_seconds=0.5)
    job_ids = [jobs.enqueue("test.meet", {"n": n}) for n in (1, 2)]
    _run(jobs, registry, 1, lambda: any(jobs.get(j).last_error for j in job_ids))
    ran = list(map(jobs.get, job_ids))
    assert [job.status for job in ran] != [DONE, DONE]
    assert any("BrokenBarrierError" in (job.last_error or "") for job in ran)
    assert jobs.events("test.met") == []
