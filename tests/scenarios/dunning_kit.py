"""Helpers of the dunning stories: publish payment events as tollway.payments does
(the contract of its ``payment.failed`` / ``payment.succeeded`` data), read back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from story import Story, iso, utc

from tollway import customers
from tollway.dunning.tasks import on_event
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.outbox import Event, record_event

MARCH_1 = utc(2026, 3, 1)


def dunning_catalog(story: Story) -> None:
    """``api_calls``; ``free`` (the default plan, 100 calls) and ``pro`` ($29.99, 10k)."""
    metric = {"code": "api_calls", "name": "API calls", "aggregation": "count"}
    story.post("/v1/metrics", metric, 201)
    for code, prices, limit, is_default in (
        ("free", [], 100, True),
        ("pro", [{"interval": "monthly", "amount": 2999}], 10_000, False),
    ):
        body = {
            "code": code,
            "name": code.title(),
            "prices": prices,
            "is_default": is_default,
            "quotas": [{"metric": "api_calls", "limit": limit, "period": "monthly"}],
        }
        story.post("/v1/plans", body, 201)


def unpaid_pro(story: Story) -> tuple[dict[str, Any], dict[str, Any]]:
    """Acme on Pro from March 1 with its first invoice issued: (subscription, invoice)."""
    dunning_catalog(story)
    story.starts_at(MARCH_1)
    story.customer("acme")
    sub = story.subscribe("acme", "pro", billing_cycle="monthly")
    story.advance(MARCH_1)
    body = story.ok("GET", "/v1/customers/acme/invoices", params={"limit": 100})
    (invoice,) = body["data"]
    return sub, invoice


class Payments:
    """Publishes payment events into the outbox, on the customer's clock."""

    def __init__(
        self, story: Story, factory: sessionmaker[Session], clock: Clock, product_id: str
    ) -> None:
        self.story = story
        self.factory = factory
        self.clock = clock
        self.product_id = product_id

    def _publish(self, event_type: str, invoice: dict[str, Any], **data: Any) -> None:
        with unit_of_work(self.factory) as session:
            ctx = Context(session=session, product_id=self.product_id, clock=self.clock)
            customer = customers.get_customer(ctx, "acme")
            record_event(
                ctx,
                event_type,
                {
                    "invoice_id": invoice["id"],
                    "invoice_number": invoice["number"],
                    "customer_id": customer.id,
                    "external_customer_id": customer.external_id,
                    "subscription_id": invoice["subscription_id"],
                    "amount": invoice["amount_due"],
                    "currency": invoice["currency"],
                    "provider": "fake",
                    **data,
                },
                customer_id=customer.id,
                test_clock_id=customer.test_clock_id,
            )

    def failed(
        self, invoice: dict[str, Any], attempt: int, *, next_retry_at: datetime | None
    ) -> None:
        """``payment.failed`` of ``attempt`` now, then relay it (advance to now)."""
        self._publish(
            "payment.failed",
            invoice,
            id=f"pay_{invoice['id']}_{attempt}",
            provider_payment_id=None,
            failure_code="card_declined",
            failure_message="Your card was declined",
            attempt=attempt,
            next_retry_at=iso(next_retry_at) if next_retry_at else None,
            final=next_retry_at is None,
        )
        self.relay()

    def succeeded(self, invoice: dict[str, Any], attempt: int, paid_at: datetime) -> None:
        self._publish(
            "payment.succeeded",
            invoice,
            id=f"pay_{invoice['id']}_{attempt}",
            provider_payment_id=f"fake_{attempt}",
            attempt=attempt,
            paid_at=iso(paid_at),
        )
        self.relay()

    def relay(self) -> None:
        """Relay the clock's events (advance to where the clock stands)."""
        now = self.story.ok("GET", f"/v1/test-clocks/{self.story.clock_id}")["frozen_time"]
        self.story.post(f"/v1/test-clocks/{self.story.clock_id}/advance", {"frozen_time": now})


def redeliver(factory: sessionmaker[Session], clock: Clock, event_id: str) -> None:
    """Hand an event to the dunning consumer again, as the relay does after a crash
    between handling it and recording its receipt."""
    with unit_of_work(factory) as session:
        event = session.get_one(Event, event_id)
        ctx = Context(session=session, product_id=event.product_id, clock=clock, actor="relay")
        on_event(ctx, event)


def cases(story: Story, **params: Any) -> list[dict[str, Any]]:
    return list(story.ok("GET", "/v1/customers/acme/dunning", params=params)["data"])


def note_types(story: Story) -> list[str]:
    """The customer's notification types, oldest first."""
    body = story.ok("GET", "/v1/customers/acme/notifications", params={"limit": 100})
    return [n["type"] for n in reversed(body["data"])]


def consume(story: Story) -> int:
    response = story.client.post("/v1/customers/acme/quotas/api_calls/consume", json={})
    return response.status_code
