"""Periodic jobs: one job per slot, however many workers schedule them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jobkit import Jobs, recording
from pydantic import ValidationError

from tollway.jobs import Periodic, Registry, Worker, default_registry, schedule_periodic
from tollway.kernel.jobs import DONE
from tollway.kernel.settings import Settings

HOUR = timedelta(hours=1)


def _periodic_registry(calls: list[Any]) -> Registry:
    registry = Registry()
    registry.include(
        {"test.hourly": recording(calls), "test.daily": recording(calls)},
        [Periodic("test.hourly", HOUR), Periodic("test.daily", timedelta(days=1))],
    )
    return registry


def test_twice_in_the_same_slot_enqueues_one_job_per_slot(jobs: Jobs, clock: Any) -> None:
    registry = _periodic_registry([])
    clock.set(datetime(2026, 1, 15, 12, 10, tzinfo=UTC))
    schedule_periodic(jobs.factory, registry, clock)
    clock.set(datetime(2026, 1, 15, 12, 59, 59, 999999, tzinfo=UTC))
    schedule_periodic(jobs.factory, registry, clock)

    by_kind = {job.kind: job for job in jobs.all()}
    assert set(by_kind) == {"test.hourly", "test.daily"}
    assert by_kind["test.hourly"].due_at == datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert by_kind["test.daily"].due_at == datetime(2026, 1, 15, tzinfo=UTC)
    assert by_kind["test.hourly"].product_id is None

    clock.set(datetime(2026, 1, 15, 13, tzinfo=UTC))
    schedule_periodic(jobs.factory, registry, clock)
    schedule_periodic(jobs.factory, registry, clock)
    hourly = sorted(j.due_at for j in jobs.all() if j.kind == "test.hourly")
    assert hourly == [datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 1, 15, 13, tzinfo=UTC)]
    assert jobs.count() == 3


def test_two_workers_racing_enqueue_one_job_per_slot(jobs: Jobs, clock: Any) -> None:
    registry = _periodic_registry([])
    workers = 4
    slots = 6
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []
    start = clock.now()

    def scheduler() -> None:
        try:
            for slot in range(slots):
                barrier.wait(30)
                # Each thread reads its own clock so the main clock need not move.
                at = start + slot * HOUR
                schedule_periodic(jobs.factory, registry, type(clock)(at))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            barrier.abort()

    pool = [threading.Thread(target=scheduler) for _ in range(workers)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)

    assert errors == []
    hourly = [j.due_at for j in jobs.all() if j.kind == "test.hourly"]
    assert sorted(hourly) == [start.replace(minute=0) + n * HOUR for n in range(slots)]
    daily = [j for j in jobs.all() if j.kind == "test.daily"]
    assert len(daily) == 1


def test_worker_runs_each_slot_once(jobs: Jobs, clock: Any) -> None:
    calls: list[Any] = []
    registry = _periodic_registry(calls)
    one = Worker(jobs.factory, registry, clock)
    two = Worker(jobs.factory, registry, clock)
    assert one.worker_id != two.worker_id

    assert one.tick() + two.tick() == 2  # this hour's and today's job
    assert one.tick() + two.tick() == 0
    clock.advance(HOUR)
    assert two.tick() + one.tick() == 1
    assert [job.status for job in jobs.all()] == [DONE] * 3
    assert len(calls) == 3
    assert all(payload == {} for _, payload in calls)


def test_default_registry_schedules_housekeeping(jobs: Jobs, clock: Any) -> None:
    registry = default_registry()
    assert {p.kind for p in registry.periodic} <= set(registry.handlers)
    worker = Worker(jobs.factory, registry, clock)
    assert worker.tick() == len(registry.periodic)
    assert {job.status for job in jobs.all()} == {DONE}


def test_workers_set_to_relay_in_shards_schedule_a_relay_job_per_shard(
    jobs: Jobs, clock: Any
) -> None:
    registry = default_registry(Settings(relay_shards=3))
    relays = sorted(k for k in registry.handlers if k.startswith("events.relay"))
    assert relays == ["events.relay", "events.relay.1", "events.relay.2", "events.relay_sweep"]
    assert set(relays) <= {p.kind for p in registry.periodic}
    shards = {"events.relay", "events.relay.1", "events.relay.2"}
    assert registry.claim_apart == shards

    def shard_jobs_done() -> int:
        return sum(1 for job in jobs.all() if job.kind in shards and job.status == DONE)

    # a worker takes one shard's job at a time: the others are left to other workers
    one, two = Worker(jobs.factory, registry, clock), Worker(jobs.factory, registry, clock)
    assert one.tick() == len(registry.periodic) - 2
    assert shard_jobs_done() == 1
    assert two.tick() == 1
    assert shard_jobs_done() == 2
    assert one.tick() == 1
    assert {job.status for job in jobs.all()} == {DONE}


def test_relay_shards_must_be_between_1_and_64() -> None:
    for shards in (0, 65):
        with pytest.raises(ValidationError, match="relay_shards"):
            Settings(relay_shards=shards)
