"""``enqueue(..., dedup_key=...)``: one job per key, also under concurrent writers."""

from __future__ import annotations

import threading
import time
from typing import Any

from jobkit import Jobs
from sqlalchemy import func, select

from tollway.kernel.clock import SystemClock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import DONE, Job, enqueue
from tollway.kernel.tenancy import ensure_product


def test_same_key_twice_creates_one_job(jobs: Jobs, clock: Any) -> None:
    first = jobs.enqueue("test.k", {"v": 1}, dedup_key="renewal:sub_1:2026-02")
    second = jobs.enqueue("test.k", {"v": 2}, dedup_key="renewal:sub_1:2026-02")
    assert first == second
    [job] = jobs.all()
    assert job.payload == {"v": 1}  # the first one wins; the second is not an update
    assert jobs.enqueue("test.k", {"v": 3}, dedup_key="renewal:sub_1:2026-03") != first
    assert jobs.count() == 2


def test_same_key_twice_in_one_transaction(jobs: Jobs) -> None:
    with unit_of_work(jobs.factory) as session:
        ctx = jobs.context(session)
        first = enqueue(ctx, "test.k", {}, dedup_key="k")
        second = enqueue(ctx, "test.k", {}, dedup_key="k")
        assert first is second
    assert jobs.count() == 1


def test_jobs_without_key_are_never_deduplicated(jobs: Jobs) -> None:
    jobs.enqueue("test.k", {"v": 1})
    jobs.enqueue("test.k", {"v": 1})
    assert jobs.count() == 2


def test_key_stays_taken_after_the_job_ran(jobs: Jobs) -> None:
    """A dedup key names one piece of work forever (until the job is pruned)."""
    job_id = jobs.enqueue("test.k", dedup_key="once")
    with unit_of_work(jobs.factory) as session:
        session.get_one(Job, job_id).status = DONE
    assert jobs.enqueue("test.k", dedup_key="once") == job_id
    assert jobs.count() == 1


def test_losing_a_race_returns_the_winner_and_commits_cleanly(jobs: Jobs) -> None:
    """B enqueues while A's insert of the same key is not yet committed."""
    a_inserted = threading.Event()
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def writer_a() -> None:
        try:
            with unit_of_work(jobs.factory) as session:
                results["a"] = enqueue(
                    jobs.context(session), "test.k", {"by": "a"}, dedup_key="x"
                ).id
                session.flush()
                a_inserted.set()
                time.sleep(0.3)  # B is now blocked on the unique key (PostgreSQL) or the lock
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            a_inserted.set()

    def writer_b() -> None:
        try:
            with unit_of_work(jobs.factory) as session:
                results["b"] = enqueue(
                    jobs.context(session), "test.k", {"by": "b"}, dedup_key="x"
                ).id
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread_a = threading.Thread(target=writer_a)
    thread_a.start()
    assert a_inserted.wait(10)
    thread_b = threading.Thread(target=writer_b)
    thread_b.start()
    thread_a.join(30)
    thread_b.join(30)

    assert errors == []
    assert results["a"] == results["b"]
    [job] = jobs.all()
    assert job.payload == {"by": "a"}


def test_many_threads_enqueueing_one_key_make_one_job(jobs: Jobs) -> None:
    threads = 8
    rounds = 5
    barrier = threading.Barrier(threads)
    results: list[list[str]] = [[] for _ in range(rounds)]
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for r in range(rounds):
                barrier.wait(30)
                with unit_of_work(jobs.factory) as session:
                    job = enqueue(jobs.context(session), "test.k", {"by": n}, dedup_key=f"key-{r}")
                    results[r].append(job.id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            barrier.abort()

    pool = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(60)

    assert errors == []
    assert [len(set(ids)) for ids in results] == [1] * rounds
    assert [len(ids) for ids in results] == [threads] * rounds
    with unit_of_work(jobs.factory) as session:
        per_key = session.execute(select(Job.dedup_key, func.count()).group_by(Job.dedup_key)).all()
    assert sorted(per_key) == [(f"{jobs.product_id}:key-{r}", 1) for r in range(rounds)]


def test_dedup_keys_of_two_products_do_not_collide(jobs: Jobs) -> None:
    with unit_of_work(jobs.factory) as session:
        other = ensure_product(session, code="other", name="Other", clock=SystemClock())
        mine = enqueue(jobs.context(session), "test.k", {}, dedup_key="renew:1")
        theirs = enqueue(
            Context(session=session, product_id=other.id, clock=SystemClock()),
            "test.k",
            {},
            dedup_key="renew:1",
        )
        assert mine.id != theirs.id
        assert (mine.product_id, theirs.product_id) == (jobs.product_id, other.id)
