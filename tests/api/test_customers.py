"""Customers over HTTP, on both backends."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def test_create_read_update_and_list(client: TestClient) -> None:
    created = client.post(
        "/v1/customers",
        json={
            "external_id": "org_42",
            "name": "Acme",
            "email": "billing@acme.com",
            "currency": "brl",
            "timezone": "America/Sao_Paulo",
            "country": "br",
            "metadata": {"tier": "gold"},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["external_id"] == "org_42"
    assert body["currency"] == "BRL"
    assert body["country"] == "BR"
    assert body["timezone"] == "America/Sao_Paulo"
    assert body["metadata"] == {"tier": "gold"}

    assert client.get("/v1/customers/org_42").json()["id"] == body["id"]

    patched = client.patch("/v1/customers/org_42", json={"name": "Acme Ltd"})
    assert patched.status_code == 200
    assert patched.json()["name"] == "Acme Ltd"
    assert patched.json()["email"] == "billing@acme.com"

    client.post("/v1/customers", json={"external_id": "org_43"})
    listed = client.get("/v1/customers", params={"limit": 1}).json()
    assert [c["external_id"] for c in listed["data"]] == ["org_43"]
    assert listed["has_more"] is True
    rest = client.get(
        "/v1/customers", params={"limit": 1, "starting_after": listed["data"][0]["id"]}
    ).json()
    assert [c["external_id"] for c in rest["data"]] == ["org_42"]
    assert rest["has_more"] is False

    types = [
        e["type"] for e in client.get("/v1/events", params={"customer_id": "org_42"}).json()["data"]
    ]
    assert types == ["customer.updated", "customer.created"]


def test_duplicate_external_id_is_409_and_writes_nothing(client: TestClient) -> None:
    assert client.post("/v1/customers", json={"external_id": "dup"}).status_code == 201
    again = client.post("/v1/customers", json={"external_id": "dup", "name": "other"})
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"].endswith("/already_exists")
    assert len(client.get("/v1/events", params={"type": "customer.created"}).json()["data"]) == 1


def test_invalid_fields_are_named(client: TestClient) -> None:
    response = client.post(
        "/v1/customers",
        json={
            "external_id": "x",
            "currency": "XXX1",
            "timezone": "Mars/Olympus",
            "email": "nope",
        },
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"currency", "timezone", "email"}


def test_patch_without_changes_emits_no_event(client: TestClient) -> None:
    client.post("/v1/customers", json={"external_id": "same", "name": "Same"})
    assert client.patch("/v1/customers/same", json={"name": "Same"}).status_code == 200
    types = [e["type"] for e in client.get("/v1/events").json()["data"]]
    assert types == ["customer.created"]


def _currency_change(client: TestClient, currency: str) -> Any:
    return client.patch("/v1/customers/acme", json={"currency": currency})


def test_the_currency_changes_until_money_is_recorded(client: TestClient) -> None:
    assert client.post("/v1/customers", json={"external_id": "acme"}).status_code == 201
    assert client.get("/v1/customers/acme").json()["currency_locked"] is False
    changed = _currency_change(client, "EUR")
    assert (changed.status_code, changed.json()["currency"]) == (200, "EUR")
    granted = client.post("/v1/customers/acme/credits", json={"amount": 5000, "reason": "x"})
    assert (granted.status_code, granted.json()["currency"]) == (201, "EUR")
    assert client.get("/v1/customers/acme").json()["currency_locked"] is True
    refused = _currency_change(client, "USD")
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["param"] == "currency"
    assert _currency_change(client, "eur").status_code == 200  # the same currency
    assert client.patch("/v1/customers/acme", json={"name": "Acme"}).status_code == 200
    credits = client.get("/v1/customers/acme/credits").json()
    assert (credits["balance"], credits["currency"]) == (5000, "EUR")


def test_a_subscription_locks_the_currency(client: TestClient) -> None:
    plan = {"code": "pro", "name": "Pro", "prices": [{"interval": "monthly", "amount": 1000}]}
    assert client.post("/v1/plans", json=plan).status_code == 201
    assert client.post("/v1/customers", json={"external_id": "acme"}).status_code == 201
    body = {"customer_id": "acme", "plan_id": "pro"}
    assert client.post("/v1/subscriptions", json=body).status_code == 201
    assert client.get("/v1/customers/acme").json()["currency_locked"] is True
    assert _currency_change(client, "EUR").status_code == 409
