"""Idempotency-Key: same key and body replays; another body is 409."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient


def _count(client: TestClient, event_type: str) -> int:
    return len(client.get("/v1/events", params={"type": event_type, "limit": 100}).json()["data"])


def test_same_key_and_body_replays_the_first_response(client: TestClient) -> None:
    body = {"external_id": "idem-1", "name": "First"}
    first = client.post("/v1/customers", json=body, headers={"Idempotency-Key": "k1"})
    second = client.post("/v1/customers", json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert _count(client, "customer.created") == 1


def test_same_key_with_another_body_is_409(client: TestClient) -> None:
    client.post("/v1/customers", json={"external_id": "a"}, headers={"Idempotency-Key": "k2"})
    clash = client.post(
        "/v1/customers", json={"external_id": "b"}, headers={"Idempotency-Key": "k2"}
    )
    assert clash.status_code == 409
    assert clash.json()["type"].endswith("/idempotency_key_reused")
    assert client.get("/v1/customers/b").status_code == 404


def test_rejected_request_does_not_burn_the_key(client: TestClient) -> None:
    bad = client.post("/v1/customers", json={"external_id": ""}, headers={"Idempotency-Key": "k3"})
    assert bad.status_code == 422
    good = client.post(
        "/v1/customers", json={"external_id": "fixed"}, headers={"Idempotency-Key": "k3"}
    )
    assert good.status_code == 201


def test_without_key_a_retry_is_a_new_request(client: TestClient) -> None:
    assert client.post("/v1/customers", json={"external_id": "n"}).status_code == 201
    assert client.post("/v1/customers", json={"external_id": "n"}).status_code == 409


def test_blank_key_is_rejected(client: TestClient) -> None:
    response = client.post(
        "/v1/customers", json={"external_id": "z"}, headers={"Idempotency-Key": "  "}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_concurrent_requests_with_one_key_create_once(client: TestClient) -> None:
    body = {"external_id": "race", "name": "Race"}
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(8)

    def send() -> None:
        barrier.wait()
        response = client.post("/v1/customers", json=body, headers={"Idempotency-Key": "race"})
        results.append((response.status_code, response.json()["id"]))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _count(client, "customer.created") == 1
    # Same-key requests wait for the first to commit, then replay its response.
    assert len(set(results)) == 1
    assert results[0][0] == 201


def test_keys_belong_to_the_api_key_that_sent_them(client: TestClient) -> None:
    client.post("/v1/customers", json={"external_id": "a"})
    client.post("/v1/customers", json={"external_id": "b"})
    b_key = client.post("/v1/customers/b/keys", json={"name": "b"}).json()["key"]
    body = {"name": "page"}
    first = client.post("/v1/customers/a/keys", json=body, headers={"Idempotency-Key": "same"})
    assert first.status_code == 201
    # Another caller's identical request with the same key is its own request.
    other = client.post(
        "/v1/customers/a/keys",
        json=body,
        headers={"Idempotency-Key": "same", "Authorization": f"Bearer {b_key}"},
    )
    assert other.status_code == 404  # customer a is outside b's scope: no replay
    assert "idempotent-replayed" not in other.headers


def test_a_replayed_key_creation_does_not_show_the_secret_again(client: TestClient) -> None:
    client.post("/v1/customers", json={"external_id": "a"})
    headers = {"Idempotency-Key": "key-once"}
    first = client.post("/v1/customers/a/keys", json={"name": "page"}, headers=headers)
    replay = client.post("/v1/customers/a/keys", json={"name": "page"}, headers=headers)
    assert first.json()["key"].startswith("ck_")
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["key"] is None
