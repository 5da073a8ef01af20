"""Helpers of the notification tests: record an event as a domain would."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tollway import customers
from tollway.kernel.context import Context
from tollway.kernel.outbox import record_event


def emit(ctx: Context, external_id: str | None, event_type: str, data: dict[str, Any]) -> None:
    """Record ``event_type`` for the customer (or the product) and commit."""
    customer = customers.get_customer(ctx, external_id) if external_id else None
    record_event(
        ctx,
        event_type,
        data,
        customer_id=customer.id if customer else None,
        test_clock_id=customer.test_clock_id if customer else None,
    )
    ctx.session.commit()


def notes(client: TestClient, external_id: str, **params: Any) -> list[Any]:
    response = client.get(
        f"/v1/customers/{external_id}/notifications", params={"limit": 100, **params}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def unread(client: TestClient, external_id: str) -> int:
    response = client.get(f"/v1/customers/{external_id}/notifications/unread-count")
    assert response.status_code == 200, response.text
    count: int = response.json()["unread_count"]
    return count
