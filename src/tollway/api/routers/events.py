"""``/v1/events``: the event log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from tollway import customers
from tollway.api.deps import Ctx, PageDep
from tollway.api.routing import resource_router
from tollway.api.schemas import ListOut
from tollway.kernel.outbox import Event, list_events

router = resource_router("events")


class EventOut(BaseModel):
    id: str
    type: str
    created: datetime
    data: dict[str, Any]


def _out(event: Event) -> EventOut:
    return EventOut(id=event.id, type=event.type, created=event.created_at, data=event.data)


@router.get("/events")
def get_events(
    ctx: Ctx,
    page: PageDep,
    type: Annotated[str | None, Query(max_length=100)] = None,
    customer_id: Annotated[str | None, Query(max_length=255)] = None,
) -> ListOut[EventOut]:
    """Events, newest first; ``customer_id`` is the customer's external id."""
    internal = customers.get_customer(ctx, customer_id).id if customer_id else None
    return ListOut.of(list_events(ctx, page, type=type, customer_id=internal), _out)
