"""A delivery never stays pending for good: every failure is an attempt's outcome."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hooks import create_endpoint, deliveries

from outbound_kit import Receiver, settle
from tollway.kernel import outbound


def test_an_internationalised_host_is_delivered_with_its_punycode_name(
    client: TestClient, app: FastAPI, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        assert host == "xn--bcher-kva.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setitem(outbound.post.__kwdefaults__, "resolve", resolve)
    port = receiver.server.server_address[1]
    endpoint = create_endpoint(client, f"http://bücher.example:{port}/hook", ["customer.*"])
    client.post("/v1/customers", json={"external_id": "acme"})
    settle(app)
    [delivery] = deliveries(client, endpoint["id"])
    assert delivery["status"] == "succeeded"
    assert delivery["attempt"] == 1
    [request] = receiver.requests
    assert request.headers["host"] == f"xn--bcher-kva.example:{port}"


def test_an_unexpected_error_while_sending_is_a_failed_attempt_that_is_retried(
    client: TestClient, app: FastAPI, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: Any, **__: Any) -> Any:
        raise UnicodeEncodeError("ascii", "ü", 0, 1, "ordinal not in range(128)")

    monkeypatch.setattr(outbound, "post", explode)
    endpoint = create_endpoint(client, receiver.url, ["customer.*"])
    client.post("/v1/customers", json={"external_id": "acme"})
    settle(app)
    [delivery] = deliveries(client, endpoint["id"])
    assert delivery["status"] == "pending"
    assert delivery["attempt"] == 1
    assert delivery["next_attempt_at"] is not None
    assert delivery["error"].startswith("UnicodeEncodeError: 'ascii' codec can't encode")
