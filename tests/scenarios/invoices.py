"""Helpers of the invoice stories."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from story import Story

from tollway.invoicing.tasks import on_subscription_event
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.outbox import Event


def invoices_of(story: Story, customer: str) -> list[dict[str, Any]]:
    """The customer's invoices, oldest first."""
    body = story.ok("GET", f"/v1/customers/{customer}/invoices", params={"limit": 100})
    return list(reversed(body["data"]))


def lines(invoice: dict[str, Any]) -> list[tuple[str, int, int]]:
    """``(kind, amount, discount)`` of each line."""
    return [(line["kind"], line["amount"], line["discount"]) for line in invoice["line_items"]]


def amounts(invoice: dict[str, Any]) -> dict[str, int]:
    keys = ("subtotal", "discount", "tax", "total", "credits_applied", "amount_due", "amount_paid")
    return {key: invoice[key] for key in keys}


def tax(story: Story, **section: Any) -> None:
    story.ok("PATCH", "/v1/product/settings", json={"invoicing": section})


def metric(story: Story, code: str, aggregation: str = "sum") -> None:
    story.post(
        "/v1/metrics",
        {"code": code, "name": code.replace("_", " "), "aggregation": aggregation},
        201,
    )


def usage_plan(story: Story, code: str, charges: list[dict[str, Any]], **extra: Any) -> None:
    """A plan with usage ``charges`` (and, in ``extra``, prices or included credits)."""
    body = {"code": code, "name": code.title(), "charges": charges, **extra}
    story.post("/v1/plans", body, 201)


def use(story: Story, customer: str, metric_code: str, quantity: int | str, at: str) -> None:
    body = {"customer_id": customer, "metric": metric_code, "quantity": quantity, "timestamp": at}
    story.post("/v1/usage", body, 202)


def usage_lines(invoice: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    """``(metric, quantity, unit_amount, amount)`` of the usage lines."""
    return [
        (line["metric"], line["quantity"], line["unit_amount"], line["amount"])
        for line in invoice["line_items"]
        if line["kind"] == "usage"
    ]


def redeliver(story: Story, factory: sessionmaker[Session], clock: Clock, event_type: str) -> None:
    """Offer the latest ``event_type`` event to the invoicing consumer again, as the
    relay does after a crash between handling an event and recording it."""
    (event_id,) = [e["id"] for e in story.events(event_type)][-1:]
    with unit_of_work(factory) as session:
        event = session.get_one(Event, event_id)
        ctx = Context(
            session=session, product_id=event.product_id, clock=clock, actor="relay:invoicing"
        )
        on_subscription_event(ctx, event)
