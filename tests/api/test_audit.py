"""The audit log records who changed what."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_customer_changes_are_audited_with_before_and_after(client: TestClient) -> None:
    created = client.post("/v1/customers", json={"external_id": "aud", "name": "Old"}).json()
    client.patch("/v1/customers/aud", json={"name": "New"})
    records = client.get("/v1/audit-log", params={"customer_id": "aud"}).json()["data"]
    assert [r["action"] for r in records] == ["customer.update", "customer.create"]
    update, create = records
    assert update["actor"] == "api_key:env"
    assert (update["before"]["name"], update["after"]["name"]) == ("Old", "New")
    assert create["before"] is None
    assert create["subject_id"] == created["id"]
    by_subject = client.get("/v1/audit-log", params={"subject_id": created["id"]}).json()
    assert len(by_subject["data"]) == 2


def test_customer_keys_cannot_read_the_audit_log(client: TestClient) -> None:
    client.post("/v1/customers", json={"external_id": "c"})
    key = client.post("/v1/customers/c/keys", json={"name": "k"}).json()["key"]
    response = client.get("/v1/audit-log", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403


def test_catalog_keys_and_settings_changes_are_audited(client: TestClient) -> None:
    plan = {
        "code": "pro",
        "name": "Pro",
        "currency": "USD",
        "prices": [{"interval": "monthly", "amount": 4900}],
    }
    client.post("/v1/plans", json=plan)
    client.patch("/v1/plans/pro", json={"name": "Pro+"})
    client.delete("/v1/plans/pro")
    client.post("/v1/customers", json={"external_id": "c"})
    client.post("/v1/customers/c/keys", json={"name": "page"})
    client.patch("/v1/product/settings", json={"general": {"currency": "EUR"}})
    actions = [
        r["action"] for r in client.get("/v1/audit-log", params={"limit": 20}).json()["data"]
    ]
    assert actions == [
        "product.settings.update",
        "api_key.create",
        "customer.create",
        "plan.archive",
        "plan.update",
        "plan.create",
    ]


def test_plan_currency_changes_only_with_new_prices(client: TestClient) -> None:
    plan = {
        "code": "pro",
        "name": "Pro",
        "currency": "USD",
        "prices": [{"interval": "monthly", "amount": 4900}],
    }
    client.post("/v1/plans", json=plan)
    refused = client.patch("/v1/plans/pro", json={"currency": "JPY"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "currency"
    assert client.get("/v1/plans/pro").json()["currency"] == "USD"
    moved = client.patch(
        "/v1/plans/pro",
        json={"currency": "JPY", "prices": [{"interval": "monthly", "amount": 5000}]},
    )
    assert moved.status_code == 200
    assert moved.json()["prices"][0]["amount"] == 5000
