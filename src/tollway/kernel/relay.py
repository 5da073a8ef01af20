"""Event consumers and their receipts: how committed outbox events reach domains.

A consumer (webhooks, notifications, later dunning and invoicing) registers a
name and a handler. The relay (``tollway.jobs.relay``) hands it every committed
event it wants, once: handling an event and writing its receipt, unique per
(event, consumer), happen in one transaction, so a crash loses nothing (no
receipt, the event is offered again) and repeats nothing (a receipt exists).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.context import Context
from tollway.kernel.db import Base
from tollway.kernel.outbox import Event

EventHandler = Callable[[Context, Event], None]
"""Reacts to one event in ``ctx.session``'s transaction; never commits.

``ctx.clock`` is the relay's clock; for a customer's time use
``ctx.now(customer.test_clock_id)``. Raising rolls back everything the handler
did for this event; the relay offers the event again later, with backoff.
"""

BatchHandler = Callable[[Context, Sequence[Event]], None]
"""Reacts to several events of one product, in id order, in one call; the same
contract as :data:`EventHandler` for each of them (all or none take effect)."""

DONE, FAILED, DEAD = "done", "failed", "dead"
FAILED_WHERE = f"status = '{FAILED}'"
"""The predicate of the index of receipts due for a retry; a query uses that index
only with this very text in its ``WHERE`` (a bound parameter would not match it)."""


@dataclass(frozen=True)
class Consumer:
    """A named reader of the outbox; ``types`` limits it to those event types."""

    name: str
    handler: EventHandler
    types: frozenset[str] | None = None
    max_attempts: int = 10
    batch_handler: BatchHandler | None = None
    """Optional: the relay hands a pass's events to it together (one savepoint per
    product); if it raises, each event goes to ``handler`` alone, so one failing event
    fails alone."""
    pass_limit: int | None = None
    """Events per relay pass for this consumer (the relay's default when ``None``): a
    batch handler whose cost per pass is partly fixed takes larger passes."""


class EventReceipt(Base):
    """That ``consumer`` handled (or keeps failing on) ``event_id``."""

    __tablename__ = "event_receipts"
    __table_args__ = (
        UniqueConstraint("consumer", "event_id"),
        # Only failed receipts wait for a retry: a partial index holds those alone, so
        # a receipt written done costs no entry, and the probe for an event's receipt
        # has no other index to pick than the unique one (docs/decisions.md).
        Index(
            "ix_event_receipts_failed_due",
            "consumer",
            "next_attempt_at",
            postgresql_where=text(FAILED_WHERE),
            sqlite_where=text(FAILED_WHERE),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    consumer: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=1)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RelayCursor(Base):
    """How far the periodic relay has offered events to ``consumer``: every event
    with an id up to ``position`` has a receipt (or is not the consumer's type)."""

    __tablename__ = "relay_cursors"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[str] = mapped_column(String(40))
    checkpoint_xid: Mapped[int | None] = mapped_column(BigInteger)
    """PostgreSQL: a transaction id taken by a relay pass; once every transaction up
    to it has ended, no event with an id below ``checkpoint_bound`` can still commit."""
    checkpoint_bound: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime]
