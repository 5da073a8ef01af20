"""Plans over HTTP, on both backends: CRUD, archive, validation, defaults, access."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


def _metrics(client: TestClient, *codes: str) -> None:
    for code in codes:
        response = client.post(
            "/v1/metrics", json={"code": code, "name": code.title(), "aggregation": "sum"}
        )
        assert response.status_code == 201, response.text


def _pro(**overrides: Any) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "code": "pro",
        "name": "Pro",
        "currency": "usd",
        "prices": [
            {"interval": "monthly", "amount": 4900},
            {"interval": "annual", "amount": 49000, "stripe_price_id": "price_123"},
            {"interval": "monthly", "amount": 24900, "currency": "brl"},
        ],
        "trial_days": 14,
        "features": {"sso": True, "support_level": "email", "max_projects": -1},
        "quotas": [
            {"metric": "api_calls", "limit": 100000, "period": "monthly", "thresholds": [90, 50]}
        ],
        "included_credits": 1000,
        "charges": [
            {
                "metric": "api_calls",
                "model": "graduated",
                "tiers": [
                    {"up_to": 1000, "unit_amount": "0"},
                    {"up_to": None, "unit_amount": "0.05", "flat_amount": 100},
                ],
            },
            {"metric": "storage", "model": "package", "package_size": 100, "unit_amount": "1500"},
            {"metric": "api_calls", "model": "standard", "unit_amount": "0.25", "currency": "brl"},
            {"metric": "storage", "model": "standard", "unit_amount": "70", "currency": "brl"},
        ],
    }
    plan.update(overrides)
    return plan


def _events(client: TestClient, type: str) -> list[dict[str, Any]]:
    response = client.get("/v1/events", params={"type": type, "limit": 100})
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _errors(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {e["field"] for e in response.json()["errors"]}


def test_create_read_update_and_archive(client: TestClient) -> None:
    _metrics(client, "api_calls", "storage")
    created = client.post("/v1/plans", json=_pro())
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["code"] == "pro"
    assert plan["currency"] == "USD"
    assert plan["prices"] == [
        {"interval": "monthly", "amount": 4900, "currency": "USD", "stripe_price_id": None},
        {"interval": "annual", "amount": 49000, "currency": "USD", "stripe_price_id": "price_123"},
        {"interval": "monthly", "amount": 24900, "currency": "BRL", "stripe_price_id": None},
    ]
    assert plan["quotas"] == [
        {
            "metric": "api_calls",
            "limit": 100000,
            "period": "monthly",
            "enforcement": "hard",
            "thresholds": [50, 90],
        }
    ]
    assert plan["charges"][1] == {
        "metric": "storage",
        "model": "package",
        "unit_amount": "1500",
        "package_size": 100,
        "currency": "USD",
    }
    assert [c["currency"] for c in plan["charges"]] == ["USD", "USD", "BRL", "BRL"]
    assert plan["charges"][0]["tiers"][1] == {
        "up_to": None,
        "unit_amount": "0.05",
        "flat_amount": 100,
    }
    assert plan["features"] == {"sso": True, "support_level": "email", "max_projects": -1}
    assert (plan["trial_days"], plan["included_credits"]) == (14, 1000)
    assert (plan["active"], plan["is_default"], plan["custom_pricing"]) == (True, False, False)
    assert client.get("/v1/plans/pro").json() == plan

    patched = client.patch(
        "/v1/plans/pro",
        json={"name": "Pro 2026", "prices": [{"interval": "monthly", "amount": 5900}]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Pro 2026"
    assert patched.json()["prices"] == [
        {"interval": "monthly", "amount": 5900, "currency": "USD", "stripe_price_id": None}
    ]
    assert patched.json()["charges"] == plan["charges"]
    [updated] = _events(client, "plan.updated")
    assert updated["data"]["name"] == "Pro 2026"
    previous = updated["data"]["previous_attributes"]
    assert sorted(previous) == ["name", "prices"]
    assert previous["name"] == "Pro"
    assert [p["amount"] for p in previous["prices"]] == [4900, 49000, 24900]

    archived = client.delete("/v1/plans/pro")
    assert archived.status_code == 200
    assert archived.json()["active"] is False
    assert client.get("/v1/plans/pro").json()["active"] is False
    assert client.delete("/v1/plans/pro").status_code == 200
    [event] = _events(client, "plan.archived")
    assert event["data"]["previous_attributes"] == {"active": True}
    assert len(_events(client, "plan.created")) == 1


def test_list_filters_by_active(client: TestClient) -> None:
    for code in ("basic", "team", "legacy"):
        assert client.post("/v1/plans", json={"code": code, "name": code}).status_code == 201
    client.delete("/v1/plans/legacy")
    codes = [p["code"] for p in client.get("/v1/plans").json()["data"]]
    assert codes == ["legacy", "team", "basic"]
    active = client.get("/v1/plans", params={"active": "true"}).json()["data"]
    assert [p["code"] for p in active] == ["team", "basic"]
    archived = client.get("/v1/plans", params={"active": "false"}).json()["data"]
    assert [p["code"] for p in archived] == ["legacy"]
    page = client.get("/v1/plans", params={"limit": 2}).json()
    assert page["has_more"] is True


def test_currency_defaults_to_usd_and_unknown_plan_is_404(client: TestClient) -> None:
    plan = client.post("/v1/plans", json={"code": "free", "name": "Free"}).json()
    assert plan["currency"] == "USD"
    assert plan["prices"] == []
    missing = client.get("/v1/plans/nope")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/not_found")
    assert client.patch("/v1/plans/nope", json={"name": "x"}).status_code == 404
    assert client.delete("/v1/plans/nope").status_code == 404


def test_patch_without_changes_emits_no_event(client: TestClient) -> None:
    client.post("/v1/plans", json={"code": "basic", "name": "Basic", "trial_days": 7})
    before = client.get("/v1/plans/basic").json()
    same = client.patch("/v1/plans/basic", json={"name": "Basic", "trial_days": 7})
    assert same.status_code == 200
    assert same.json()["updated_at"] == before["updated_at"]
    assert _events(client, "plan.updated") == []


def test_duplicate_code_is_409(client: TestClient) -> None:
    assert client.post("/v1/plans", json={"code": "pro", "name": "Pro"}).status_code == 201
    again = client.post("/v1/plans", json={"code": "pro", "name": "Other"})
    assert again.status_code == 409
    assert again.json()["type"].endswith("/already_exists")
    assert len(_events(client, "plan.created")) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"prices": [{"interval": "monthly", "amount": -1}]}, "prices[0].amount"),
        ({"prices": [{"interval": "monthly", "amount": 10.5}]}, "prices[0].amount"),
        ({"prices": [{"interval": "monthly", "amount": 10.0}]}, "prices[0].amount"),
        ({"prices": [{"interval": "monthly", "amount": True}]}, "prices[0].amount"),
        ({"prices": [{"interval": "monthly", "amount": "4900"}]}, "prices[0].amount"),
        ({"prices": [{"interval": "weekly", "amount": 100}]}, "prices[0].interval"),
        (
            {"prices": [{"interval": "monthly", "amount": 1, "currency": "ZZZ"}]},
            "prices[0].currency",
        ),
        (
            {"prices": [{"interval": "annual", "amount": 1}, {"interval": "annual", "amount": 2}]},
            "prices[1].interval",
        ),
        ({"currency": "dollars"}, "currency"),
        ({"trial_days": -1}, "trial_days"),
        ({"included_credits": 99.5}, "included_credits"),
        ({"features": {"seats": 1.5}}, "features.seats"),
        ({"features": {"seats": -2}}, "features.seats"),
        ({"is_default": "yes"}, "is_default"),
        ({"colour": "blue"}, "colour"),
        ({"code": "has space"}, "code"),
        ({"quotas": [{"metric": "api_calls", "limit": -2, "period": "daily"}]}, "quotas[0].limit"),
        (
            {"quotas": [{"metric": "api_calls", "limit": 5, "period": "weekly"}]},
            "quotas[0].period",
        ),
        (
            {"quotas": [{"metric": "x", "limit": 5, "period": "daily", "enforcement": "block"}]},
            "quotas[0].enforcement",
        ),
        (
            {"quotas": [{"metric": "x", "limit": 5, "period": "daily", "thresholds": [0, 80]}]},
            "quotas[0].thresholds[0]",
        ),
        ({"charges": [{"metric": "api_calls", "model": "standard"}]}, "charges[0].unit_amount"),
        (
            {"charges": [{"metric": "api_calls", "model": "standard", "unit_amount": "-1"}]},
            "charges[0].unit_amount",
        ),
        (
            {"charges": [{"metric": "api_calls", "model": "standard", "unit_amount": 0.25}]},
            "charges[0].unit_amount",
        ),
        (
            {"charges": [{"metric": "api_calls", "model": "standard", "unit_amount": "abc"}]},
            "charges[0].unit_amount",
        ),
        (
            {
                "charges": [
                    {"metric": "api_calls", "model": "standard", "unit_amount": "1", "rate": "2"}
                ]
            },
            "charges[0].rate",
        ),
        (
            {"charges": [{"metric": "api_calls", "model": "auction", "unit_amount": "1"}]},
            "charges[0].model",
        ),
        (
            {
                "charges": [
                    {
                        "metric": "api_calls",
                        "model": "graduated",
                        "tiers": [
                            {"up_to": 100, "unit_amount": "1"},
                            {"up_to": 50, "unit_amount": "2"},
                        ],
                    }
                ]
            },
            "charges[0].tiers[1].up_to",
        ),
        (
            {"charges": [{"metric": "api_calls", "model": "volume", "tiers": []}]},
            "charges[0].tiers",
        ),
        (
            {"charges": [{"metric": "api_calls", "model": "volume", "tiers": [{"up_to": None}]}]},
            "charges[0].tiers[0]",
        ),
        (
            {
                "charges": [
                    {
                        "metric": "api_calls",
                        "model": "package",
                        "package_size": 0,
                        "unit_amount": "1",
                    }
                ]
            },
            "charges[0].package_size",
        ),
        (
            {"charges": [{"metric": "api_calls", "model": "percentage", "rate": "150"}]},
            "charges[0].rate",
        ),
        (
            {
                "charges": [
                    {
                        "metric": "api_calls",
                        "model": "percentage",
                        "rate": "2.9",
                        "min_amount": "50",
                        "max_amount": "10",
                    }
                ]
            },
            "charges[0].max_amount",
        ),
        ({"charges": [{"metric": "api_calls", "model": "flat"}]}, "charges[0].amount"),
        (
            {
                "charges": [
                    {"metric": "api_calls", "model": "flat", "amount": 500, "included_units": 3}
                ]
            },
            "charges[0].included_units",
        ),
    ],
)
def test_invalid_fields_are_named(client: TestClient, change: dict[str, Any], field: str) -> None:
    _metrics(client, "api_calls")
    body = {"code": "p", "name": "P", **change}
    assert field in _errors(client.post("/v1/plans", json=body))
    assert client.get("/v1/plans").json()["data"] == []


def test_prices_clash_once_currency_is_resolved(client: TestClient) -> None:
    body = {
        "code": "p",
        "name": "P",
        "currency": "EUR",
        "prices": [
            {"interval": "monthly", "amount": 900},
            {"interval": "monthly", "amount": 1000, "currency": "EUR"},
        ],
    }
    response = client.post("/v1/plans", json=body)
    assert _errors(response) == {"prices[1].interval"}
    assert "a second monthly price in EUR" in response.json()["detail"]


def test_charges_and_quotas_need_known_metrics(client: TestClient) -> None:
    _metrics(client, "api_calls")
    body = _pro(
        prices=[{"interval": "monthly", "amount": 4900}],
        quotas=[
            {"metric": "api_calls", "limit": 10, "period": "daily"},
            {"metric": "seats", "limit": 10, "period": "total"},
        ],
        charges=[{"metric": "storage", "model": "standard", "unit_amount": "2"}],
    )
    response = client.post("/v1/plans", json=body)
    assert _errors(response) == {"quotas[1].metric", "charges[0].metric"}
    assert "unknown metric 'storage'" in response.json()["detail"]

    assert client.post("/v1/plans", json={"code": "pro", "name": "Pro"}).status_code == 201
    patched = client.patch("/v1/plans/pro", json={"charges": body["charges"]})
    assert _errors(patched) == {"charges[0].metric"}
    assert client.get("/v1/plans/pro").json()["charges"] == []


def test_patch_refuses_null_for_required_fields(client: TestClient) -> None:
    client.post("/v1/plans", json={"code": "p", "name": "P", "description": "old"})
    assert _errors(client.patch("/v1/plans/p", json={"name": None, "prices": None})) == {
        "name",
        "prices",
    }
    cleared = client.patch("/v1/plans/p", json={"description": None})
    assert cleared.json()["description"] is None


def test_one_default_plan_per_product(client: TestClient) -> None:
    free = client.post("/v1/plans", json={"code": "free", "name": "Free", "is_default": True})
    assert free.json()["is_default"] is True
    basic = client.post("/v1/plans", json={"code": "basic", "name": "Basic", "is_default": True})
    assert basic.status_code == 201, basic.text
    assert client.get("/v1/plans/free").json()["is_default"] is False
    [cleared] = _events(client, "plan.updated")
    assert cleared["data"]["code"] == "free"
    assert cleared["data"]["previous_attributes"] == {"is_default": True}

    assert client.patch("/v1/plans/free", json={"is_default": True}).json()["is_default"] is True
    assert client.get("/v1/plans/basic").json()["is_default"] is False
    defaults = [p["code"] for p in client.get("/v1/plans").json()["data"] if p["is_default"]]
    assert defaults == ["free"]

    archived = client.delete("/v1/plans/free").json()
    assert (archived["active"], archived["is_default"]) == (False, False)
    assert _errors(client.patch("/v1/plans/free", json={"is_default": True})) == {"is_default"}
    revived = client.patch("/v1/plans/free", json={"is_default": True, "active": True})
    assert revived.json()["is_default"] is True
    assert _errors(
        client.post(
            "/v1/plans", json={"code": "x", "name": "X", "is_default": True, "active": False}
        )
    ) == {"is_default"}


def test_customer_scoped_key_reads_but_cannot_write(client: TestClient) -> None:
    _metrics(client, "api_calls", "storage")
    client.post("/v1/plans", json=_pro())
    client.post("/v1/customers", json={"external_id": "org_1"})
    issued = client.post("/v1/customers/org_1/keys", json={"name": "billing page"})
    key = issued.json()["key"]
    assert key.startswith("ck_")
    scoped = {"Authorization": f"Bearer {key}"}

    writes = [
        client.post("/v1/plans", json={"code": "x", "name": "X"}, headers=scoped),
        client.patch("/v1/plans/pro", json={"name": "Hacked"}, headers=scoped),
        client.delete("/v1/plans/pro", headers=scoped),
        client.post(
            "/v1/metrics", json={"code": "m", "name": "M", "aggregation": "count"}, headers=scoped
        ),
        client.post(
            "/v1/addons",
            json={"code": "a", "name": "A", "amount": 1, "interval": "monthly"},
            headers=scoped,
        ),
        client.post(
            "/v1/coupons",
            json={"code": "c", "percent_off": "10", "duration": "once"},
            headers=scoped,
        ),
        client.post(
            "/v1/catalog/import",
            content=b"version: 1\nplans: []\n",
            headers={**scoped, "Content-Type": "application/yaml"},
        ),
    ]
    for response in writes:
        assert response.status_code == 403, response.request.url
        assert response.json()["type"].endswith("/forbidden")
    for path in ("/v1/plans", "/v1/plans/pro", "/v1/metrics", "/v1/metrics/api_calls"):
        assert client.get(path, headers=scoped).status_code == 200, path
    assert client.get("/v1/addons", headers=scoped).status_code == 200
    # Coupon codes are offers: a customer may look one up by code, not list them all.
    assert client.get("/v1/coupons", headers=scoped).status_code == 403
    assert client.get("/v1/plans/pro").json()["name"] == "Pro"
    assert client.get("/v1/plans/pro").json()["active"] is True
