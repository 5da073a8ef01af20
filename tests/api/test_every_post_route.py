"""Every POST route refuses malformed bodies with a problem+json 4xx and writes nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tollway.migrations.models import metadata

MALFORMED_BODIES: list[tuple[str, bytes, str]] = [
    ("truncated json", b'{"a": ', "application/json"),
    ("not json", b"hello", "application/json"),
    ("json array", b"[1, 2]", "application/json"),
    ("json string", b'"text"', "application/json"),
    ("json null", b"null", "application/json"),
    ("unknown field", b'{"definitely_not_a_field": 1}', "application/json"),
    (
        "wrong types",
        b'{"name": 5, "amount": "x", "quantity": [], "frozen_time": 3}',
        "application/json",
    ),
    ("yaml garbage", b"plans: [unclosed", "application/yaml"),
]


def _row_counts(client: TestClient) -> dict[str, int]:
    engine = client.app.state.tollway.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


def _post_paths(client: TestClient, customer: str) -> list[str]:
    """Every POST path of the API, from its OpenAPI document, with ids filled in."""
    paths = []
    for template, operations in client.get("/openapi.json").json()["paths"].items():
        if "post" in operations:
            path = template.replace("{external_id}", customer)
            paths.append(re.sub(r"\{[^}]+\}", "missing_id", path))
    return sorted(paths)


def test_routes_are_discovered(client: TestClient) -> None:
    paths = _post_paths(client, "c")
    assert "/v1/customers" in paths
    assert "/v1/test-clocks/missing_id/advance" in paths


@pytest.mark.parametrize(("label", "body", "content_type"), MALFORMED_BODIES)
def test_malformed_body_is_a_4xx_problem_and_writes_nothing(
    client: TestClient, label: str, body: bytes, content_type: str
) -> None:
    assert client.post("/v1/customers", json={"external_id": "existing"}).status_code == 201
    before = _row_counts(client)
    for path in _post_paths(client, "existing"):
        response = client.post(path, content=body, headers={"Content-Type": content_type})
        assert 400 <= response.status_code < 500, f"{label}: POST {path} -> {response.text}"
        assert response.headers["content-type"] == "application/problem+json", path
        problem = response.json()
        assert problem["status"] == response.status_code
        assert problem["type"].startswith("https://tollway.dev/problems/")
        if response.status_code == 422:
            assert problem["errors"], f"{label}: POST {path} names no field"
    assert _row_counts(client) == before
