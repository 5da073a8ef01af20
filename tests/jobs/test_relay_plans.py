"""The relay's scan for pending events on PostgreSQL: the receipts it reads grow
with the events it scans, not with the receipts in the table, whatever join the
planner would pick (with stale statistics, after a burst wrote thousands of receipts
before autovacuum analyzed the table, it picked a nested loop over a materialized
copy of them all). At 20,000 events: on a table of a few pages a scan per event is
the planner's fair choice."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from jobkit import Jobs
from sqlalchemy import Engine, event, text

from tollway.jobs import Registry, Shard, relay, relay_events
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.outbox import Event, record_event
from tollway.kernel.relay import Consumer

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
CUSTOMERS = 200
EVENTS = 20_000


def _take(ctx: Context, event: Event) -> None:
    """A consumer that only takes an event (the relay writes its receipt)."""


def _take_all(ctx: Context, events: Sequence[Event]) -> None:
    """:func:`_take` for a pass."""


def _record(jobs: Jobs, count: int) -> None:
    """``count`` events, 1,000 a transaction: a long one would hold back the relay
    cursors of tests running in parallel on the same server."""
    for start in range(0, count, 1_000):
        with unit_of_work(jobs.factory) as session:
            ctx = jobs.context(session)
            for n in range(start, min(start + 1_000, count)):
                record_event(ctx, "thing.happened", {"n": n}, customer_id=f"cus_{n % CUSTOMERS}")


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _receipt_rows_read(plan: dict[str, Any]) -> int:
    """Rows the plan read from ``event_receipts`` over all loops (kept or filtered
    out, materialized copies included), and rows any join compared and dropped."""
    read = 0
    for node in _nodes(plan):
        loops = node["Actual Loops"]
        if node.get("Relation Name") == "event_receipts" or node["Node Type"] == "Materialize":
            read += (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * loops
        read += node.get("Rows Removed by Join Filter", 0) * loops
    return int(read)


def test_a_sharded_pass_reads_receipts_only_of_the_events_it_scans(
    jobs: Jobs, registry: Registry, clock: Clock, engine: Engine
) -> None:
    registry.register_consumer(Consumer("c", _take, batch_handler=_take_all, pass_limit=500))
    _record(jobs, 1)
    assert relay_events(jobs.factory, registry, clock) == 1
    _record(jobs, EVENTS)
    with engine.connect() as connection:  # statistics from before the burst of receipts
        connection.execute(text("ANALYZE events, event_receipts"))
        connection.commit()
    assert relay_events(jobs.factory, registry, clock, shard=Shard(1, 2)) > EVENTS // 3

    scans: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if statement.startswith("SELECT events.id") and "event_receipts" in statement:
            scans.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with jobs.factory() as session:  # the pass is rolled back: only its scan counts
            relay(session, registry, clock, shard=Shard(0, 2))
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = scans[0]
    with engine.connect() as connection:
        # Stale statistics (the receipts "nearly empty") make the planner prefer a
        # nested loop over whatever it would pick with fresh ones: force that choice.
        connection.execute(text("SET enable_hashjoin = off"))
        connection.execute(text("SET enable_mergejoin = off"))
        [explained] = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
        ).scalar_one()

    assert _receipt_rows_read(explained["Plan"]) <= EVENTS + 1
