"""Plans' pricing fields on both backends: charges per currency."""

from __future__ import annotations

from typing import Any

import pytest

from tollway import catalog
from tollway.catalog import MetricCreate, PlanCreate, PlanUpdate
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
