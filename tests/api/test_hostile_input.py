"""Values at and past the edges are refused with a named field, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def _field(response, status: int = 422) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    field: str = response.json()["errors"][0]["field"]
    return field


def test_large_amounts_fit_and_absurd_ones_are_refused(client: TestClient) -> None:
    addon = {"code": "big", "name": "Big", "currency": "USD", "interval": "monthly"}
    created = client.post("/v1/addons", json={**addon, "amount": 3_000_000_000})
    assert created.status_code == 201, created.text
    assert client.get("/v1/addons/big").json()["amount"] == 3_000_000_000
    too_big = client.post("/v1/addons", json={**addon, "code": "huge", "amount": 10**16})
    assert _field(too_big) == "amount"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trial_days": 2**31}, "trial_days"),
        ({"included_credits": 10**30}, "included_credits"),
        ({"prices": [{"interval": "monthly", "amount": 10**30}]}, "prices[0].amount"),
    ],
)
def test_plan_integers_are_bounded(client: TestClient, body: dict[str, object], field: str) -> None:
    plan = {"code": "p", "name": "P", "currency": "USD", **body}
    assert _field(client.post("/v1/plans", json=plan)) == field


@pytest.mark.parametrize("percent", ["1" * 70, "1e999999999", "0.0000000000000000000000000001"])
def test_decimals_are_bounded(client: TestClient, percent: str) -> None:
    coupon = {"code": "c", "percent_off": percent, "duration": "once"}
    assert _field(client.post("/v1/coupons", json=coupon)) == "percent_off"


@pytest.mark.parametrize(
    "instant", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "1969-12-31T00:00:00Z"]
)
def test_instants_out_of_range(client: TestClient, instant: str) -> None:
    assert _field(client.post("/v1/test-clocks", json={"frozen_time": instant})) == "frozen_time"
    coupon = {"code": "c", "percent_off": "10", "duration": "once", "expires_at": instant}
    assert _field(client.post("/v1/coupons", json=coupon)) == "expires_at"


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posix/UTC"])
def test_host_dependent_time_zones_are_refused(client: TestClient, zone: str) -> None:
    response = client.post("/v1/customers", json={"external_id": "z", "timezone": zone})
    assert _field(response) == "timezone"


def test_address_lines_are_bounded(client: TestClient) -> None:
    response = client.post(
        "/v1/customers",
        json={"external_id": "a", "billing_address": {"line1": "x" * 1_000_000}},
    )
    assert _field(response) == "billing_address.line1"


def test_hostile_yaml_is_a_422(client: TestClient) -> None:
    headers = {"Content-Type": "application/yaml"}
    for text in ("a: &a [*a]\n", "plans: " + "[" * 5000):
        response = client.post("/v1/catalog/import", content=text, headers=headers)
        assert _field(response) == "body"
    assert client.get("/v1/product").json()["branding"] == {}
