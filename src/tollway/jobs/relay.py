"""The event relay: hands committed outbox events to each consumer, once.

For each consumer, the relay takes events that have no receipt from it yet (or
whose last failure is due for a retry), oldest first. Each (event, consumer) runs
in a savepoint that first writes the receipt (unique per event and consumer) and
then calls the handler: both commit together, or neither does. Hence:

- a crash mid-relay loses nothing: an event without a receipt is offered again;
- nothing committed is repeated: the receipt is there, and the next pass skips it;
- two relayers never both handle one event: on PostgreSQL the second insert of a
  receipt waits for the first transaction and then fails on the unique key (the
  event is skipped); SQLite runs one writer at a time;
- a handler that raises has its writes rolled back; a ``failed`` receipt records
  the error and the event is offered again after a backoff, ``dead`` after the
  consumer's ``max_attempts``.

Test clocks: events of customers on a test clock are not relayed by the periodic
job. Advancing the clock relays them before each job it runs and once more at the
end, with the clock standing at that moment (see ``tollway.jobs.testclocks``), so
scenario tests see notifications and webhook deliveries deterministically. An
advance to the clock's current time just relays (and runs what is due).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tollway.customers import Customer
from tollway.jobs.registry import Handler, Periodic, Registry
from tollway.jobs.runner import backoff, error_text
from tollway.kernel.clock import Clock, FixedClock, TestClock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.ids import new_id
from tollway.kernel.jobs import DONE as JOB_DONE
from tollway.kernel.jobs import Job
from tollway.kernel.outbox import Event
from tollway.kernel.relay import DEAD, DONE, FAILED, Consumer, EventReceipt

log = logging.getLogger(__name__)

RELAY_KIND = "events.relay"
RELAY_EVERY = timedelta(seconds=5)
RELAY_BATCH = 200
RELAY_JOB_RETENTION = timedelta(hours=1)
_MAX_ERROR_CHARS = 4000


def relay(
    session: Session,
    registry: Registry,
    clock: Clock,
    *,
    test_clock_id: str | None = None,
    limit: int = RELAY_BATCH,
) -> int:
    """One pass: each consumer gets up to ``limit`` pending events; returns how many
    (event, consumer) pairs were handled. The caller commits.

    Without ``test_clock_id``: events not about a customer on a test clock. With it:
    only events of that clock's customers.
    """
    now = clock.now()
    handled = 0
    for consumer in registry.consumers:
        for event_id in _pending(session, consumer, now, test_clock_id, limit):
            handled += _handle(session, consumer, event_id, clock)
    return handled


def _pending(
    session: Session, consumer: Consumer, now: Any, test_clock_id: str | None, limit: int
) -> list[str]:
    receipt_due = or_(
        EventReceipt.id.is_(None),
        and_(EventReceipt.status == FAILED, EventReceipt.next_attempt_at <= now),
    )
    stmt = (
        select(Event.id)
        .outerjoin(
            EventReceipt,
            and_(EventReceipt.event_id == Event.id, EventReceipt.consumer == consumer.name),
        )
        .outerjoin(Customer, Customer.id == Event.customer_id)
        .where(receipt_due)
    )
    if test_clock_id is None:
        stmt = stmt.where(Customer.test_clock_id.is_(None))
    else:
        stmt = stmt.where(Customer.test_clock_id == test_clock_id)
    if consumer.types is not None:
        stmt = stmt.where(Event.type.in_(sorted(consumer.types)))
    return list(session.scalars(stmt.order_by(Event.id).limit(limit)))


def _locked_receipt(session: Session, consumer: Consumer, event_id: str) -> EventReceipt | None:
    return session.scalar(
        select(EventReceipt)
        .where(EventReceipt.event_id == event_id, EventReceipt.consumer == consumer.name)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _claim(session: Session, consumer: Consumer, event: Event, clock: Clock) -> bool:
    """Write (or take over a due failed) receipt as done; ``False`` if another relayer
    handled the event meanwhile. Raises IntegrityError when one is handling it now."""
    now = clock.now()
    existing = _locked_receipt(session, consumer, event.id)
    if existing is not None:
        if existing.status != FAILED or (
            existing.next_attempt_at is not None and existing.next_attempt_at > now
        ):
            return False
        existing.status = DONE
        existing.attempts += 1
        existing.last_error = None
        existing.next_attempt_at = None
        existing.updated_at = now
        session.flush()
        return True
    session.add(
        EventReceipt(
            id=new_id("rcpt"),
            product_id=event.product_id,
            event_id=event.id,
            consumer=consumer.name,
            status=DONE,
            attempts=1,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    return True


def _handle(session: Session, consumer: Consumer, event_id: str, clock: Clock) -> int:
    """Hand one event to one consumer in a savepoint; 1 if handled, else 0."""
    savepoint = session.begin_nested()
    try:
        event = session.get_one(Event, event_id)
        if not _claim(session, consumer, event, clock):
            savepoint.rollback()
            return 0
    except IntegrityError:
        savepoint.rollback()  # another relayer handled it and committed
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


def relay_events(factory: sessionmaker[Session], registry: Registry, clock: Clock) -> int:
    """Relay until nothing is pending (events not on a test clock); one transaction
    per pass. Returns how many (event, consumer) pairs were handled."""
    total = 0
    while True:
        with unit_of_work(factory) as session:
            handled = relay(session, registry, clock)
        total += handled
        if handled == 0:
            return total


def relay_test_clock(factory: sessionmaker[Session], registry: Registry, clock_id: str) -> int:
    """Relay the events of a test clock's customers at the clock's time (locked, so
    concurrent advances take turns). Returns how many pairs were handled."""
    total = 0
    while True:
        with unit_of_work(factory) as session:
            test_clock = session.get_one(TestClock, clock_id, with_for_update=True)
            frozen = FixedClock(test_clock.frozen_time)
            handled = relay(session, registry, frozen, test_clock_id=clock_id)
        total += handled
        if handled == 0:
            return total


def tasks(registry: Registry) -> tuple[dict[str, Handler], list[Periodic]]:
    """The periodic relay job, bound to ``registry``'s consumers."""

    def relay_job(ctx: Context, payload: dict[str, Any]) -> None:
        relay(ctx.session, registry, ctx.clock)
        ctx.session.execute(
            delete(Job).where(
                Job.kind == RELAY_KIND,
                Job.status == JOB_DONE,
                Job.finished_at < ctx.now() - RELAY_JOB_RETENTION,
            )
        )

    handlers: dict[str, Callable[[Context, dict[str, Any]], None]] = {RELAY_KIND: relay_job}
    return handlers, [Periodic(RELAY_KIND, RELAY_EVERY)]
