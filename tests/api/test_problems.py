"""Everything that goes wrong leaves as application/problem+json."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from pg_kit import backend_pid, terminate
from tollway.kernel import db


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


def test_nul_characters_are_refused_everywhere(client: TestClient) -> None:
    for response in (
        client.post("/v1/customers", json={"external_id": "a\u0000b"}),
        client.get("/v1/customers/%00"),
        client.get("/v1/customers", params={"starting_after": "\u0000"}),
        client.get("/v1/events", params={"type": "x\u0000"}),
    ):
        _is_problem(response, 422, "validation_error")
    assert client.get("/v1/customers").json()["data"] == []


def test_oversized_bodies_are_413(client: TestClient) -> None:
    huge = b'{"external_id": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    response = client.post(
        "/v1/customers", content=huge, headers={"Content-Type": "application/json"}
    )
    _is_problem(response, 413, "payload_too_large")


def test_reads_do_not_wait_for_an_open_write_transaction(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    writer = session_factory()
    try:
        writer.execute(text("SELECT 1"))  # on SQLite: BEGIN IMMEDIATE, the write lock
        assert client.get("/v1/customers").status_code == 200
    finally:
        writer.rollback()
        writer.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a server to lose
def test_a_lost_database_connection_is_a_503_and_the_next_request_connects_afresh(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)  # no ping: the loss shows
    assert client.post("/v1/customers", json={"external_id": "acme"}).status_code == 201
    served = client.app.state.tollway.engine  # type: ignore[attr-defined]
    terminate(engine, backend_pid(served))  # the pooled connection the next request gets

    lost = client.post("/v1/customers", json={"external_id": "globex"})

    _is_problem(lost, 503, "database_unavailable")
    assert lost.headers["retry-after"] == "1"
    again = client.post("/v1/customers", json={"external_id": "globex"})
    assert again.status_code == 201
    listed = client.get("/v1/customers").json()["data"]
    assert sorted(c["external_id"] for c in listed) == ["acme", "globex"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a server to lose
def test_a_connection_lost_during_the_commit_is_a_500_not_a_retry_invitation(
    client: TestClient, engine: Engine
) -> None:
    """The commit's outcome is unknown: a 503 saying "retry" could make a duplicate."""

    def lose_the_connection(session: Session) -> None:
        terminate(
            engine, session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        )

    event.listen(Session, "before_commit", lose_the_connection)
    try:
        with TestClient(client.app, raise_server_exceptions=False, headers=client.headers) as raw:
            response = raw.post("/v1/customers", json={"external_id": "acme"})
    finally:
        event.remove(Session, "before_commit", lose_the_connection)

    _is_problem(response, 500, "internal_error")
    assert "retry-after" not in response.headers
