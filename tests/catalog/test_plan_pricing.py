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
    # The charge without a currency would silently become a EUR one; and it clashes.
    assert [e.field for e in caught.value.errors] == ["charges", "charges[1].metric"]
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
        ctx,
        PlanCreate.model_validate({"code": "pro", "name": "Pro", "currency": "USD", **fields}),
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


@pytest.mark.usefixtures("metric")
def test_a_new_currency_needs_the_charges_in_it(ctx: Context) -> None:
    _plan(ctx, charges=[_calls("5")])
    with pytest.raises(ValidationFailed) as caught:
        catalog.update_plan(ctx, "pro", PlanUpdate(currency="JPY"))
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("charges", "send the charges in the new currency in the same request")
    ]
    plan = catalog.get_plan(ctx, "pro")  # 5 cents did not become 5 yen
    assert (plan.currency, plan.charges[0].get("currency")) == ("USD", None)
    catalog.update_plan(
        ctx, "pro", PlanUpdate.model_validate({"currency": "JPY", "charges": [_calls("7")]})
    )
    plan = catalog.get_plan(ctx, "pro")
    jpy = catalog.charges_in(plan.charges, "JPY", plan.currency)
    assert (plan.currency, [str(c.unit_amount) for c in jpy]) == ("JPY", ["7"])
    # Charges that name their currency keep it: nothing to resend.
    catalog.update_plan(ctx, "pro", PlanUpdate.model_validate({"charges": [_calls("7", "JPY")]}))
    catalog.update_plan(
        ctx,
        "pro",
        PlanUpdate.model_validate(
            {"currency": "EUR", "charges": [_calls("7", "JPY"), _calls("1")]}
        ),
    )
    assert catalog.get_plan(ctx, "pro").currency == "EUR"


@pytest.mark.usefixtures("metric")
def test_every_currency_a_plan_is_sold_in_prices_its_usage(ctx: Context) -> None:
    prices = [
        {"interval": "monthly", "amount": 2999},
        {"interval": "monthly", "amount": 2799, "currency": "EUR"},
    ]
    with pytest.raises(ValidationFailed) as caught:
        _plan(ctx, prices=prices, charges=[_calls("5")], minimum_commitment=[{"amount": 900}])
    assert [(e.field, e.message) for e in caught.value.errors] == [
        (
            "charges",
            "no charge for 'calls' in EUR: the plan is sold in EUR, USD "
            "and each charged metric needs a charge in each of them",
        ),
        (
            "minimum_commitment",
            "no minimum commitment in EUR: the plan is sold in EUR, USD "
            "and needs a minimum commitment in each of them, or none",
        ),
    ]
    # A usage-only plan is sold in its charges' and minimums' currencies: the same rule.
    with pytest.raises(ValidationFailed) as caught:
        _plan(ctx, charges=[_calls("5")], minimum_commitment=[{"amount": 900, "currency": "GBP"}])
    assert [(e.field, e.message[:30]) for e in caught.value.errors] == [
        ("charges", "no charge for 'calls' in GBP: "),
        ("minimum_commitment", "no minimum commitment in USD: "),
    ]
    plan = _plan(
        ctx,
        prices=prices,
        charges=[_calls("5"), _calls("4", "EUR")],
        minimum_commitment=[{"amount": 900}, {"amount": 800, "currency": "EUR"}],
    )
    assert (plan.sold_in("USD"), plan.sold_in("EUR"), plan.sold_in("GBP")) == (True, True, False)
    # Adding a currency later needs its charges too; nothing changes when refused.
    with pytest.raises(ValidationFailed) as caught:
        catalog.update_plan(
            ctx,
            "pro",
            PlanUpdate.model_validate(
                {"prices": [*prices, {"interval": "monthly", "amount": 2599, "currency": "GBP"}]}
            ),
        )
    assert sorted(e.field for e in caught.value.errors) == ["charges", "minimum_commitment"]
    assert len(catalog.get_plan(ctx, "pro").prices) == 2


def test_a_plan_without_usage_pricing_is_sold_in_any_currency(ctx: Context) -> None:
    assert _plan(ctx).sold_in("JPY")
    assert _plan(ctx, code="eur", prices=[{"interval": "monthly", "amount": 1}]).sold_in("JPY")


def test_percentage_needs_a_sum_metric(ctx: Context) -> None:
    for code, aggregation, field in [
        ("payments", "sum", "amount"),
        ("calls", "count", None),
        ("peak", "max", "amount"),
        ("seats", "unique_count", "user"),
    ]:
        catalog.create_metric(
            ctx,
            MetricCreate(code=code, name=code, aggregation=aggregation, field=field),  # type: ignore[arg-type]
        )
    charges = [
        {"metric": code, "model": "percentage", "rate": "2.9"}
        for code in ("payments", "calls", "peak", "seats")
    ]
    with pytest.raises(ValidationFailed) as caught:
        _plan(ctx, charges=charges)
    assert [(e.field, e.message) for e in caught.value.errors] == [
        (
            f"charges[{index}].model",
            f"percentage prices each event's value, so it needs a sum metric; "
            f"{code!r} aggregates with {aggregation}",
        )
        for index, code, aggregation in [
            (1, "calls", "count"),
            (2, "peak", "max"),
            (3, "seats", "unique_count"),
        ]
    ]
    _plan(ctx, charges=charges[:1])
    with pytest.raises(ValidationFailed) as caught:
        catalog.update_plan(ctx, "pro", PlanUpdate.model_validate({"charges": charges[1:2]}))
    assert [e.field for e in caught.value.errors] == ["charges[0].model"]


@pytest.mark.usefixtures("metric")
def test_a_plan_stored_before_the_currency_rule_stays_editable(ctx: Context) -> None:
    plan = _plan(ctx, charges=[_calls("5")])
    plan.prices = [{"interval": "monthly", "amount": 2799, "currency": "EUR"}]  # as stored
    ctx.session.flush()
    catalog.update_plan(ctx, "pro", PlanUpdate(name="Pro 2026"))
    assert catalog.get_plan(ctx, "pro").name == "Pro 2026"
    with pytest.raises(ValidationFailed) as caught:
        catalog.update_plan(ctx, "pro", PlanUpdate.model_validate({"prices": plan.prices}))
    assert [e.field for e in caught.value.errors] == ["charges"]
