"""Helpers of the payment and dunning stories: the fake provider's cards, the
Stripe and Asaas stand-ins of ``tests/payments`` and signed webhook deliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import stripe
from story import Story

START = datetime(2026, 1, 15, 12, tzinfo=UTC)  # the conftest clock: webhooks are verified at it
STRIPE_SECRET = "whsec_tollway_stories"
ASAAS_TOKEN = "asaas-token-stories"
PRICE = "price_pro_monthly"


def use_fake(story: Story, **payments: Any) -> None:
    body = {"payments": {"provider": "fake", **payments}}
    story.ok("PATCH", "/v1/product/settings", json=body)


def add_card(story: Story, customer: str, token: str, **extra: Any) -> None:
    story.post(f"/v1/customers/{customer}/payment-methods", {"token": token, **extra}, 201)


def attempts(story: Story, invoice_id: str) -> list[tuple[int, str, str, str | None]]:
    """``(attempt, status, attempted_at, failure_code)`` first first."""
    data = story.ok("GET", f"/v1/invoices/{invoice_id}/payment-attempts")["data"]
    return [(a["attempt"], a["status"], a["attempted_at"], a["failure_code"]) for a in data]


def timeline(story: Story, *prefixes: str) -> list[tuple[str, str]]:
    """``(type, occurred at on the customer's clock)`` of events of these prefixes."""
    found = story.events("")
    return [
        (e["type"], e["created"][:16])
        for e in found
        if e["type"].startswith(prefixes) and e["type"] != "test_clock.advanced"
    ]


def notifications(story: Story, customer: str) -> list[dict[str, Any]]:
    body = story.ok("GET", f"/v1/customers/{customer}/notifications", params={"limit": 100})
    return list(reversed(body["data"]))


def relay(story: Story) -> None:
    """Relay the clock's events (a webhook records them; the clock's advance relays)."""
    now = story.ok("GET", f"/v1/test-clocks/{story.clock_id}")["frozen_time"]
    story.post(f"/v1/test-clocks/{story.clock_id}/advance", {"frozen_time": now})


def stripe_delivery(story: Story, event_id: str, event_type: str, data: dict[str, Any]) -> Any:
    body = json.dumps({"id": event_id, "type": event_type, "data": {"object": data}})
    header = stripe.WebhookSignature.generate_signature_header(
        body, STRIPE_SECRET, timestamp=int(START.timestamp())
    )
    response = story.client.post(
        "/v1/providers/stripe/webhook", content=body, headers={"Stripe-Signature": header}
    )
    assert response.status_code == 200, response.text
    relay(story)
    return response.json()


def asaas_delivery(story: Story, event_id: str, event: str, payment: dict[str, Any]) -> Any:
    body = json.dumps(
        {"id": event_id, "event": event, "dateCreated": "2026-03-01", "payment": payment}
    )
    response = story.client.post(
        "/v1/providers/asaas/webhook", content=body, headers={"asaas-access-token": ASAAS_TOKEN}
    )
    assert response.status_code == 200, response.text
    relay(story)
    return response.json()
