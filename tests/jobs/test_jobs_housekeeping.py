"""Housekeeping jobs, and the worker loop surviving a broken database."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from jobkit import Jobs
from sqlalchemy import select

from tollway.jobs import Worker, default_registry
from tollway.kernel.db import make_engine, make_session_factory, unit_of_work
from tollway.kernel.idempotency import (
    IdempotencyRecord,
    KeyScope,
    StoredResponse,
    save_response,
)
from tollway.kernel.jobs import DONE, FAILED, Job


def _finish(jobs: Jobs, job_id: str, status: str, finished: Any) -> None:
    with unit_of_work(jobs.factory) as session:
        job = session.get_one(Job, job_id)
        job.status = status
        job.finished_at = finished


def test_finished_jobs_are_pruned_after_30_days(jobs: Jobs, clock: Any) -> None:
    now = clock.now()
    old_done = jobs.enqueue("test.k")
    recent_done = jobs.enqueue("test.k")
    old_failed = jobs.enqueue("test.k")
    pending = jobs.enqueue("test.k", due_at=now + timedelta(days=365))
    _finish(jobs, old_done, DONE, now - timedelta(days=30, seconds=1))
    _finish(jobs, recent_done, DONE, now - timedelta(days=29))
    _finish(jobs, old_failed, FAILED, now - timedelta(days=90))
    jobs.enqueue("housekeeping.prune_finished_jobs")

    assert jobs.run_due(default_registry()) == 1

    remaining = {job.id for job in jobs.all()}
    assert old_done not in remaining
    assert {recent_done, old_failed, pending} <= remaining  # failed jobs stay for inspection


def test_idempotency_keys_are_forgotten_after_24_hours(
    jobs: Jobs, clock: Any, product_id: str
) -> None:
    response = StoredResponse(201, "application/json", b"{}")
    with unit_of_work(jobs.factory) as session:
        for key, age in (("old", timedelta(hours=24, seconds=1)), ("new", timedelta(hours=23))):
            scope = KeyScope(product_id, "key_test", key)
            save_response(session, scope, "f", response, clock.now() - age)
    jobs.enqueue("housekeeping.purge_idempotency_keys")
    assert jobs.run_due(default_registry()) == 1
    with unit_of_work(jobs.factory) as session:
        assert list(session.scalars(select(IdempotencyRecord.key))) == ["new"]


def test_worker_loop_survives_an_unreachable_database(tmp_path: Any, clock: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    worker = Worker(make_session_factory(engine), default_registry(), clock, poll_seconds=0.01)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    stop.wait(0.1)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    engine.dispose()
