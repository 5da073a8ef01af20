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
