"""``/v1/customers/{external_id}/payment-methods`` over HTTP with the fake provider."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tollway.payments import FakeProvider


@pytest.fixture
def acme(client: TestClient) -> TestClient:
    client.patch("/v1/product/settings", json={"payments": {"provider": "fake"}})
    assert client.post("/v1/customers", json={"external_id": "acme"}).status_code == 201
    return client


def _fake(client: TestClient) -> FakeProvider:
    fake = client.app.state.tollway.registry.providers.get("fake")  # type: ignore[attr-defined]
    assert isinstance(fake, FakeProvider)
    return fake


def _add(client: TestClient, token: str, **extra: Any) -> Any:
    return client.post("/v1/customers/acme/payment-methods", json={"token": token, **extra})


def _listed(client: TestClient) -> list[tuple[str, str | None, bool]]:
    body = client.get("/v1/customers/acme/payment-methods").json()
    return [(m["brand"], m["last4"], m["is_default"]) for m in body["data"]]


def test_methods_are_attached_stored_and_one_is_default(acme: TestClient) -> None:
    first = _add(acme, "tok_visa")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["customer_id"], body["provider"], body["brand"], body["last4"]) == (
        "acme",
        "fake",
        "visa",
        "4242",
    )
    assert (body["exp_month"], body["exp_year"], body["is_default"]) == (12, 2034, True)
    assert _add(acme, "tok_mastercard").json()["is_default"] is False
    assert _listed(acme) == [("mastercard", "4444", False), ("visa", "4242", True)]
    third = _add(acme, "tok_insufficientFunds", set_as_default=True).json()
    assert _listed(acme) == [
        ("visa", "9995", True),
        ("mastercard", "4444", False),
        ("visa", "4242", False),
    ]
    fake = _fake(acme)
    assert [c.method for c in fake.calls].count("create_customer") == 1
    deleted = acme.delete(f"/v1/customers/acme/payment-methods/{third['id']}")
    assert deleted.json() == {"id": third["id"], "deleted": True}
    assert fake.calls[-1].method == "detach_payment_method"
    assert _listed(acme) == [("mastercard", "4444", True), ("visa", "4242", False)]


def test_refused_requests_name_the_field_and_change_nothing(acme: TestClient) -> None:
    missing = acme.post("/v1/customers/acme/payment-methods", json={})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "token"
    provider = _add(acme, "tok_visa", provider="paypal")
    assert (provider.status_code, provider.json()["errors"][0]["field"]) == (422, "provider")
    declined = _add(acme, "tok_attachDeclined")
    assert (declined.status_code, declined.json()["decline_code"]) == (402, "card_declined")
    bad_token = _add(acme, "tok_nonsense")
    assert (bad_token.status_code, bad_token.json()["errors"][0]["field"]) == (422, "token")
    assert _add(acme, "tok_visa", provider="manual").status_code == 422
    unknown = acme.post("/v1/customers/nobody/payment-methods", json={"token": "tok_visa"})
    assert unknown.status_code == 404
    gone = acme.delete("/v1/customers/acme/payment-methods/pm_nope")
    assert gone.status_code == 404
    assert _listed(acme) == []


def test_an_invoices_attempts_are_listed(acme: TestClient) -> None:
    assert acme.get("/v1/invoices/inv_nope/payment-attempts").status_code == 404
