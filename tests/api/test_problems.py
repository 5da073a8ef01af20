"""Everything that goes wrong leaves as application/problem+json."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _is_problem(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"] == f"https://tollway.dev/problems/{code}"
    assert body["title"]
    assert body["detail"]


def test_malformed_json(client: TestClient) -> None:
    response = client.post(
        "/v1/customers", content=b'{"external_id": ', headers={"Content-Type": "application/json"}
    )
    _is_problem(response, 400, "malformed_json")


def test_unknown_route(client: TestClient) -> None:
    _is_problem(client.get("/v1/nothing-here"), 404, "not_found")


def test_wrong_method(client: TestClient) -> None:
    _is_problem(client.delete("/v1/customers"), 405, "method_not_allowed")


def test_validation_lists_fields(client: TestClient) -> None:
    response = client.post(
        "/v1/customers",
        json={"external_id": "v", "billing_address": {"country": "Brazil"}, "surprise": 1},
    )
    _is_problem(response, 422, "validation_error")
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"billing_address.country", "surprise"}


def test_bad_query_parameter(client: TestClient) -> None:
    response = client.get("/v1/customers", params={"limit": 0})
    _is_problem(response, 422, "validation_error")
    assert response.json()["errors"][0]["field"] == "limit"


def test_not_found_customer(client: TestClient) -> None:
    _is_problem(client.get("/v1/customers/ghost"), 404, "not_found")


def test_openapi_and_health_are_public(anonymous: TestClient) -> None:
    assert anonymous.get("/openapi.json").status_code == 200
    assert anonymous.get("/healthz").json() == {"status": "ok"}
