"""``/v1/webhook-endpoints``: create, list, read, update, disable, delete, rotate."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from hooks import create_endpoint, parse

from outbound_kit import MovableClock
from tollway.api import create_app
from tollway.kernel.settings import Settings

ROOT_KEY = "sk_test_root"


def test_create_generates_a_standard_webhooks_secret(client: TestClient) -> None:
    endpoint = create_endpoint(
        client,
        "https://hooks.example.com/tollway",
        ["subscription.*", "invoice.paid", "payment.*", "quota.*"],
        description="billing sync",
    )
    assert endpoint["id"].startswith("we_")
    assert endpoint["status"] == "enabled"
    assert endpoint["events"] == ["invoice.paid", "payment.*", "quota.*", "subscription.*"]
    assert endpoint["description"] == "billing sync"
    assert endpoint["secret"].startswith("whsec_")
    assert len(base64.b64decode(endpoint["secret"].removeprefix("whsec_"))) >= 24


def test_a_given_secret_is_kept(client: TestClient) -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    endpoint = create_endpoint(client, "https://hooks.example.com/", ["*"], secret=secret)
    assert endpoint["secret"] == secret


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://x.example.com/", "events": ["Subscription.*"]}, "events[0]"),
        ({"url": "https://x.example.com/", "events": ["sub*"]}, "events[0]"),
        ({"url": "https://x.example.com/", "events": []}, "events"),
        ({"url": "https://x.example.com/", "secret": "nope"}, "secret"),
        ({"url": "ftp://x.example.com/"}, "url"),
        ({"url": "https://x.example.com/", "colour": "red"}, "colour"),
    ],
)
def test_invalid_input_is_422_naming_the_field(
    client: TestClient, body: dict[str, object], field: str
) -> None:
    response = client.post("/v1/webhook-endpoints", json=body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert client.get("/v1/webhook-endpoints").json()["data"] == []


def test_list_get_update_disable_enable_delete(client: TestClient) -> None:
    first = create_endpoint(client, "https://a.example.com/", ["*"])
    second = create_endpoint(client, "https://b.example.com/", ["invoice.paid"])
    listed = client.get("/v1/webhook-endpoints", params={"limit": 1}).json()
    assert [e["id"] for e in listed["data"]] == [second["id"]]
    assert listed["has_more"] is True

    path = f"/v1/webhook-endpoints/{first['id']}"
    assert client.get(path).json()["url"] == "https://a.example.com/"
    updated = client.patch(
        path, json={"url": "https://c.example.com/", "events": ["customer.*"], "description": "x"}
    ).json()
    assert (updated["url"], updated["events"], updated["description"]) == (
        "https://c.example.com/",
        ["customer.*"],
        "x",
    )
    assert client.patch(path, json={"url": None}).status_code == 422

    disabled = client.post(f"{path}/disable").json()
    assert disabled["status"] == "disabled"
    assert disabled["disabled_reason"] == "disabled by request"
    enabled = client.post(f"{path}/enable").json()
    assert (enabled["status"], enabled["disabled_reason"]) == ("enabled", None)
    assert client.patch(path, json={"disabled": True}).json()["status"] == "disabled"

    assert client.delete(path).status_code == 204
    assert client.get(path).status_code == 404
    assert [e["id"] for e in client.get("/v1/webhook-endpoints").json()["data"]] == [second["id"]]


def test_rotation_keeps_the_old_secret_for_24_hours(
    client: TestClient, clock: MovableClock
) -> None:
    endpoint = create_endpoint(client, "https://a.example.com/", ["*"])
    rotated = client.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret").json()
    assert rotated["secret"] != endpoint["secret"]
    assert parse(rotated["previous_secret_expires_at"]) == clock.now() + timedelta(hours=24)
    chosen = "whsec_" + base64.b64encode(b"z" * 32).decode()
    again = client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", json={"secret": chosen}
    )
    assert again.json()["secret"] == chosen


def test_customer_keys_cannot_manage_endpoints(client: TestClient, app: object) -> None:
    client.post("/v1/customers", json={"external_id": "acme"})
    key = client.post("/v1/customers/acme/keys", json={"name": "portal"}).json()["key"]
    headers = {"Authorization": f"Bearer {key}"}
    response = client.post(
        "/v1/webhook-endpoints", json={"url": "https://a.example.com/"}, headers=headers
    )
    assert response.status_code == 403
    assert client.get("/v1/webhook-endpoints", headers=headers).status_code == 403


@pytest.fixture
def production(settings: Settings, clock: MovableClock) -> Iterator[TestClient]:
    """An app outside test mode: private targets refused."""
    live = Settings(database_url=settings.database_url, api_key=ROOT_KEY, test_mode=False)  # type: ignore[arg-type]
    with TestClient(
        create_app(live, clock=clock), headers={"Authorization": f"Bearer {ROOT_KEY}"}
    ) as live_client:
        yield live_client


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9000/hook", "host '127.0.0.1' resolves to 127.0.0.1"),
        ("http://localhost/hook", "host 'localhost' resolves to "),
        ("http://10.0.0.8/hook", "host '10.0.0.8' resolves to 10.0.0.8"),
        ("http://169.254.169.254/latest/meta-data", "resolves to 169.254.169.254"),
        ("http://[::1]:8080/", "host '::1' resolves to ::1"),
    ],
)
def test_private_targets_are_refused_outside_test_mode(
    production: TestClient, url: str, reason: str
) -> None:
    response = production.post("/v1/webhook-endpoints", json={"url": url})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "url"
    assert reason in error["message"]
    assert "a private or loopback address" in error["message"]


def test_private_targets_can_be_allowed_explicitly(settings: Settings, clock: MovableClock) -> None:
    allowed = Settings(
        database_url=settings.database_url,
        api_key=ROOT_KEY,  # type: ignore[arg-type]
        test_mode=False,
        webhook_allow_private_targets=True,
    )
    with TestClient(
        create_app(allowed, clock=clock), headers={"Authorization": f"Bearer {ROOT_KEY}"}
    ) as allowed_client:
        response = allowed_client.post(
            "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9000/hook"}
        )
        assert response.status_code == 201, response.text


def test_an_update_to_a_private_target_is_refused_and_changes_nothing(
    production: TestClient,
) -> None:
    secret = "whsec_" + base64.b64encode(b"s" * 32).decode()
    created = production.post(
        "/v1/webhook-endpoints",
        json={"url": "https://93.184.215.14/hook", "secret": secret},
    )
    assert created.status_code == 201, created.text
    path = f"/v1/webhook-endpoints/{created.json()['id']}"
    refused = production.patch(path, json={"url": "http://192.168.0.10/admin"})
    assert refused.status_code == 422
    assert production.get(path).json()["url"] == "https://93.184.215.14/hook"
