"""An event whose transaction commits long after its id was made is still relayed."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from jobkit import Jobs
from test_relay import Seen, cursor, record, relay_once, settle_cursor

from tollway.jobs import Registry, relay
from tollway.jobs.relay import CURSOR_LAG, RELAY_BATCH, RELAY_KIND, sweep_behind_cursor, tasks
from tollway.kernel.db import unit_of_work
from tollway.kernel.ids import new_id
from tollway.kernel.outbox import Event, record_event
from tollway.kernel.relay import Consumer


def test_a_transaction_held_open_past_the_lag_holds_the_cursor_back(
    jobs: Jobs, registry: Registry, clock: Any, backend: str
) -> None:
    seen = Seen()
    registry.register_consumer(Consumer("c", seen))
    clock.set(datetime.now(UTC) + timedelta(seconds=1))
    long_running = jobs.factory()
    late = record_event(jobs.context(long_running), "thing.happened", {"tag": "late"}).id
    long_running.flush()  # the id is made now; the transaction stays open
    if backend == "sqlite":
        # one writer at a time: the relay waits for the open transaction, so when it
        # runs every event made before it has committed (commit order = id order)
        relayer = threading.Thread(target=relay_once, args=(jobs, registry, clock, CURSOR_LAG))
        relayer.start()
        time.sleep(0.5)
        assert relayer.is_alive()
        long_running.commit()
        long_running.close()
        relayer.join(10)
        assert seen.calls == [late]
        return
    [b] = record(jobs, "b")  # a later id commits first
    clock.set(datetime.now(UTC) + timedelta(minutes=16))  # both ids are past the lag
    for _ in range(4):
        relay_once(jobs, registry, clock, CURSOR_LAG)
    assert seen.calls == [b]
    assert cursor(jobs.factory, "c") is None  # held behind the open transaction
    long_running.commit()  # 16 minutes late
    long_running.close()
    relay_once(jobs, registry, clock, CURSOR_LAG)
    assert seen.calls == [b, late]
    # the cursor moves once every transaction of the cluster up to the checkpoint has
    # ended (other databases' transactions count too: xmin is cluster-wide)
    patience = time.monotonic() + 20
    while cursor(jobs.factory, "c") != b and time.monotonic() < patience:
        relay_once(jobs, registry, clock, CURSOR_LAG)
        time.sleep(0.05)
    assert cursor(jobs.factory, "c") == b


def test_the_sweep_relays_an_event_found_behind_the_cursor(
    jobs: Jobs, registry: Registry, clock: Any, product_id: str
) -> None:
    seen = Seen()
    registry.register_consumer(Consumer("c", seen))
    late_id = new_id("evt")  # made now, inserted after the cursor has passed it
    [b] = record(jobs, "b")
    clock.set(datetime.now(UTC) + timedelta(minutes=16))
    relay_once(jobs, registry, clock, CURSOR_LAG)
    assert settle_cursor(jobs, registry, clock, b) == b
    with unit_of_work(jobs.factory) as session:
        session.add(
            Event(
                id=late_id,
                product_id=product_id,
                type="thing.happened",
                customer_id=None,
                data={"tag": "late"},
                created_at=clock.now(),
            )
        )
    relay_once(jobs, registry, clock, CURSOR_LAG)
    assert seen.calls == [b]  # behind the cursor: the regular pass does not look
    with unit_of_work(jobs.factory) as session:
        assert sweep_behind_cursor(session, registry, clock) == 1
    assert seen.calls == [b, late_id]
    with unit_of_work(jobs.factory) as session:
        assert sweep_behind_cursor(session, registry, clock) == 0


def test_later_passes_of_a_job_go_on_after_what_it_offered_and_the_next_job_rescans(
    jobs: Jobs, registry: Registry, clock: Any, product_id: str
) -> None:
    seen = Seen()
    registry.register_consumer(Consumer("c", seen))
    late_id = new_id("evt")  # made first, committed after the job's first pass
    [b] = record(jobs, "b")
    offered: dict[str, str] = {}
    with unit_of_work(jobs.factory) as session:
        assert relay(session, registry, clock, offered=offered) == 1
    assert offered == {"c": b}
    with unit_of_work(jobs.factory) as session:
        session.add(
            Event(
                id=late_id,
                product_id=product_id,
                type="thing.happened",
                customer_id=None,
                data={"tag": "late"},
                created_at=clock.now(),
            )
        )
    [c] = record(jobs, "c")
    with unit_of_work(jobs.factory) as session:  # the same job: only after b
        assert relay(session, registry, clock, offered=offered) == 1
    assert seen.calls == [b, c]
    relay_once(jobs, registry, clock, CURSOR_LAG)  # a new job starts from the cursor
    assert seen.calls == [b, c, late_id]


def test_one_relay_job_relays_more_than_a_batch(jobs: Jobs, registry: Registry, clock: Any) -> None:
    handled: list[str] = []
    registry.register_consumer(Consumer("c", lambda _ctx, event: handled.append(event.id)))
    registry.include(*tasks(registry, budget_seconds=600))
    ids = record(jobs, *[f"e{n}" for n in range(RELAY_BATCH * 2 + 50)])
    jobs.enqueue(RELAY_KIND)
    assert jobs.run_due(registry, worker_id="w") == 1  # the one job caught up alone
    assert handled == ids


def test_a_relay_job_out_of_time_hands_the_rest_to_a_follow_up(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    handled: list[str] = []
    registry.register_consumer(Consumer("c", lambda _ctx, event: handled.append(event.id)))
    registry.include(*tasks(registry, budget_seconds=0))
    ids = record(jobs, *[f"e{n}" for n in range(RELAY_BATCH * 2 + 50)])
    jobs.enqueue(RELAY_KIND)
    assert jobs.run_due(registry, worker_id="w") == 1
    assert handled == ids[:RELAY_BATCH]  # one pass, then out of time
    # follow-ups relay 200 and 50; a third finds nothing left and enqueues no other
    assert jobs.drain(registry, worker_id="w") == 3
    assert handled == ids
