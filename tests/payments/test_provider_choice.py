"""Who picks the provider: the fake one exists only in test mode, and a customer key
uses the product's provider, never one of its choosing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tollway.api.app import create_app
from tollway.jobs.registry import default_registry
from tollway.kernel.clock import Clock
from tollway.kernel.settings import Settings
from tollway.payments import NotConfigured, Providers, provider_for


def test_the_fake_provider_is_refused_outside_test_mode(settings: Settings) -> None:
    live = settings.model_copy(update={"test_mode": False})
    with pytest.raises(NotConfigured, match="only in test mode"):
        provider_for("fake", live)
    with pytest.raises(NotConfigured) as refused:
        Providers(live).get("fake")
    assert refused.value.extra["errors"][0]["field"] == "provider"


@pytest.fixture
def live(settings: Settings, clock: Clock, wall_clock: Clock) -> Iterator[TestClient]:
    live = settings.model_copy(update={"test_mode": False})
    app = create_app(live, clock=clock, registry=default_registry(live, wall_clock=wall_clock))
    assert live.api_key is not None
    key = live.api_key.get_secret_value()
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


def test_a_live_deployment_charges_nothing_through_the_fake(live: TestClient) -> None:
    live.post("/v1/customers", json={"external_id": "eve"})
    chosen = live.post(
        "/v1/customers/eve/payment-methods",
        json={"token": "tok_visa", "provider": "fake", "set_as_default": True},
    )
    assert (chosen.status_code, chosen.json()["errors"][0]["field"]) == (422, "provider")
    live.patch("/v1/product/settings", json={"payments": {"provider": "fake"}})
    configured = live.post("/v1/customers/eve/payment-methods", json={"token": "tok_visa"})
    assert (configured.status_code, configured.json()["errors"][0]["field"]) == (422, "provider")
    assert live.get("/v1/customers/eve/payment-methods").status_code == 422


def test_a_customer_key_uses_the_products_provider(client: TestClient) -> None:
    client.patch("/v1/product/settings", json={"payments": {"provider": "manual"}})
    client.post("/v1/customers", json={"external_id": "eve"})
    key = client.post("/v1/customers/eve/keys", json={"name": "billing page"}).json()["key"]
    eve = {"Authorization": f"Bearer {key}"}
    url = "/v1/customers/eve/payment-methods"
    picked = client.post(
        url, json={"token": "tok_visa", "provider": "fake", "set_as_default": True}, headers=eve
    )
    assert (picked.status_code, picked.json()["errors"][0]["field"]) == (403, "provider")
    client.patch("/v1/product/settings", json={"payments": {"provider": "fake"}})
    assert client.get(url).json()["data"] == []
    same = client.post(url, json={"token": "tok_visa", "provider": "fake"}, headers=eve)
    assert same.status_code == 201, same.text
