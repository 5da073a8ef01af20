"""Authentication and customer scoping."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tollway.auth import create_secret_key
from tollway.kernel.context import Context
from tollway.kernel.tenancy import ensure_product


def _customer_key(client: TestClient, external_id: str) -> str:
    assert client.post("/v1/customers", json={"external_id": external_id}).status_code == 201
    response = client.post(f"/v1/customers/{external_id}/keys", json={"name": "billing page"})
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    assert key.startswith("ck_")
    return key


def test_missing_and_wrong_keys_are_401_problems(anonymous: TestClient) -> None:
    missing = anonymous.get("/v1/customers")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["type"].endswith("/unauthorized")
    wrong = anonymous.get("/v1/customers", headers={"Authorization": "Bearer sk_nope"})
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "invalid API key"


def test_unauthenticated_post_writes_nothing(anonymous: TestClient, client: TestClient) -> None:
    assert anonymous.post("/v1/customers", json={"external_id": "x"}).status_code == 401
    assert client.get("/v1/customers").json()["data"] == []


def test_customer_key_reaches_only_its_customer(client: TestClient) -> None:
    key = _customer_key(client, "alice")
    client.post("/v1/customers", json={"external_id": "bob"})
    alice = {"Authorization": f"Bearer {key}"}

    assert client.get("/v1/customers/alice", headers=alice).status_code == 200
    other = client.get("/v1/customers/bob", headers=alice)
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
    listed = client.get("/v1/customers", headers=alice).json()["data"]
    assert [c["external_id"] for c in listed] == ["alice"]
    assert client.patch("/v1/customers/bob", headers=alice, json={"name": "x"}).status_code == 404
    events = client.get("/v1/events", headers=alice).json()["data"]
    assert {e["data"]["external_id"] for e in events} == {"alice"}
    assert client.get("/v1/events", headers=alice, params={"customer_id": "bob"}).status_code == 404


def test_customer_key_cannot_create_customers_or_keys(client: TestClient) -> None:
    alice = {"Authorization": f"Bearer {_customer_key(client, 'alice')}"}
    created = client.post("/v1/customers", headers=alice, json={"external_id": "mallory"})
    assert created.status_code == 403
    assert created.json()["type"].endswith("/forbidden")
    more = client.post("/v1/customers/alice/keys", headers=alice, json={"name": "x"})
    assert more.status_code == 403
    assert client.get("/v1/customers/mallory").status_code == 404


def test_keys_of_another_product_see_nothing(client: TestClient, ctx: Context) -> None:
    client.post("/v1/customers", json={"external_id": "shared-id"})
    other = ensure_product(ctx.session, code="other", name="Other", clock=ctx.clock)
    issued = create_secret_key(
        Context(session=ctx.session, product_id=other.id, clock=ctx.clock), name="other"
    )
    ctx.session.commit()
    headers = {"Authorization": f"Bearer {issued.secret}"}
    assert client.get("/v1/customers/shared-id", headers=headers).status_code == 404
    created = client.post("/v1/customers", headers=headers, json={"external_id": "shared-id"})
    assert created.status_code == 201
    assert created.json()["id"] != client.get("/v1/customers/shared-id").json()["id"]


def test_customer_key_edits_only_its_own_profile_fields(client: TestClient) -> None:
    alice = {"Authorization": f"Bearer {_customer_key(client, 'alice')}"}
    ok = client.patch("/v1/customers/alice", headers=alice, json={"email": "a@alice.com"})
    assert ok.status_code == 200
    refused = client.patch("/v1/customers/alice", headers=alice, json={"currency": "EUR"})
    assert refused.status_code == 403
    assert client.get("/v1/customers/alice").json()["currency"] == "USD"


def test_customer_key_cannot_list_coupons_or_read_settings(client: TestClient) -> None:
    alice = {"Authorization": f"Bearer {_customer_key(client, 'alice')}"}
    assert client.get("/v1/coupons", headers=alice).status_code == 403
    assert client.get("/v1/product", headers=alice).status_code == 403
    assert client.get("/v1/plans", headers=alice).status_code == 200
