"""Self-hosted mode (``TOLLWAY_SAAS_MODE=false``): no payments at all. Payment routes
answer a 422 problem, and finalized invoices are not charged."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tollway.kernel.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "saas_mode": False,
        }
    )


def test_payment_routes_refuse_and_nothing_is_charged(client: TestClient) -> None:
    client.patch("/v1/product/settings", json={"payments": {"provider": "fake"}})
    client.post("/v1/customers", json={"external_id": "acme"})
    refused = [
        client.get("/v1/customers/acme/payment-methods"),
        client.post("/v1/customers/acme/payment-methods", json={"token": "tok_visa"}),
        client.post(
            "/v1/portal-sessions", json={"customer_id": "acme", "return_url": "https://a.test/"}
        ),
        client.post("/v1/providers/stripe/webhook", content=b"{}"),
        client.post("/v1/providers/asaas/webhook", content=b"{}"),
    ]
    for response in refused:
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["type"].endswith("provider_not_configured")
        assert "self-hosted" in problem["detail"]
    item = {"description": "setup", "unit_amount": 4990}
    invoice = client.post("/v1/invoices", json={"customer_id": "acme", "items": [item]}).json()
    assert client.post(f"/v1/invoices/{invoice['id']}/finalize").json()["status"] == "open"
    attempts = client.get(f"/v1/invoices/{invoice['id']}/payment-attempts").json()["data"]
    assert attempts == []
