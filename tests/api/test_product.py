"""The product and its settings."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tollway.kernel.context import Context
from tollway.kernel.tenancy import product_by_id


def test_defaults_are_shown_and_settings_change_by_section(client: TestClient) -> None:
    product = client.get("/v1/product").json()
    assert product["code"] == "default"
    assert product["settings"]["general"] == {"currency": "USD"}

    changed = client.patch("/v1/product/settings", json={"general": {"currency": "brl"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["settings"]["general"]["currency"] == "BRL"
    created = client.post("/v1/customers", json={"external_id": "c"}).json()
    assert created["currency"] == "BRL"
    [event] = client.get("/v1/events", params={"type": "product.updated"}).json()["data"]
    assert event["data"]["previous_attributes"] == {"settings": {"general": None}}


def test_bad_settings_name_the_field_and_change_nothing(client: TestClient) -> None:
    response = client.patch(
        "/v1/product/settings",
        json={"general": {"currency": "XYZ"}, "nonsense": {"a": 1}},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"general.currency", "nonsense"}
    unknown = client.patch("/v1/product/settings", json={"general": {"colour": "red"}})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "general.colour"
    assert client.get("/v1/product").json()["settings"]["general"]["currency"] == "USD"


def test_customer_keys_may_not_change_settings(client: TestClient) -> None:
    client.post("/v1/customers", json={"external_id": "c"})
    key = client.post("/v1/customers/c/keys", json={"name": "k"}).json()["key"]
    response = client.patch(
        "/v1/product/settings",
        headers={"Authorization": f"Bearer {key}"},
        json={"general": {"currency": "EUR"}},
    )
    assert response.status_code == 403


def test_unknown_stored_settings_are_ignored_on_read(client: TestClient, ctx: Context) -> None:
    product = product_by_id(ctx.session, ctx.product_id)
    product.settings = {"general": {"currency": "EUR", "from_a_newer_version": True}}
    ctx.session.commit()
    assert client.get("/v1/product").json()["settings"]["general"] == {"currency": "EUR"}
    assert client.post("/v1/customers", json={"external_id": "c"}).json()["currency"] == "EUR"
