"""``POST /v1/catalog/import`` with the General Bots example, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tollway.kernel.tenancy import Product

EXAMPLE = (Path(__file__).parents[1] / "catalog" / "general_bots.product").read_text()
YAML = {"Content-Type": "application/yaml"}


def _import(client: TestClient, text: str, **headers: str) -> Any:
    return client.post("/v1/catalog/import", content=text.encode(), headers={**YAML, **headers})


def _events(client: TestClient) -> list[str]:
    return [e["type"] for e in client.get("/v1/events", params={"limit": 100}).json()["data"]]


def _product(session_factory: sessionmaker[Session]) -> Product:
    with session_factory() as session:
        product = session.scalar(select(Product).where(Product.code == "default"))
        assert product is not None
        return product


def _quota(metric: str, limit: int, period: str) -> dict[str, Any]:
    return {
        "metric": metric,
        "limit": limit,
        "period": period,
        "enforcement": "hard",
        "thresholds": [80, 90, 100],
    }


def test_general_bots_example(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    response = _import(client, EXAMPLE)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "plans_created": ["starter", "enterprise"],
        "plans_updated": [],
        "plans_unchanged": [],
        "metrics_created": ["members", "bots", "messages", "api_calls"],
        "product_updated": True,
    }

    starter = client.get("/v1/plans/starter").json()
    assert (starter["name"], starter["currency"], starter["is_default"]) == (
        "Starter",
        "USD",
        False,
    )
    assert starter["prices"] == [
        {"interval": "monthly", "amount": 2900, "currency": "USD", "stripe_price_id": None},
        {"interval": "annual", "amount": 29000, "currency": "USD", "stripe_price_id": None},
    ]
    assert starter["quotas"] == [
        _quota("members", 10, "total"),
        _quota("bots", 5, "total"),
        _quota("messages", 10000, "monthly"),
        _quota("api_calls", 50000, "monthly"),
    ]
    assert starter["features"] == {"storage_gb": 10, "support_level": "email"}

    enterprise = client.get("/v1/plans/enterprise").json()
    assert enterprise["custom_pricing"] is True
    assert [(p["interval"], p["amount"]) for p in enterprise["prices"]] == [("monthly", 0)]
    assert enterprise["quotas"] == [
        _quota("members", -1, "total"),
        _quota("messages", -1, "monthly"),
    ]
    assert enterprise["features"] == {"sso": True, "sla": "99.9%"}

    calls = client.get("/v1/metrics/api_calls").json()
    assert (calls["name"], calls["aggregation"], calls["field"]) == ("Api calls", "sum", "quantity")

    product = _product(session_factory)
    assert (product.name, product.company) == ("My SaaS Product", "My Company")
    assert product.settings == {"general": {"currency": "USD"}}
    assert product.branding["billing"] == {
        "company_name": "Your Company",
        "support_email": "billing@yourcompany.com",
        "invoice_logo": "/assets/logo.png",
        "invoice_footer": "Thank you for your business!",
        "currency": "USD",
        "tax_id_label": "VAT Number",
    }
    assert product.reseller == {
        "enabled": True,
        "commission_percent": "20",
        "min_markup_percent": "0",
        "allow_custom_pricing": True,
        "billing_relationship": "reseller",
    }
    events = _events(client)
    assert events.count("plan.created") == 2
    assert events.count("metric.created") == 4
    assert events[0] == "catalog.imported"
    imported = client.get("/v1/events", params={"type": "catalog.imported"}).json()["data"][0]
    assert imported["data"]["plans_created"] == ["starter", "enterprise"]


def test_importing_twice_changes_nothing(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    assert _import(client, EXAMPLE).status_code == 200
    events = _events(client)
    plans = client.get("/v1/plans").json()
    product_updated_at = _product(session_factory).updated_at

    again = _import(client, EXAMPLE)
    assert again.status_code == 200
    assert again.json() == {
        "plans_created": [],
        "plans_updated": [],
        "plans_unchanged": ["starter", "enterprise"],
        "metrics_created": [],
        "product_updated": False,
    }
    assert _events(client) == events
    assert client.get("/v1/plans").json() == plans
    assert len(client.get("/v1/metrics").json()["data"]) == 4
    assert _product(session_factory).updated_at == product_updated_at


def test_changed_file_updates_the_plan(client: TestClient) -> None:
    _import(client, EXAMPLE)
    changed = EXAMPLE.replace("price_monthly: 29\n", "price_monthly: 39.90\n")
    response = _import(client, changed)
    assert response.json()["plans_updated"] == ["starter"]
    assert response.json()["plans_unchanged"] == ["enterprise"]
    assert client.get("/v1/plans/starter").json()["prices"][0]["amount"] == 3990
    updated = client.get("/v1/events", params={"type": "plan.updated"}).json()["data"]
    assert [e["data"]["code"] for e in updated] == ["starter"]
    assert updated[0]["data"]["previous_attributes"]["prices"][0]["amount"] == 2900


def test_jpy_product_currency_has_no_minor_digits(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    response = _import(client, EXAMPLE.replace('currency: "usd"', 'currency: "jpy"'))
    assert response.status_code == 200, response.text
    starter = client.get("/v1/plans/starter").json()
    assert starter["currency"] == "JPY"
    assert [(p["amount"], p["currency"]) for p in starter["prices"]] == [(29, "JPY"), (290, "JPY")]
    assert _product(session_factory).settings["general"]["currency"] == "JPY"

    fractional = EXAMPLE.replace('currency: "usd"', 'currency: "jpy"').replace(
        "price_annual: 290", "price_annual: 290.5"
    )
    refused = _import(client, fractional)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["plans[0].price_annual"]


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("    price_monthly: 0\n", "    price_monthly: -5\n", "plans[1].price_monthly"),
        ("    price_monthly: 0\n", "    price_monthly: free\n", "plans[1].price_monthly"),
        ("    price_monthly: 0\n", "    price_monthly: 0.001\n", "plans[1].price_monthly"),
        ("    price_monthly: 0\n", "    price_monthly: true\n", "plans[1].price_monthly"),
        ("      max_bots: 5\n", "      max_bots: 5.5\n", "plans[0].features.max_bots"),
        ("      max_bots: 5\n", "      max_bots: -3\n", "plans[0].features.max_bots"),
        ('    currency: "usd"\n', '    currency: "credits"\n', "branding.billing.currency"),
        (
            '    currency: "usd"\n',
            '    currency: "usd"\n    locale: "xx_YY"\n',
            "branding.billing.locale",
        ),
        ("  - id: enterprise\n", "  - id: starter\n", "plans[1].id"),
        ("    custom_pricing: true\n", "    custom_pricing: maybe\n", "plans[1].custom_pricing"),
        (
            "    name: Starter\n",
            "    name: Starter\n    price_weekly: 9\n",
            "plans[0].price_weekly",
        ),
        ("version: 1\n", "version: 2\n", "version"),
        (
            "  commission_percent: 20\n",
            "  commission_percent: 120\n",
            "reseller.commission_percent",
        ),
    ],
)
def test_bad_values_are_named_and_nothing_is_written(
    client: TestClient, session_factory: sessionmaker[Session], old: str, new: str, field: str
) -> None:
    assert old in EXAMPLE
    response = _import(client, EXAMPLE.replace(old, new, 1))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in response.json()["errors"]}
    assert client.get("/v1/plans").json()["data"] == []
    assert client.get("/v1/metrics").json()["data"] == []
    assert _events(client) == []
    assert _product(session_factory).name == "Default product"


@pytest.mark.parametrize(
    "text", ["plans: [unclosed", "version: 1\n  plans:\n - bad indent", "- just\n- a list\n", ""]
)
def test_bad_yaml_is_422(client: TestClient, text: str) -> None:
    response = _import(client, text)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body"]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_other_content_types_are_415(client: TestClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/v1/catalog/import", content=EXAMPLE.encode(), headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/unsupported_media_type")
    assert client.get("/v1/plans").json()["data"] == []


def test_yaml_with_charset_and_x_yaml_are_accepted(client: TestClient) -> None:
    ok = _import(client, EXAMPLE, **{"Content-Type": "application/yaml; charset=utf-8"})
    assert ok.status_code == 200
    again = _import(client, EXAMPLE, **{"Content-Type": "application/x-yaml"})
    assert again.json()["plans_unchanged"] == ["starter", "enterprise"]


def test_import_changes_settings_through_the_audited_path(client: TestClient) -> None:
    document = "branding:\n  billing:\n    currency: jpy\nplans:\n  - id: p\n    name: P\n"
    headers = {"Content-Type": "application/yaml"}
    assert client.post("/v1/catalog/import", content=document, headers=headers).status_code == 200
    actions = [r["action"] for r in client.get("/v1/audit-log").json()["data"]]
    assert "product.settings.update" in actions
    [event] = client.get("/v1/events", params={"type": "product.updated"}).json()["data"]
    assert event["data"]["settings"]["general"] == {"currency": "JPY"}
