"""The outbox: domain events written in the same transaction as the change.

A committed event is the fact that something happened. Consumers (webhooks,
notifications, dunning, invoicing) read them after commit; ``GET /v1/events``
lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from tollway.kernel.context import Context
from tollway.kernel.db import Base, insert_rows
from tollway.kernel.ids import new_id, new_ids
from tollway.kernel.pagination import Page, PageRequest, paginate


class Event(Base):
    """One domain event: ``type`` like ``customer.created`` and its ``data``."""

    __tablename__ = "events"
    __table_args__ = (
        Index(None, "product_id", "type", "id"),
        Index(None, "product_id", "customer_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    type: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


def record_event(
    ctx: Context,
    type: str,
    data: dict[str, Any],
    *,
    customer_id: str | None = None,
    test_clock_id: str | None = None,
) -> Event:
    """Append an event to the outbox in the caller's transaction.

    ``created_at`` is the subject's time: the customer's test clock when it has one.
    On PostgreSQL the transaction gets its transaction id before the event's id is
    made, which is what lets the relay's cursor wait for it (``tollway.jobs.relay``).
    """
    assign_transaction_id(ctx.session)
    event = Event(
        id=new_id("evt"),
        product_id=ctx.product_id,
        type=type,
        customer_id=customer_id,
        data=data,
        created_at=ctx.now(test_clock_id),
    )
    ctx.session.add(event)
    return event


@dataclass(frozen=True)
class NewEvent:
    """An event for :func:`record_events`; the arguments of :func:`record_event`."""

    type: str
    data: dict[str, Any]
    customer_id: str | None = None
    test_clock_id: str | None = None


def record_events(ctx: Context, events: Sequence[NewEvent]) -> None:
    """:func:`record_event` for many events, in their order, written at once (one
    statement, no objects): for batch work such as invoice runs."""
    if not events:
        return
    assign_transaction_id(ctx.session)
    rows = [
        {
            "id": event_id,
            "product_id": ctx.product_id,
            "type": event.type,
            "customer_id": event.customer_id,
            "data": event.data,
            "created_at": ctx.now(event.test_clock_id),
        }
        for event_id, event in zip(new_ids("evt", len(events)), events, strict=True)
    ]
    insert_rows(ctx.session, Event, rows)


def assign_transaction_id(session: Session) -> None:
    """On PostgreSQL, make sure the current transaction has a transaction id (once)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_XID_OF) is transaction:
        return
    session.execute(text("SELECT pg_current_xact_id()"))
    session.info[_XID_OF] = session.get_transaction()


_XID_OF = "tollway.outbox.xid_assigned_in"


def list_events(
    ctx: Context, page: PageRequest, *, type: str | None = None, customer_id: str | None = None
) -> Page[Event]:
    """The product's events, newest first, optionally of one type or customer.

    A customer-scoped caller sees only its customer's events.
    """
    stmt = select(Event).where(Event.product_id == ctx.product_id)
    if ctx.customer_scope is not None:
        stmt = stmt.where(Event.customer_id == ctx.customer_scope)
    if type is not None:
        stmt = stmt.where(Event.type == type)
    if customer_id is not None:
        stmt = stmt.where(Event.customer_id == customer_id)
    return paginate(ctx.session, stmt, Event.id, page)
