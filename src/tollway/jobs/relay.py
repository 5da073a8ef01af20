"""The event relay: hands committed outbox events to each consumer, once.

For each consumer, the relay takes events that have no receipt from it yet (or
whose last failure is due for a retry), oldest first. Each (event, consumer) runs
in a savepoint that first writes the receipt (unique per event and consumer) and
then calls the handler: both commit together, or neither does. Hence:

- a crash mid-relay loses nothing: an event without a receipt is offered again;
- nothing committed is repeated: the receipt is there, and the next pass skips it;
- two relayers never both handle one event: on PostgreSQL the second insert of a
  receipt waits for the first transaction and then, the key taken, inserts nothing
  (the event is skipped); SQLite runs one writer at a time;
- a handler that raises has its writes rolled back; a ``failed`` receipt records
  the error and the event is offered again after a backoff, ``dead`` after the
  consumer's ``max_attempts``.

So that a pass does not walk the whole event log, each consumer has a cursor: the
relay looks for unseen events after it (and for failed receipts due again), and
moves it over events that all have receipts, staying ``CURSOR_LAG`` behind the
newest ids because ids come from several processes' clocks and commit out of order.
Within one job, later passes go on after the last new event the previous pass
offered (``offered``), so a burst is read once; the next job starts from the cursor.

Shards: when one relayer is not enough, ``relay_shards`` relayers (the worker's
setting) split the events by customer, each taking those whose customer id hashes
to its shard (:class:`Shard`). A customer's events stay in order in one shard, two
shards never offer each other's events (so they do not wait on each other's
receipts), and the cursor, shared, still moves only over events that all have
receipts (a pass leaves a cursor another relayer holds to it). A shard's job
makes one pass, and a worker claims one shard's job at a time, so the shards run
side by side. Receipts keep relaying exactly-once whatever the sharding; every
worker must still use the same count (a job of a shard it does not know fails as
an unknown kind).

Test clocks: events of customers on a test clock are not relayed by the periodic
job. Advancing the clock relays them before each job it runs and once more at the
end, with the clock standing at that moment (see ``tollway.jobs.testclocks``), so
scenario tests see notifications and webhook deliveries deterministically. An
advance to the clock's current time just relays (and runs what is due).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tollway.customers import Customer
from tollway.jobs.registry import Handler, Periodic, Registry
from tollway.jobs.runner import backoff, error_text
from tollway.kernel.clock import Clock, FixedClock, TestClock
from tollway.kernel.context import Context
from tollway.kernel.db import among, insert_new_rows, unit_of_work
from tollway.kernel.ids import new_id, new_ids, time_floor
from tollway.kernel.jobs import DONE as JOB_DONE
from tollway.kernel.jobs import Job, enqueue
from tollway.kernel.outbox import Event
from tollway.kernel.relay import (
    DEAD,
    DONE,
    FAILED,
    FAILED_WHERE,
    Consumer,
    EventReceipt,
    RelayCursor,
)

log = logging.getLogger(__name__)

RELAY_KIND = "events.relay"
RELAY_EVERY = timedelta(seconds=5)
RELAY_BATCH = 200
RELAY_JOB_RETENTION = timedelta(hours=1)
RELAY_BUDGET_SECONDS = 1.0
"""A relay job makes passes until caught up or this long (its transaction holds
SQLite's write lock); behind further, it enqueues a follow-up job at once."""
CURSOR_LAG = timedelta(minutes=15)
"""How far behind the newest events a consumer's cursor stays (late commits)."""
_MAX_ERROR_CHARS = 4000
SWEEP_KIND = "events.relay_sweep"
SWEEP_EVERY = timedelta(minutes=10)
SWEEP_WINDOW = timedelta(hours=24)
"""How far back the sweep looks for events behind a cursor without a receipt."""


@dataclass(frozen=True)
class Shard:
    """Relayer ``index`` of ``count``: it takes the events whose customer id hashes to
    ``index`` (events about no customer hash as the empty id)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} of {self.count} does not exist")


def relay(
    session: Session,
    registry: Registry,
    clock: Clock,
    *,
    test_clock_id: str | None = None,
    limit: int | None = None,
    cursor_lag: timedelta = CURSOR_LAG,
    offered: dict[str, str] | None = None,
    shard: Shard | None = None,
) -> int:
    """One pass: each consumer gets up to ``limit`` pending events (by default its
    ``pass_limit``, else ``RELAY_BATCH``); returns how many (event, consumer) pairs
    were handled. The caller commits.

    Without ``test_clock_id``: events not about a customer on a test clock, read from
    the consumer's cursor on. With it: only events of that clock's customers.

    ``offered``, kept by the caller across the passes of one job, holds the last new
    event each consumer was offered: a later pass looks for new events after it
    instead of from the cursor, so a burst is read once, not once per pass. Receipts
    stay the truth; an event committing late below that point is found by the next
    job, which starts from the cursor again.

    ``shard``: only the events of that shard's customers.
    """
    now = clock.now()
    handled = 0
    for consumer in registry.consumers:
        after = _cursor_position(session, consumer) if test_clock_id is None else ""
        resume = max(after, (offered or {}).get(consumer.name, ""))
        size = limit or consumer.pass_limit or RELAY_BATCH
        pending, last_new = _pending(
            session, consumer, now, test_clock_id, size, after=resume, shard=shard
        )
        if offered is not None and last_new is not None:
            offered[consumer.name] = last_new
        if consumer.batch_handler is not None and len(pending) > 1:
            handled += _handle_batch(session, consumer, pending, clock)
        else:
            for event_id in pending:
                handled += _handle(session, consumer, event_id, clock)
        if test_clock_id is None:
            bound = time_floor("evt", now - cursor_lag)
            _advance_cursor(session, consumer, after=after, bound=bound, now=now)
    return handled


def _scoped(stmt: Select[Any], consumer: Consumer, test_clock_id: str | None) -> Select[Any]:
    """Only events of the relay's scope (test clock or not) and the consumer's types."""
    stmt = stmt.outerjoin(Customer, Customer.id == Event.customer_id)
    if test_clock_id is None:
        stmt = stmt.where(Customer.test_clock_id.is_(None))
    else:
        stmt = stmt.where(Customer.test_clock_id == test_clock_id)
    if consumer.types is not None:
        stmt = stmt.where(Event.type.in_(sorted(consumer.types)))
    return stmt


def _in_shard(session: Session, stmt: Select[Any], shard: Shard | None) -> Select[Any]:
    """Only the events of ``shard`` (all of them without one). PostgreSQL hashes the
    customer id with ``hashtext``; SQLite with the ``text_hash`` function every
    connection has (``tollway.kernel.db``)."""
    if shard is None:
        return stmt
    customer = func.coalesce(Event.customer_id, "")
    bucket: ColumnElement[int]
    if session.get_bind().dialect.name == "postgresql":
        bucket = func.abs(func.hashtext(customer) % shard.count)
    else:
        bucket = func.text_hash(customer) % shard.count
    return stmt.where(bucket == shard.index)


def _receipt_join(consumer: Consumer) -> ColumnElement[bool]:
    return and_(EventReceipt.event_id == Event.id, EventReceipt.consumer == consumer.name)


def _no_receipt(consumer: Consumer) -> ColumnElement[bool]:
    """The event has no receipt of ``consumer``: a probe of the receipts' unique index
    per event scanned.

    ``OFFSET 0`` keeps PostgreSQL from turning the test into an anti-join (its planner
    leaves an ``EXISTS`` with an offset as it is). In a burst the receipts table grows
    by thousands of rows before autovacuum analyzes it, and with statistics that
    still said it was nearly empty, the planner joined each scanned event to a
    materialized copy of all the consumer's receipts: a sharded pass of 500 events
    took up to 420 ms instead of about 3 (docs/decisions.md)."""
    receipt = select(EventReceipt.event_id).where(_receipt_join(consumer)).offset(0)
    return ~receipt.exists()


def _pending(
    session: Session,
    consumer: Consumer,
    now: datetime,
    test_clock_id: str | None,
    limit: int,
    *,
    after: str,
    shard: Shard | None,
) -> tuple[list[str], str | None]:
    """Events after ``after`` without a receipt, and failed ones due for a retry (of
    ``shard``); and the last of the former among them (``None`` if none)."""
    unseen = _scoped(
        select(Event.id).where(Event.id > after, _no_receipt(consumer)),
        consumer,
        test_clock_id,
    )
    retry = _scoped(
        select(Event.id)
        .join(EventReceipt, _receipt_join(consumer))
        .where(text(f"event_receipts.{FAILED_WHERE}"), EventReceipt.next_attempt_at <= now),
        consumer,
        test_clock_id,
    )
    unseen, retry = _in_shard(session, unseen, shard), _in_shard(session, retry, shard)
    new = set(session.scalars(unseen.order_by(Event.id).limit(limit)))
    pending = sorted(new | set(session.scalars(retry.order_by(Event.id).limit(limit))))[:limit]
    return pending, max((e for e in pending if e in new), default=None)


def _cursor_position(session: Session, consumer: Consumer) -> str:
    row = session.get(RelayCursor, consumer.name)
    return row.position if row is not None else ""


def _advance_cursor(
    session: Session, consumer: Consumer, *, after: str, bound: str, now: datetime
) -> None:
    """Move the cursor over events that all have receipts and are older than ``bound``.

    Event ids carry the wall-clock time they were made, in several processes, and a
    transaction may commit after events with later ids. The cursor stays
    ``CURSOR_LAG`` behind (clock skew between processes) and, on PostgreSQL, also
    behind every transaction still open (:func:`_settled_bound`), so an event
    committing late is still found; until then receipts alone keep the effect
    exactly-once. A cursor another relayer holds locked (a shard's pass, or a job
    still open) is left to it (``SKIP LOCKED``): relayers never wait on each other
    here, and a cursor left behind only makes a later pass look a little further.
    """
    # Only events below ``bound`` can hold the cursor back: the newest ones (a burst
    # being relayed right now) are not scanned on every pass.
    first_open = session.scalar(
        _scoped(
            select(func.min(Event.id)).where(
                Event.id > after, Event.id < bound, _no_receipt(consumer)
            ),
            consumer,
            None,
        )
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    try:
        with session.begin_nested():
            row = session.scalar(
                select(RelayCursor)
                .where(RelayCursor.consumer == consumer.name)
                .with_for_update(skip_locked=True)
                .execution_options(populate_existing=True)
            )
            if row is None and postgres:
                if _cursor_exists(session, consumer):
                    return  # another relayer is moving it; a cursor left behind is safe
                row = RelayCursor(consumer=consumer.name, position="", updated_at=now)
                session.add(row)
            if row is not None and postgres:
                bound = _settled_bound(session, row, bound)
            upper = min(bound, first_open) if first_open is not None else bound
            position = session.scalar(
                select(func.max(Event.id)).where(Event.id > after, Event.id < upper)
            )
            if position is not None and row is None:
                session.add(RelayCursor(consumer=consumer.name, position=position, updated_at=now))
            elif position is not None and row is not None and position > row.position:
                row.position = position
                row.updated_at = now
            session.flush()
    except IntegrityError:
        log.info("relay cursor of %s: another relayer created it", consumer.name)


def _cursor_exists(session: Session, consumer: Consumer) -> bool:
    return (
        session.scalar(select(RelayCursor.consumer).where(RelayCursor.consumer == consumer.name))
        is not None
    )


def _settled_bound(session: Session, row: RelayCursor, bound: str) -> str:
    """PostgreSQL: the highest id below which no event can still commit.

    Writers get their transaction id before making event ids
    (``tollway.kernel.outbox``). A pass records a checkpoint: its own transaction
    id X and ``bound`` (its time less the lag). A later pass that sees every
    transaction up to X ended (X below its snapshot's xmin) knows that any
    transaction still open started after the checkpoint and so makes ids at or
    above that bound; only then may the cursor move up to it. A transaction held
    open for hours holds the cursor back for as long.
    """
    xmin = int(session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")) or 0)
    settled = ""
    if row.checkpoint_xid is not None and xmin > row.checkpoint_xid:
        settled = row.checkpoint_bound or ""
        row.checkpoint_xid = None
    if row.checkpoint_xid is None:
        row.checkpoint_bound = bound
        row.checkpoint_xid = int(session.scalar(text("SELECT pg_current_xact_id()::text")) or 0)
    return min(settled, bound)


def _locked_receipt(session: Session, consumer: Consumer, event_id: str) -> EventReceipt | None:
    return session.scalar(
        select(EventReceipt)
        .where(EventReceipt.event_id == event_id, EventReceipt.consumer == consumer.name)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _claim(session: Session, consumer: Consumer, event: Event, clock: Clock) -> bool:
    """Write (or take over a due failed) receipt as done; ``False`` if another relayer
    handled the event meanwhile."""
    return bool(_claim_all(session, consumer, [event], clock))


def _claim_all(
    session: Session, consumer: Consumer, events: Sequence[Event], clock: Clock
) -> list[Event]:
    """:func:`_claim` for several events (those claimed, in order): new receipts are
    written in one statement that skips the events having one (on PostgreSQL, after
    waiting for a relayer still handling them); only those are then locked and read,
    to take over the failed ones due for a retry."""
    now = clock.now()
    rows = [
        {
            "id": receipt_id,
            "product_id": event.product_id,
            "event_id": event.id,
            "consumer": consumer.name,
            "status": DONE,
            "attempts": 1,
            "last_error": None,
            "next_attempt_at": None,
            "created_at": now,
            "updated_at": now,
        }
        for receipt_id, event in zip(new_ids("rcpt", len(events)), events, strict=True)
    ]
    written = set(
        insert_new_rows(
            session, EventReceipt, rows, key=("consumer", "event_id"), returning="event_id"
        )
    )
    held = [event.id for event in events if event.id not in written]
    retried = set()
    if held:
        for receipt in session.scalars(
            select(EventReceipt)
            .where(
                EventReceipt.consumer == consumer.name, among(session, EventReceipt.event_id, held)
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        ):
            if receipt.status == FAILED and (
                receipt.next_attempt_at is None or receipt.next_attempt_at <= now
            ):
                receipt.status = DONE
                receipt.attempts += 1
                receipt.last_error = None
                receipt.next_attempt_at = None
                receipt.updated_at = now
                retried.add(receipt.event_id)
        session.flush()
    return [event for event in events if event.id in written or event.id in retried]


def _handle(session: Session, consumer: Consumer, event_id: str, clock: Clock) -> int:
    """Hand one event to one consumer in a savepoint; 1 if handled, else 0."""
    savepoint = session.begin_nested()
    event = session.get_one(Event, event_id)
    if not _claim(session, consumer, event, clock):
        savepoint.rollback()  # another relayer handled it
        return 0
    try:
        ctx = Context(
            session=session,
            product_id=event.product_id,
            clock=clock,
            actor=f"relay:{consumer.name}",
        )
        consumer.handler(ctx, event)
        session.flush()
        savepoint.commit()
        return 1
    except Exception:
        savepoint.rollback()
        error = error_text()
    _record_failure(session, consumer, event_id, clock, error)
    return 0


def _handle_batch(session: Session, consumer: Consumer, event_ids: list[str], clock: Clock) -> int:
    """Hand events to the consumer's batch handler, one savepoint per product (events
    another relayer handled are skipped); a batch that fails goes event by event
    instead."""
    assert consumer.batch_handler is not None
    events = session.scalars(
        select(Event).where(among(session, Event.id, event_ids)).order_by(Event.id)
    )
    by_product: dict[str, list[Event]] = {}
    for event in events:
        by_product.setdefault(event.product_id, []).append(event)
    handled = 0
    for product_id, group in by_product.items():
        savepoint = session.begin_nested()
        try:
            claimed = _claim_all(session, consumer, group, clock)
            ctx = Context(
                session=session, product_id=product_id, clock=clock, actor=f"relay:{consumer.name}"
            )
            if claimed:
                consumer.batch_handler(ctx, claimed)
            session.flush()
            savepoint.commit()
            handled += len(claimed)
        except Exception:
            savepoint.rollback()
            log.info("consumer %s: batch failed; handling its events one by one", consumer.name)
            handled += sum(_handle(session, consumer, event.id, clock) for event in group)
    return handled


def _record_failure(
    session: Session, consumer: Consumer, event_id: str, clock: Clock, error: str
) -> None:
    now = clock.now()
    error = error.replace("\x00", "\\x00")[-_MAX_ERROR_CHARS:]
    try:
        with session.begin_nested():
            receipt = _locked_receipt(session, consumer, event_id)
            if receipt is None:
                event = session.get_one(Event, event_id)
                receipt = EventReceipt(
                    id=new_id("rcpt"),
                    product_id=event.product_id,
                    event_id=event_id,
                    consumer=consumer.name,
                    status=FAILED,
                    attempts=0,
                    created_at=now,
                )
                session.add(receipt)
            receipt.attempts += 1
            receipt.last_error = error
            receipt.updated_at = now
            if receipt.attempts >= consumer.max_attempts:
                receipt.status = DEAD
                receipt.next_attempt_at = None
                log.error("consumer %s gave up on event %s:\n%s", consumer.name, event_id, error)
            else:
                receipt.status = FAILED
                receipt.next_attempt_at = now + backoff(receipt.attempts)
                log.warning(
                    "consumer %s failed on event %s; retried later", consumer.name, event_id
                )
            session.flush()
    except IntegrityError:
        log.info("event %s: another relayer handled it for %s", event_id, consumer.name)


def relay_events(
    factory: sessionmaker[Session],
    registry: Registry,
    clock: Clock,
    *,
    cursor_lag: timedelta = CURSOR_LAG,
    shard: Shard | None = None,
) -> int:
    """Relay until nothing is pending (events not on a test clock, of ``shard``); one
    transaction per pass. Returns how many (event, consumer) pairs were handled."""
    total = 0
    offered: dict[str, str] = {}
    while True:
        with unit_of_work(factory) as session:
            handled = relay(
                session, registry, clock, cursor_lag=cursor_lag, offered=offered, shard=shard
            )
        total += handled
        if handled == 0:
            return total


def relay_test_clock(factory: sessionmaker[Session], registry: Registry, clock_id: str) -> int:
    """Relay the events of a test clock's customers at the clock's time (locked, so
    concurrent advances take turns). Returns how many pairs were handled."""
    total = 0
    offered: dict[str, str] = {}
    while True:
        with unit_of_work(factory) as session:
            test_clock = session.get_one(TestClock, clock_id, with_for_update=True)
            frozen = FixedClock(test_clock.frozen_time)
            handled = relay(session, registry, frozen, test_clock_id=clock_id, offered=offered)
        total += handled
        if handled == 0:
            return total


def relay_kind(index: int) -> str:
    """The job kind of shard ``index``'s relay: ``events.relay``, ``events.relay.1``, ..."""
    return RELAY_KIND if index == 0 else f"{RELAY_KIND}.{index}"


def tasks(
    registry: Registry, *, budget_seconds: float = RELAY_BUDGET_SECONDS, shards: int = 1
) -> tuple[dict[str, Handler], list[Periodic]]:
    """The periodic relay jobs, bound to ``registry``'s consumers: one per shard, of
    its own kind (``shards`` of them; one, unsharded, by default), and the sweep. An
    unsharded job makes passes for up to ``budget_seconds`` before handing the rest
    to a follow-up job of its kind; a shard's job makes one. The shards' kinds are
    claimed apart (``Registry.claim_apart``): a worker takes one at a time, so
    several workers run them side by side."""
    handlers: dict[str, Handler] = {}
    periodic: list[Periodic] = []
    for index in range(shards):
        kind = relay_kind(index)
        shard = Shard(index, shards) if shards > 1 else None
        handlers[kind] = _relay_job(registry, kind, shard, budget_seconds)
        periodic.append(Periodic(kind, RELAY_EVERY))
    if shards > 1:
        registry.claim_apart.update(handlers)

    def sweep_job(ctx: Context, payload: dict[str, Any]) -> None:
        sweep_behind_cursor(ctx.session, registry, ctx.clock)

    handlers[SWEEP_KIND] = sweep_job
    return handlers, [*periodic, Periodic(SWEEP_KIND, SWEEP_EVERY)]


def _relay_job(
    registry: Registry, kind: str, shard: Shard | None, budget_seconds: float
) -> Handler:
    def relay_job(ctx: Context, payload: dict[str, Any]) -> None:
        deadline = time.monotonic() + budget_seconds
        offered: dict[str, str] = {}
        while relay(ctx.session, registry, ctx.clock, offered=offered, shard=shard):
            # Not caught up: go on in a fresh job. A shard's job is one pass, so that
            # what it holds until it commits (the year's invoice numbers) is held for
            # one pass, not for the whole budget, while the other shards wait on it.
            if shard is not None or time.monotonic() >= deadline:
                enqueue(ctx, kind, {}, product_scoped=False)
                break
        ctx.session.execute(
            delete(Job).where(
                Job.kind == kind,
                Job.status == JOB_DONE,
                Job.finished_at < ctx.now() - RELAY_JOB_RETENTION,
            )
        )

    return relay_job


def sweep_behind_cursor(
    session: Session, registry: Registry, clock: Clock, *, window: timedelta = SWEEP_WINDOW
) -> int:
    """Belt and braces: hand consumers any event of the last ``window`` that sits
    behind their cursor without a receipt (the cursor should make this impossible).
    Returns how many (event, consumer) pairs were handled."""
    now = clock.now()
    floor = time_floor("evt", now - window)
    handled = 0
    for consumer in registry.consumers:
        position = _cursor_position(session, consumer)
        if position <= floor:
            continue
        missed = _scoped(
            select(Event.id).where(Event.id > floor, Event.id <= position, _no_receipt(consumer)),
            consumer,
            None,
        )
        for event_id in session.scalars(missed.order_by(Event.id).limit(RELAY_BATCH)).all():
            log.warning(
                "relay sweep: event %s was behind the cursor of %s", event_id, consumer.name
            )
            handled += _handle(session, consumer, event_id, clock)
    return handled
