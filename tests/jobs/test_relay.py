"""The event relay: each consumer gets each committed event once, also when a
handler fails, a relayer dies before committing, or two relayers race."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import combinations
from typing import Any

import pytest
from jobkit import Jobs
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tollway import customers
from tollway.jobs import (
    Registry,
    Shard,
    advance_test_clock,
    create_test_clock,
    relay,
    relay_events,
)
from tollway.jobs.relay import CURSOR_LAG, RELAY_KIND, tasks
from tollway.jobs.retention import prune_delivery_logs
from tollway.kernel.audit import AuditRecord, audit
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.ids import new_id
from tollway.kernel.outbox import Event, record_event
from tollway.kernel.relay import DEAD, DONE, FAILED, Consumer, EventReceipt, RelayCursor


class Seen:
    """A consumer that notes what it handled and writes an audit row per event."""

    def __init__(self, fail_on: set[str] | None = None, *, fail_times: int = 1) -> None:
        self.calls: list[str] = []
        self.fail_on = fail_on or set()
        self.fail_times = fail_times
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, ctx: Context, event: Event) -> None:
        with self._lock:
            self.calls.append(event.id)
        audit(ctx, "seen", subject_type="event", subject_id=event.id, before=None, after={})
        tag = event.data.get("tag")
        if tag in self.fail_on and self._failures.get(tag, 0) < self.fail_times:
            self._failures[tag] = self._failures.get(tag, 0) + 1
            raise RuntimeError(f"consumer broke on {tag}")


def record(jobs: Jobs, *tags: str, event_type: str = "thing.happened") -> list[str]:
    with unit_of_work(jobs.factory) as session:
        ctx = jobs.context(session)
        return [record_event(ctx, event_type, {"tag": tag}).id for tag in tags]


def receipts(factory: sessionmaker[Session], consumer: str) -> dict[str, EventReceipt]:
    with unit_of_work(factory) as session:
        rows = session.scalars(select(EventReceipt).where(EventReceipt.consumer == consumer))
        return {r.event_id: r for r in rows}


def audited(factory: sessionmaker[Session]) -> list[str]:
    with unit_of_work(factory) as session:
        return sorted(session.scalars(select(AuditRecord.subject_id)))


def test_each_consumer_gets_each_event_once(jobs: Jobs, registry: Registry, clock: Clock) -> None:
    first, second = Seen(), Seen()
    registry.register_consumer(Consumer("first", first))
    registry.register_consumer(Consumer("second", second, types=frozenset({"other.kind"})))
    ids = record(jobs, "a", "b")
    [other] = record(jobs, "c", event_type="other.kind")
    assert relay_events(jobs.factory, registry, clock) == 4
    assert first.calls == [*ids, other]
    assert second.calls == [other]
    assert relay_events(jobs.factory, registry, clock) == 0
    later = record(jobs, "d")
    assert relay_events(jobs.factory, registry, clock) == 1
    assert first.calls == [*ids, other, *later]
    assert {r.status for r in receipts(jobs.factory, "first").values()} == {DONE}


def test_a_failing_handler_repeats_nothing_that_committed(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    seen, steady = Seen(fail_on={"b"}), Seen()
    registry.register_consumer(Consumer("flaky", seen))
    registry.register_consumer(Consumer("steady", steady))
    a, b, c = record(jobs, "a", "b", "c")
    relay_events(jobs.factory, registry, clock)
    assert seen.calls == [a, b, c]
    assert steady.calls == [a, b, c]
    flaky = receipts(jobs.factory, "flaky")
    assert (flaky[a].status, flaky[c].status) == (DONE, DONE)
    assert flaky[b].status == FAILED
    assert flaky[b].attempts == 1
    assert "consumer broke on b" in (flaky[b].last_error or "")
    assert flaky[b].next_attempt_at == clock.now() + timedelta(seconds=30)
    # the failed handler's own writes were rolled back with it
    assert audited(jobs.factory) == sorted([a, c, a, b, c])

    relay_events(jobs.factory, registry, clock)
    assert seen.calls == [a, b, c]  # not due yet
    clock.advance(timedelta(seconds=30))
    relay_events(jobs.factory, registry, clock)
    assert seen.calls == [a, b, c, b]
    assert steady.calls == [a, b, c]
    assert receipts(jobs.factory, "flaky")[b].status == DONE
    assert receipts(jobs.factory, "flaky")[b].attempts == 2
    assert audited(jobs.factory) == sorted([a, c, a, b, c, b])


def test_a_batch_consumer_gets_a_pass_together_and_a_failing_event_fails_alone(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    seen = Seen(fail_on={"b"}, fail_times=2)
    batches: list[list[str]] = []

    def batch(ctx: Context, events: Sequence[Event]) -> None:
        batches.append([e.id for e in events])
        for event in events:
            seen(ctx, event)

    registry.register_consumer(Consumer("batched", seen, batch_handler=batch))
    a, b, c = record(jobs, "a", "b", "c")
    relay_events(jobs.factory, registry, clock)
    assert batches == [[a, b, c]]  # it failed on b: rolled back, then one by one
    assert seen.calls == [a, b, a, b, c]
    assert {e: r.status for e, r in receipts(jobs.factory, "batched").items()} == {
        a: DONE,
        b: FAILED,
        c: DONE,
    }
    assert audited(jobs.factory) == sorted([a, c])
    clock.advance(timedelta(hours=1))
    relay_events(jobs.factory, registry, clock)
    assert seen.calls[-1] == b
    assert audited(jobs.factory) == sorted([a, b, c])
    d, e = record(jobs, "d", "e")
    relay_events(jobs.factory, registry, clock)
    assert batches[-1] == [d, e]
    assert audited(jobs.factory) == sorted([a, b, c, d, e])


def test_each_consumer_takes_passes_of_its_own_size(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    batches: list[list[str]] = []

    def batch(ctx: Context, events: Sequence[Event]) -> None:
        batches.append([e.id for e in events])

    registry.register_consumer(Consumer("wide", Seen(), batch_handler=batch, pass_limit=3))
    default = Seen()
    registry.register_consumer(Consumer("default", default))
    ids = record(jobs, *[f"e{n}" for n in range(7)])
    with unit_of_work(jobs.factory) as session:
        assert relay(session, registry, clock) == 3 + 7  # the default pass is RELAY_BATCH
    with unit_of_work(jobs.factory) as session:
        assert relay(session, registry, clock, limit=2) == 2  # a caller's limit wins
    relay_events(jobs.factory, registry, clock)
    assert batches == [ids[:3], ids[3:5], ids[5:]]
    assert default.calls == ids


def test_a_consumer_gives_up_after_its_attempts(jobs: Jobs, registry: Registry, clock: Any) -> None:
    seen = Seen(fail_on={"x"}, fail_times=99)
    registry.register_consumer(Consumer("doomed", seen, max_attempts=3))
    [x] = record(jobs, "x")
    for _ in range(5):
        relay_events(jobs.factory, registry, clock)
        clock.advance(timedelta(hours=2))
    assert seen.calls == [x, x, x]
    assert receipts(jobs.factory, "doomed")[x].status == DEAD


def test_a_relayer_that_dies_before_committing_loses_nothing(
    jobs: Jobs, registry: Registry, clock: Clock
) -> None:
    seen = Seen()
    registry.register_consumer(Consumer("c", seen))
    ids = record(jobs, "a", "b")
    session = jobs.factory()
    try:
        assert relay(session, registry, clock) == 2
    finally:
        session.rollback()  # the process died: nothing committed
        session.close()
    assert receipts(jobs.factory, "c") == {}
    assert relay_events(jobs.factory, registry, clock) == 2
    assert relay_events(jobs.factory, registry, clock) == 0
    assert seen.calls == [*ids, *ids]  # handled again, but only the handling that committed counts
    assert audited(jobs.factory) == sorted(ids)


def test_two_concurrent_relayers_handle_each_event_exactly_once(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    clock.set(datetime.now(UTC) + timedelta(seconds=1))  # let the cursors move too
    seen = Seen()

    def slow(ctx: Context, event: Event) -> None:
        seen(ctx, event)
        time.sleep(0.002)

    registry.register_consumer(Consumer("c", slow))
    ids = record(jobs, *[f"e{i}" for i in range(60)])
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            relay_events(jobs.factory, registry, clock, cursor_lag=timedelta(0))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(seen.calls) == sorted(ids)
    assert len(receipts(jobs.factory, "c")) == 60
    assert audited(jobs.factory) == sorted(ids)
    # on PostgreSQL the cursor moves once every transaction of the cluster up to a
    # pass's checkpoint has ended (other databases' transactions count too)
    assert settle_cursor(jobs, registry, clock, ids[-1]) == ids[-1]


def test_the_periodic_relay_job_relays_and_prunes_itself(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    seen = Seen()
    registry.register_consumer(Consumer("c", seen))
    registry.include(*tasks(registry))
    assert [p.kind for p in registry.periodic] == [RELAY_KIND, "events.relay_sweep"]
    ids = record(jobs, "a")
    jobs.enqueue(RELAY_KIND)
    jobs.drain(registry)
    assert seen.calls == ids
    clock.advance(timedelta(hours=2))
    jobs.enqueue(RELAY_KIND)
    jobs.drain(registry)
    assert [j.kind for j in jobs.all()] == [RELAY_KIND]  # the older one was pruned


def test_events_of_test_clock_customers_are_relayed_when_the_clock_advances(
    session_factory: sessionmaker[Session], registry: Registry, clock: Clock, product_id: str
) -> None:
    seen: list[tuple[str, datetime]] = []

    def note(ctx: Context, event: Event) -> None:
        customer = customers.get_customer_by_id(ctx, event.customer_id or "")
        seen.append((event.type, ctx.now(customer.test_clock_id)))

    registry.register_consumer(Consumer("note", note, types=frozenset({"customer.created"})))
    start = datetime(2030, 1, 1, tzinfo=UTC)
    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=clock)
        clock_id = create_test_clock(ctx, frozen_time=start, name="t").id
        customers.create_customer(
            ctx, customers.CustomerCreate(external_id="timed", test_clock=clock_id)
        )
        customers.create_customer(ctx, customers.CustomerCreate(external_id="plain"))
    relay_events(session_factory, registry, clock)
    assert seen == [("customer.created", clock.now())]  # only the plain customer's
    advance_test_clock(
        session_factory,
        registry,
        clock,
        product_id=product_id,
        clock_id=clock_id,
        to=start + timedelta(days=1),
        actor="test",
    )
    assert seen[1] == ("customer.created", start)
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(EventReceipt)) == 2


def record_for(jobs: Jobs, customer_ids: Sequence[str | None]) -> dict[str, str | None]:
    """One event per entry, about that customer (``None``: about no customer); the
    customers of the events by event id."""
    with unit_of_work(jobs.factory) as session:
        ctx = jobs.context(session)
        return {
            record_event(ctx, "thing.happened", {"n": n}, customer_id=customer_id).id: customer_id
            for n, customer_id in enumerate(customer_ids)
        }


def test_shards_split_the_events_by_customer_and_together_relay_each_once(
    jobs: Jobs, registry: Registry, clock: Clock
) -> None:
    seen = Seen()
    registry.register_consumer(Consumer("c", seen))
    about = record_for(jobs, [f"cus_{n % 30}" for n in range(90)] + [None, None])
    by_shard = []
    for index in range(3):
        before = len(seen.calls)
        assert relay_events(jobs.factory, registry, clock, shard=Shard(index, 3)) > 0
        by_shard.append(set(seen.calls[before:]))
    assert sorted(seen.calls) == sorted(about)  # each event once, in one shard
    customers_of = [{about[e] for e in events} for events in by_shard]
    assert all(a.isdisjoint(b) for a, b in combinations(customers_of, 2))  # a customer in one
    assert relay_events(jobs.factory, registry, clock) == 0  # unsharded: nothing left


def test_a_relayer_leaves_other_shards_events_to_them(
    jobs: Jobs, registry: Registry, clock: Clock
) -> None:
    seen = Seen()
    registry.register_consumer(Consumer("c", seen))
    about = record_for(jobs, [f"cus_{n}" for n in range(40)])
    first = relay_events(jobs.factory, registry, clock, shard=Shard(0, 2))
    assert 0 < first < 40
    assert relay_events(jobs.factory, registry, clock, shard=Shard(0, 2)) == 0
    assert relay_events(jobs.factory, registry, clock, shard=Shard(1, 2)) == 40 - first
    assert sorted(seen.calls) == sorted(about)


def test_a_shard_is_one_of_its_count() -> None:
    for index, count in ((2, 2), (-1, 2), (0, 0)):
        with pytest.raises(ValueError, match="does not exist"):
            Shard(index, count)


def test_sharded_relay_jobs_each_relay_their_shard(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    seen = Seen()
    registry.register_consumer(Consumer("c", seen))
    registry.include(*tasks(registry, shards=3))
    kinds = [RELAY_KIND, f"{RELAY_KIND}.1", f"{RELAY_KIND}.2"]
    assert [p.kind for p in registry.periodic] == [*kinds, "events.relay_sweep"]
    about = record_for(jobs, [f"cus_{n}" for n in range(30)])
    jobs.enqueue(f"{RELAY_KIND}.1")
    jobs.drain(registry)
    only_one = set(seen.calls)
    assert 0 < len(only_one) < 30
    for kind in (RELAY_KIND, f"{RELAY_KIND}.2"):
        jobs.enqueue(kind)
    jobs.drain(registry)
    assert sorted(seen.calls) == sorted(about)


def test_consumer_names_are_unique(registry: Registry) -> None:
    registry.register_consumer(Consumer("dup", Seen()))
    with pytest.raises(ValueError, match="already registered"):
        registry.register_consumer(Consumer("dup", Seen()))


def cursor(factory: sessionmaker[Session], consumer: str) -> str | None:
    with unit_of_work(factory) as session:
        row = session.get(RelayCursor, consumer)
        return row.position or None if row is not None else None


def relay_once(jobs: Jobs, registry: Registry, clock: Clock, lag: timedelta) -> int:
    with unit_of_work(jobs.factory) as session:
        return relay(session, registry, clock, cursor_lag=lag)


def settle_cursor(jobs: Jobs, registry: Registry, clock: Clock, expected: str) -> str | None:
    """Relay passes until the cursor reaches ``expected`` (PostgreSQL moves it once
    the cluster's transactions up to a pass's checkpoint have ended), at most 20 s."""
    patience = time.monotonic() + 20
    while cursor(jobs.factory, "c") != expected and time.monotonic() < patience:
        assert relay_once(jobs, registry, clock, timedelta(0)) == 0
        time.sleep(0.02)
    return cursor(jobs.factory, "c")


def test_the_cursor_moves_over_handled_events_once_they_are_old_enough(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    clock.set(datetime.now(UTC) + timedelta(seconds=1))  # ids carry the real time
    seen = Seen()
    registry.register_consumer(Consumer("c", seen, types=frozenset({"thing.happened"})))
    record(jobs, "skipped", event_type="other.kind")
    a, b = record(jobs, "a", "b")
    assert relay_once(jobs, registry, clock, CURSOR_LAG) == 2
    assert cursor(jobs.factory, "c") is None  # all within the last 15 minutes
    assert relay_once(jobs, registry, clock, timedelta(0)) == 0
    assert settle_cursor(jobs, registry, clock, b) == b
    [c] = record(jobs, "c")
    assert relay_once(jobs, registry, clock, timedelta(0)) == 1
    assert seen.calls == [a, b, c]
    clock.set(datetime.now(UTC) + timedelta(seconds=1))
    assert settle_cursor(jobs, registry, clock, c) == c


def test_failed_events_behind_the_cursor_are_still_retried(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    clock.set(datetime.now(UTC) + timedelta(seconds=1))
    seen = Seen(fail_on={"a"})
    registry.register_consumer(Consumer("c", seen))
    a, b = record(jobs, "a", "b")
    relay_once(jobs, registry, clock, timedelta(0))
    assert settle_cursor(jobs, registry, clock, b) == b
    clock.advance(timedelta(seconds=30))
    assert relay_once(jobs, registry, clock, timedelta(0)) == 1
    assert seen.calls == [a, b, a]
    assert receipts(jobs.factory, "c")[a].status == DONE


def test_an_event_committing_late_is_still_relayed_within_the_lag(
    jobs: Jobs, registry: Registry, clock: Any, product_id: str
) -> None:
    clock.set(datetime.now(UTC) + timedelta(seconds=1))
    seen = Seen()
    registry.register_consumer(Consumer("c", seen))
    late_id = new_id("evt")  # made first, committed last (a slow transaction)
    [b] = record(jobs, "b")
    relay_once(jobs, registry, clock, CURSOR_LAG)
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
    assert seen.calls == [b, late_id]


def test_pruning_keeps_receipts_the_relay_could_still_look_for(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    clock.set(datetime.now(UTC) + timedelta(seconds=1))  # ids carry the real time
    seen = Seen()
    registry.register_consumer(Consumer("c", seen))
    [a] = record(jobs, "a")
    assert relay_once(jobs, registry, clock, CURSOR_LAG) == 1
    assert cursor(jobs.factory, "c") is None  # the cursor has not passed it yet
    clock.set(clock.now() + timedelta(days=91))
    with unit_of_work(jobs.factory) as session:
        prune_delivery_logs(jobs.context(session), {})
    assert set(receipts(jobs.factory, "c")) == {a}  # kept: the relay reads past None
    assert relay_once(jobs, registry, clock, CURSOR_LAG) == 0
    assert seen.calls == [a]  # handled once, never again
    assert settle_cursor(jobs, registry, clock, a) == a
    with unit_of_work(jobs.factory) as session:
        prune_delivery_logs(jobs.context(session), {})
    assert receipts(jobs.factory, "c") == {}  # behind the cursor and old: pruned
    assert relay_once(jobs, registry, clock, CURSOR_LAG) == 0
    assert seen.calls == [a]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite: one writer
def test_a_pass_leaves_a_cursor_another_relayer_holds_and_does_not_wait(
    jobs: Jobs, registry: Registry, clock: Any
) -> None:
    clock.set(datetime.now(UTC) + timedelta(seconds=1))
    seen = Seen()
    registry.register_consumer(Consumer("c", seen))
    first = record(jobs, "a")
    assert relay_once(jobs, registry, clock, timedelta(0)) == 1  # the cursor row exists now
    later = record(jobs, "b")
    with unit_of_work(jobs.factory) as holder:
        holder.execute(select(RelayCursor).where(RelayCursor.consumer == "c").with_for_update())
        done = threading.Event()

        def other_relayer() -> None:
            relay_once(jobs, registry, clock, timedelta(0))
            done.set()

        thread = threading.Thread(target=other_relayer)
        thread.start()
        assert done.wait(10), "the pass waited for the held cursor"
        thread.join()
    assert seen.calls == [*first, *later]
    assert settle_cursor(jobs, registry, clock, later[-1]) == later[-1]
