"""A small vocabulary for billing stories told over HTTP on test clocks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Story:
    """One product, its catalog, customers on a test clock, and time moving forward."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.clock_id: str | None = None

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.text}"
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
        return self.ok("POST", path, status, json=body if body is not None else {})

    def settings(self, **section: Any) -> None:
        self.ok("PATCH", "/v1/product/settings", json={"subscriptions": section})

    def plan(
        self,
        code: str,
        monthly: int | None = None,
        *,
        annual: int | None = None,
        trial_days: int = 0,
        is_default: bool = False,
        currency: str = "USD",
    ) -> None:
        prices = []
        if monthly is not None:
            prices.append({"interval": "monthly", "amount": monthly})
        if annual is not None:
            prices.append({"interval": "annual", "amount": annual})
        body = {
            "code": code,
            "name": code.title(),
            "prices": prices,
            "trial_days": trial_days,
            "is_default": is_default,
            "currency": currency,
        }
        self.post("/v1/plans", body, 201)

    def starts_at(self, at: datetime) -> None:
        self.clock_id = self.post(
            "/v1/test-clocks", {"frozen_time": iso(at), "name": "story"}, 201
        )["id"]

    def customer(self, external_id: str, timezone: str = "UTC", currency: str = "USD") -> None:
        body = {
            "external_id": external_id,
            "timezone": timezone,
            "currency": currency,
            "test_clock": self.clock_id,
        }
        self.post("/v1/customers", body, 201)

    def subscribe(self, customer: str, plan: str, **extra: Any) -> dict[str, Any]:
        body = {"customer_id": customer, "plan_id": plan, **extra}
        result: dict[str, Any] = self.post("/v1/subscriptions", body, 201)
        return result

    def advance(self, to: datetime) -> None:
        self.post(f"/v1/test-clocks/{self.clock_id}/advance", {"frozen_time": iso(to)})

    def sub(self, sub_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.ok("GET", f"/v1/subscriptions/{sub_id}")
        return result

    def subs_of(self, customer: str) -> list[dict[str, Any]]:
        body = self.ok("GET", f"/v1/customers/{customer}/subscriptions", params={"limit": 100})
        return list(reversed(body["data"]))  # oldest first

    def charges(self, sub_id: str) -> list[tuple[str, int, str, str | None]]:
        """``(kind, amount, period_start, period_end)`` oldest first, dates as ``YYYY-MM-DD``."""
        data = self.ok("GET", f"/v1/subscriptions/{sub_id}/charges")["data"]
        return [
            (
                c["kind"],
                c["amount"],
                c["period_start"][:10],
                c["period_end"][:10] if c["period_end"] else None,
            )
            for c in data
        ]

    def discounts(self, sub_id: str) -> list[tuple[str, int, str | None]]:
        """``(kind, amount, percent_off of the charge's discount)`` oldest first."""
        data = self.ok("GET", f"/v1/subscriptions/{sub_id}/charges")["data"]
        return [
            (c["kind"], c["amount"], c["discount"]["percent_off"] if c["discount"] else None)
            for c in data
        ]

    def events(self, prefix: str = "subscription.") -> list[dict[str, Any]]:
        """Events whose type starts with ``prefix``, oldest first."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100}
        while True:
            page = self.ok("GET", "/v1/events", params=params)
            found += page["data"]
            if not page["has_more"]:
                break
            params["starting_after"] = page["data"][-1]["id"]
        return [e for e in reversed(found) if e["type"].startswith(prefix)]

    def event_types(self, prefix: str = "subscription.") -> list[str]:
        return [e["type"] for e in self.events(prefix)]
