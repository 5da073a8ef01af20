"""Billable metrics, add-ons and coupons over HTTP, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


def _fields(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    return {e["field"] for e in response.json()["errors"]}


def _event_types(client: TestClient) -> list[str]:
    return [e["type"] for e in client.get("/v1/events", params={"limit": 100}).json()["data"]]


def test_metrics_create_read_list(client: TestClient) -> None:
    storage = client.post(
        "/v1/metrics",
        json={
            "code": "storage",
            "name": "Storage",
            "aggregation": "weighted_sum",
            "field": "gb",
            "unit": "GB-month",
            "filters": {"region": ["eu-west", "us-east"]},
            "group_by": ["region"],
        },
    )
    assert storage.status_code == 201, storage.text
    body = storage.json()
    assert (body["aggregation"], body["field"], body["unit"]) == ("weighted_sum", "gb", "GB-month")
    assert body["filters"] == {"region": ["eu-west", "us-east"]}
    assert body["group_by"] == ["region"]
    calls = client.post(
        "/v1/metrics", json={"code": "api_calls", "name": "API calls", "aggregation": "count"}
    ).json()
    assert calls["field"] is None
    tokens = client.post(
        "/v1/metrics", json={"code": "tokens", "name": "Tokens", "aggregation": "sum"}
    ).json()
    assert tokens["field"] == "quantity"

    assert client.get("/v1/metrics/storage").json() == body
    listed = client.get("/v1/metrics").json()["data"]
    assert [m["code"] for m in listed] == ["tokens", "api_calls", "storage"]
    assert client.get("/v1/metrics/nope").status_code == 404
    duplicate = client.post(
        "/v1/metrics", json={"code": "tokens", "name": "Again", "aggregation": "max"}
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["type"].endswith("/already_exists")
    assert _event_types(client) == ["metric.created"] * 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"aggregation": "median"}, "aggregation"),
        ({"aggregation": "count", "field": "bytes"}, "field"),
        ({"field": "has space"}, "field"),
        ({"filters": {"region": []}}, "filters.region"),
        ({"filters": {"region": "eu"}}, "filters.region"),
        ({"group_by": ["region", "region"]}, "group_by"),
        ({"unit": "x" * 51}, "unit"),
    ],
)
def test_metric_validation(client: TestClient, change: dict[str, Any], field: str) -> None:
    body = {"code": "m", "name": "M", "aggregation": "sum", **change}
    assert field in _fields(client.post("/v1/metrics", json=body))


def test_addons_create_read_list(client: TestClient) -> None:
    seats = client.post(
        "/v1/addons",
        json={
            "code": "extra_seats",
            "name": "Extra seats",
            "category": "seats",
            "amount": 1500,
            "interval": "monthly",
        },
    )
    assert seats.status_code == 201, seats.text
    assert seats.json()["currency"] == "USD"
    assert (seats.json()["amount"], seats.json()["active"]) == (1500, True)
    setup = client.post(
        "/v1/addons",
        json={
            "code": "onboarding",
            "name": "Onboarding",
            "amount": 50000,
            "currency": "brl",
            "interval": "one_time",
        },
    ).json()
    assert (setup["currency"], setup["interval"]) == ("BRL", "one_time")
    assert client.get("/v1/addons/extra_seats").json() == seats.json()
    assert [a["code"] for a in client.get("/v1/addons").json()["data"]] == [
        "onboarding",
        "extra_seats",
    ]
    assert client.get("/v1/addons/nope").status_code == 404
    again = client.post(
        "/v1/addons", json={"code": "onboarding", "name": "x", "amount": 1, "interval": "annual"}
    )
    assert again.status_code == 409
    assert _event_types(client) == ["addon.created"] * 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": -5}, "amount"),
        ({"amount": 10.5}, "amount"),
        ({"amount": False}, "amount"),
        ({"interval": "weekly"}, "interval"),
        ({"interval": "quarterly"}, "interval"),
        ({"currency": "EURO"}, "currency"),
    ],
)
def test_addon_validation(client: TestClient, change: dict[str, Any], field: str) -> None:
    body = {"code": "a", "name": "A", "amount": 100, "interval": "monthly", **change}
    assert field in _fields(client.post("/v1/addons", json=body))
    assert client.get("/v1/addons").json()["data"] == []


def test_coupons_create_read_list(client: TestClient) -> None:
    client.post("/v1/plans", json={"code": "pro", "name": "Pro"})
    client.post("/v1/plans", json={"code": "old", "name": "Old"})
    client.delete("/v1/plans/old")
    percent = client.post(
        "/v1/coupons",
        json={
            "code": "LAUNCH25",
            "name": "Launch",
            "percent_off": "12.5",
            "duration": "repeating",
            "duration_months": 3,
            "max_redemptions": 100,
            "expires_at": "2026-06-30T23:59:59-03:00",
            "plan_codes": ["pro", "old"],
        },
    )
    assert percent.status_code == 201, percent.text
    body = percent.json()
    assert body["percent_off"] == "12.5"
    assert (body["amount_off"], body["currency"]) == (None, None)
    assert (body["duration"], body["duration_months"]) == ("repeating", 3)
    assert (body["max_redemptions"], body["times_redeemed"]) == (100, 0)
    assert body["expires_at"] == "2026-07-01T02:59:59Z"
    assert body["plan_codes"] == ["pro", "old"]
    fixed = client.post(
        "/v1/coupons",
        json={"code": "TENOFF", "amount_off": 1000, "currency": "usd", "duration": "forever"},
    ).json()
    assert (fixed["amount_off"], fixed["currency"], fixed["plan_codes"]) == (1000, "USD", [])
    assert client.get("/v1/coupons/LAUNCH25").json() == body
    assert [c["code"] for c in client.get("/v1/coupons").json()["data"]] == ["TENOFF", "LAUNCH25"]
    again = client.post(
        "/v1/coupons", json={"code": "TENOFF", "percent_off": "5", "duration": "once"}
    )
    assert again.status_code == 409
    types = _event_types(client)
    assert types.count("coupon.created") == 2


def test_decimals_are_shown_in_plain_notation(client: TestClient) -> None:
    body = {"code": "TINY", "percent_off": "1e-7", "duration": "once"}
    created = client.post("/v1/coupons", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["percent_off"] == "0.0000001"
    assert client.get("/v1/coupons/TINY").json()["percent_off"] == "0.0000001"
    client.post("/v1/metrics", json={"code": "calls", "name": "Calls", "aggregation": "count"})
    charge = {"metric": "calls", "model": "standard", "unit_amount": "0.00000005"}
    plan = client.post("/v1/plans", json={"code": "p", "name": "P", "charges": [charge]})
    assert plan.status_code == 201, plan.text
    assert plan.json()["charges"][0]["unit_amount"] == "0.00000005"


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"percent_off": "0"}, {"percent_off"}),
        ({"percent_off": "100.01"}, {"percent_off"}),
        ({"percent_off": "-5"}, {"percent_off"}),
        ({"percent_off": 12.5}, {"percent_off"}),
        ({"percent_off": None}, {"percent_off"}),
        ({"amount_off": 500, "currency": "USD"}, {"amount_off"}),
        ({"percent_off": None, "amount_off": 500}, {"currency"}),
        ({"percent_off": None, "amount_off": 0, "currency": "USD"}, {"amount_off"}),
        ({"percent_off": None, "amount_off": 9.99, "currency": "USD"}, {"amount_off"}),
        ({"currency": "USD"}, {"currency"}),
        ({"duration": "repeating"}, {"duration_months"}),
        ({"duration_months": 3}, {"duration_months"}),
        ({"duration": "weekly"}, {"duration"}),
        ({"max_redemptions": 0}, {"max_redemptions"}),
        ({"expires_at": "2030-01-01T00:00:00"}, {"expires_at"}),
        ({"expires_at": "2025-12-31T00:00:00Z"}, {"expires_at"}),
        ({"plan_codes": ["pro", "nope"]}, {"plan_codes[1]"}),
        ({"plan_codes": ["pro", "pro"]}, {"plan_codes[1]"}),
    ],
)
def test_coupon_validation(client: TestClient, change: dict[str, Any], fields: set[str]) -> None:
    client.post("/v1/plans", json={"code": "pro", "name": "Pro"})
    body = {"code": "C", "percent_off": "10", "duration": "once", **change}
    assert _fields(client.post("/v1/coupons", json=body)) == fields
    assert client.get("/v1/coupons").json()["data"] == []
