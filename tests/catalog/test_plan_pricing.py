"""Plans' pricing fields on both backends: charges per currency, minimum commitments."""

from __future__ import annotations

from typing import Any

import pytest

from tollway import catalog
from tollway.catalog import MetricCreate, PlanCreate, PlanOut, PlanUpdate
from tollway.kernel.context import Context
from tollway.kernel.errors import ValidationFailed


def _calls(unit_amount: str, currency: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"metric": "calls", "model": "standard", "unit_amount": unit_amount}
    if currency:
        spec["currency"] = currency
    return spec


@pytest.fixture
def metric(ctx: Context) -> None:
    catalog.create_metric(ctx, MetricCreate(code="calls", name="Calls", aggregation="count"))


@pytest.mark.usefixtures("metric")
def test_a_plan_has_one_charge_per_metric_and_currency(ctx: Context) -> None:
    plan = catalog.create_plan(
        ctx,
        PlanCreate.model_validate(
            {
                "code": "pro",
                "name": "Pro",
                "currency": "USD",
                "charges": [_calls("1"), _calls("0.9", "EUR")],
            }
        ),
    )
    assert plan.charges == [
        {"metric": "calls", "model": "standard", "unit_amount": "1"},
        {"metric": "calls", "model": "standard", "unit_amount": "0.9", "currency": "EUR"},
    ]
    eur = catalog.charges_in(plan.charges, "EUR", plan.currency)
    assert [str(c.unit_amount) for c in eur] == ["0.9"]

    with pytest.raises(ValidationFailed) as caught:
        catalog.create_plan(
            ctx,
            PlanCreate.model_validate(
                {
                    "code": "twice",
                    "name": "Twice",
                    "currency": "USD",
                    "charges": [_calls("1"), _calls("2", "USD")],
                }
            ),
        )
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("charges[1].metric", "a second charge for calls in USD")
    ]


@pytest.mark.usefixtures("metric")
def test_changing_the_currency_rechecks_the_charges(ctx: Context) -> None:
    catalog.create_plan(
        ctx,
        PlanCreate.model_validate(
            {
                "code": "pro",
                "name": "Pro",
                "currency": "USD",
                "charges": [_calls("1"), _calls("1", "EUR")],
            }
        ),
    )
    with pytest.raises(ValidationFailed) as caught:
        catalog.update_plan(ctx, "pro", PlanUpdate(currency="EUR"))
    assert [e.field for e in caught.value.errors] == ["charges[1].metric"]
    with pytest.raises(ValidationFailed):
        catalog.update_plan(
            ctx, "pro", PlanUpdate.model_validate({"charges": [_calls("1"), _calls("2", "USD")]})
        )
    assert catalog.get_plan(ctx, "pro").currency == "USD"


def test_the_same_charge_twice_is_refused_by_the_schema() -> None:
    with pytest.raises(ValueError, match="a second charge for this metric"):
        PlanCreate.model_validate(
            {"code": "p", "name": "P", "charges": [_calls("1", "EUR"), _calls("2", "EUR")]}
        )


def _plan(ctx: Context, **fields: Any) -> catalog.Plan:
    return catalog.create_plan(
        ctx, PlanCreate.model_validate({"code": "pro", "name": "Pro", "currency": "USD", **fields})
    )


def test_minimum_commitment_per_currency(ctx: Context) -> None:
    plan = _plan(ctx, minimum_commitment=[{"amount": 5000}, {"amount": 4500, "currency": "EUR"}])
    assert (plan.minimum_for("USD"), plan.minimum_for("EUR"), plan.minimum_for("GBP")) == (
        5000,
        4500,
        0,
    )
    out = PlanOut.of(plan).model_dump(mode="json")["minimum_commitment"]
    assert out == [{"amount": 5000, "currency": "USD"}, {"amount": 4500, "currency": "EUR"}]
    catalog.update_plan(ctx, "pro", PlanUpdate.model_validate({"minimum_commitment": []}))
    assert catalog.get_plan(ctx, "pro").minimum_for("USD") == 0


def test_a_plan_without_minimum_has_none(ctx: Context) -> None:
    plan = _plan(ctx)
    assert (plan.minimum_commitment, plan.minimum_for("USD")) == ([], 0)


def test_one_minimum_per_resolved_currency(ctx: Context) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _plan(ctx, minimum_commitment=[{"amount": 1}, {"amount": 2, "currency": "USD"}])
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("minimum_commitment[1].currency", "a second minimum commitment in USD")
    ]
    with pytest.raises(ValueError, match="a second minimum in this currency"):
        PlanUpdate.model_validate({"minimum_commitment": [{"amount": 1}, {"amount": 2}]})
    with pytest.raises(ValueError, match="amount"):
        PlanUpdate.model_validate({"minimum_commitment": [{"amount": "10"}]})


def test_a_new_currency_needs_the_minimum_in_it(ctx: Context) -> None:
    _plan(ctx, minimum_commitment=[{"amount": 5000}])
    with pytest.raises(ValidationFailed) as caught:
        catalog.update_plan(ctx, "pro", PlanUpdate(currency="EUR"))
    assert [e.field for e in caught.value.errors] == ["currency"]
    catalog.update_plan(
        ctx,
        "pro",
        PlanUpdate.model_validate({"currency": "EUR", "minimum_commitment": [{"amount": 4500}]}),
    )
    plan = catalog.get_plan(ctx, "pro")
    assert (plan.minimum_for("EUR"), plan.minimum_for("USD")) == (4500, 0)


def test_product_file_minimum_commitment_in_major_units(ctx: Context) -> None:
    document = """
version: 1
branding: {billing: {currency: EUR}}
plans:
  - id: scale
    name: Scale
    price_monthly: 99
    minimum_commitment: 49.90
"""
    catalog.import_product_file(ctx, document)
    plan = catalog.get_plan(ctx, "scale")
    assert plan.minimum_commitment == [{"amount": 4990, "currency": None}]
    assert plan.minimum_for("EUR") == 4990
    again = catalog.import_product_file(ctx, document.replace("49.90", "60"))
    assert again.plans_updated == ["scale"]
    assert catalog.get_plan(ctx, "scale").minimum_for("EUR") == 6000
    with pytest.raises(ValidationFailed) as caught:
        catalog.import_product_file(ctx, document.replace("49.90", "49.905"))
    assert [e.field for e in caught.value.errors] == ["plans[0].minimum_commitment"]
