"""Helpers of the webhook tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def create_endpoint(client: TestClient, url: str, events: list[str], **extra: Any) -> Any:
    response = client.post("/v1/webhook-endpoints", json={"url": url, "events": events, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def deliveries(client: TestClient, endpoint_id: str) -> list[Any]:
    response = client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", params={"limit": 100})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def advance(client: TestClient, clock_id: str, to: datetime) -> None:
    response = client.post(f"/v1/test-clocks/{clock_id}/advance", json={"frozen_time": iso(to)})
    assert response.status_code == 200, response.text
