"""The ``.product`` format without a database: parsing, feature mapping, paths."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tollway.catalog.product_file import draft_catalog, humanize, load_document
from tollway.kernel.errors import ValidationFailed

EXAMPLE = (Path(__file__).parent / "general_bots.product").read_text()


def _fields(text: str, currency: str = "USD") -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        draft_catalog(load_document(text), currency=currency)
    return [e.field for e in caught.value.errors]


def test_example_maps_features_to_quotas_and_keeps_the_rest() -> None:
    document = load_document(EXAMPLE)
    assert document.currency == "USD"
    draft = draft_catalog(document, currency="USD")
    starter, enterprise = draft.plans
    assert [(p.interval, p.amount) for p in starter.prices] == [
        ("monthly", 2900),
        ("annual", 29000),
    ]
    assert [(q.metric, q.limit, q.period, q.enforcement) for q in starter.quotas] == [
        ("members", 10, "total", "hard"),
        ("bots", 5, "total", "hard"),
        ("messages", 10000, "monthly", "hard"),
        ("api_calls", 50000, "monthly", "hard"),
    ]
    assert starter.features == {"storage_gb": 10, "support_level": "email"}
    assert enterprise.features == {"sso": True, "sla": "99.9%"}
    assert draft.feature_metrics == {
        "members": "plans[0].features.max_members",
        "bots": "plans[0].features.max_bots",
        "messages": "plans[0].features.messages_per_month",
        "api_calls": "plans[0].features.api_calls_per_month",
    }


def test_yaml_decimals_are_exact_never_floats() -> None:
    text = """
plans:
  - id: p
    name: P
    price_monthly: 19.99
    price_quarterly: 0.1
    included_credits: 250
    charges:
      - metric: api_calls
        model: standard
        unit_amount: 0.0125
"""
    document = load_document(text)
    assert document.plans[0].price_monthly == Decimal("19.99")
    [plan] = draft_catalog(document, currency="BRL").plans
    assert [p.amount for p in plan.prices] == [1999, 10]
    assert plan.included_credits == 250
    assert plan.charges[0].unit_amount == Decimal("0.0125")


def test_hourly_and_daily_limits_and_non_numeric_max_stay_features() -> None:
    text = """
plans:
  - id: p
    name: P
    features:
      requests_per_hour: 600
      exports_per_day: 3
      max_upload: "10MB"
      max_: 4
      per_month: 7
"""
    [plan] = draft_catalog(load_document(text), currency="USD").plans
    assert [(q.metric, q.period, q.limit) for q in plan.quotas] == [
        ("requests", "hourly", 600),
        ("exports", "daily", 3),
    ]
    assert plan.features == {"max_upload": "10MB", "max_": 4, "per_month": 7}


def test_explicit_quota_may_not_repeat_a_feature_quota() -> None:
    text = """
plans:
  - id: p
    name: P
    features: {max_seats: 5}
    quotas:
      - {metric: seats, limit: 9, period: total}
"""
    assert _fields(text) == ["plans[0].quotas[0].metric"]


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (
            "plans:\n  - id: a\n    name: A\n    is_default: true\n  - id: b\n    name: B\n"
            "    is_default: true\n",
            ["plans[1].is_default"],
        ),
        (
            "metrics:\n  - {code: m, name: M, aggregation: count}\n"
            "  - {code: m, name: N, aggregation: sum}\n",
            ["metrics[1].code"],
        ),
        ("plans:\n  - id: p\n    name: P\n    price_monthly: .inf\n", ["plans[0].price_monthly"]),
        (
            "plans:\n  - id: p\n    name: P\n    features: {launched: 2025-01-01}\n",
            ["plans[0].features.launched"],
        ),
        ("plans:\n  - name: P\n", ["plans[0].id"]),
        ("shipping: true\n", ["shipping"]),
    ],
)
def test_problems_are_named_by_path(text: str, fields: list[str]) -> None:
    assert _fields(text) == fields


def test_currency_precision_is_checked_per_plan() -> None:
    text = (
        "plans:\n  - {id: a, name: A, price_monthly: 1.5}\n  - {id: b, name: B, price_annual: 3}\n"
    )
    assert _fields(text, currency="JPY") == ["plans[0].price_monthly"]
    assert _fields(text.replace("1.5", "1.234"), currency="USD") == ["plans[0].price_monthly"]
    [a, b] = draft_catalog(load_document(text), currency="KWD").plans
    assert (a.prices[0].amount, b.prices[0].amount) == (1500, 3000)


def test_syntax_errors_say_where() -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_document("plans:\n  - id: p\n    name: [unclosed\n")
    [error] = caught.value.errors
    assert error.field == "body"
    assert "line 4" in error.message


def test_humanize() -> None:
    assert humanize("api_calls") == "Api calls"
    assert humanize("storage.gb-month") == "Storage gb month"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x [1, 2]\nb: *x\n", "aliases"),
        ("plans: " + "[" * 5000, "nesting deeper"),
        ("a: &a [*a]\n", "aliases"),
        ("branding:\n  x: '" + "y" * (300 * 1024) + "'\n", "at most"),
        ("plans:\n  - id: p\n    name: P\n    price_monthly: 1.0e+999999999\n", "price_monthly"),
    ],
)
def test_hostile_documents_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_document(text) if "price_monthly" not in message else draft_catalog(
            load_document(text), currency="USD"
        )
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("given", "kept"), [("pt_BR", "pt_BR"), ("pt-BR", "pt_BR"), ("de", "de"), ("en_us", "en_US")]
)
def test_invoice_locale_is_a_known_cldr_locale(given: str, kept: str) -> None:
    document = load_document(f"branding:\n  billing:\n    locale: {given}\n")
    assert document.branding is not None
    assert document.branding.billing is not None
    assert document.branding.billing.locale == kept


@pytest.mark.parametrize(
    "locale", ["xx_YY", "''", "klingon", "'en_US; DROP'", "en_US.UTF-8", "de_DE@euro"]
)
def test_unknown_invoice_locale_is_refused_by_name(locale: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_document(f"branding:\n  billing:\n    locale: {locale}\n")
    assert [e.field for e in caught.value.errors] == ["branding.billing.locale"]
    assert "unknown locale" in caught.value.errors[0].message
