"""Helpers of the invoice stories."""

from __future__ import annotations

from typing import Any

from story import Story


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
