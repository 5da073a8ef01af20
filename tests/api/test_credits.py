"""``/v1/customers/{external_id}/credits``: grants over HTTP, validation, scoping,
idempotency and the ``credits`` settings section."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


def _customer(client: TestClient, external_id: str = "acme", currency: str = "USD") -> None:
    body = {"external_id": external_id, "currency": currency}
    assert client.post("/v1/customers", json=body).status_code == 201


def _grant(client: TestClient, body: dict[str, Any], **headers: str) -> Any:
    return client.post("/v1/customers/acme/credits", json=body, headers=headers)


def test_an_admin_grant_is_in_the_customers_currency(client: TestClient) -> None:
    _customer(client, currency="EUR")
    created = _grant(client, {"amount": 2500, "reason": "welcome"})
    assert created.status_code == 201, created.text
    grant = created.json()
    assert (grant["amount"], grant["remaining"], grant["currency"]) == (2500, 2500, "EUR")
    assert (grant["source"], grant["priority"], grant["expires_at"]) == ("admin", 0, None)
    credits = client.get("/v1/customers/acme/credits").json()
    assert (credits["balance"], credits["currency"]) == (2500, "EUR")
    assert credits["customer_id"] == "acme"
    assert [g["id"] for g in credits["grants"]] == [grant["id"]]
    assert [(e["kind"], e["amount"]) for e in credits["entries"]] == [("grant", 2500)]
    [event] = client.get("/v1/events", params={"type": "credits.granted"}).json()["data"]
    assert (event["data"]["customer_id"], event["data"]["amount"]) == ("acme", 2500)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 0, "reason": "x"}, "amount"),
        ({"amount": -1, "reason": "x"}, "amount"),
        ({"amount": "100", "reason": "x"}, "amount"),
        ({"amount": 1.5, "reason": "x"}, "amount"),
        ({"reason": "x"}, "amount"),
        ({"amount": 100}, "reason"),
        ({"amount": 100, "reason": ""}, "reason"),
        ({"amount": 100, "reason": "x", "source": "plan_allocation"}, "source"),
        ({"amount": 100, "reason": "x", "source": "refund"}, "source"),
        ({"amount": 100, "reason": "x", "expires_at": "2026-03-01T00:00:00"}, "expires_at"),
        ({"amount": 100, "reason": "x", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"amount": 100, "reason": "x", "priority": 10**6}, "priority"),
        ({"amount": 100, "reason": "x", "currency": "EUR"}, "currency"),
    ],
)
def test_bad_grants_are_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    _customer(client)
    refused = _grant(client, body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == [field]
    assert client.get("/v1/customers/acme/credits").json()["grants"] == []


def test_unknown_customers_are_404(client: TestClient) -> None:
    assert client.get("/v1/customers/ghost/credits").status_code == 404
    assert _grant(client, {"amount": 1, "reason": "x"}).status_code == 404


def test_customer_keys_read_their_own_credits_and_cannot_grant(client: TestClient) -> None:
    _customer(client)
    _customer(client, "other")
    key = client.post("/v1/customers/acme/keys", json={"name": "app"}).json()["key"]
    own = {"Authorization": f"Bearer {key}"}
    _grant(client, {"amount": 300, "reason": "x"})
    assert client.get("/v1/customers/acme/credits", headers=own).json()["balance"] == 300
    assert client.get("/v1/customers/other/credits", headers=own).status_code == 404
    refused = _grant(client, {"amount": 1, "reason": "x"}, **own)
    assert refused.status_code == 403
    assert client.get("/v1/customers/acme/credits").json()["balance"] == 300


def test_grants_replay_with_an_idempotency_key(client: TestClient) -> None:
    _customer(client)
    body = {"amount": 700, "reason": "purchase 42", "source": "purchase", "priority": 3}
    first = _grant(client, body, **{"Idempotency-Key": "grant-42"})
    again = _grant(client, body, **{"Idempotency-Key": "grant-42"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    other = _grant(client, {**body, "amount": 1}, **{"Idempotency-Key": "grant-42"})
    assert other.status_code == 409
    assert client.get("/v1/customers/acme/credits").json()["balance"] == 700


def test_the_balance_at_an_instant_needs_an_offset(client: TestClient) -> None:
    _customer(client)
    _grant(client, {"amount": 300, "reason": "x"})
    past = client.get("/v1/customers/acme/credits", params={"at": "2026-01-01T00:00:00Z"})
    assert past.json()["balance"] == 0
    naive = client.get("/v1/customers/acme/credits", params={"at": "2026-01-01T00:00:00"})
    assert naive.status_code == 422
    assert [e["field"] for e in naive.json()["errors"]] == ["at"]


def test_credits_settings_are_a_product_settings_section(client: TestClient) -> None:
    defaults = client.get("/v1/product").json()["settings"]["credits"]
    assert defaults == {"overage": "bill", "low_balance_threshold": None}
    patch = {"credits": {"overage": "block", "low_balance_threshold": 500}}
    changed = client.patch("/v1/product/settings", json=patch)
    assert changed.status_code == 200
    assert changed.json()["settings"]["credits"] == patch["credits"]
    bad = client.patch("/v1/product/settings", json={"credits": {"overage": "ignore"}})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["credits.overage"]
