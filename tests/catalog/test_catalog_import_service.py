"""``import_product_file`` as the CLI and the API call it, on both backends."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tollway import catalog
from tollway.catalog import PlanUpdate, PriceSpec
from tollway.kernel.context import Context
from tollway.kernel.errors import Forbidden, ValidationFailed
from tollway.kernel.outbox import Event
from tollway.kernel.pagination import PageRequest

EXAMPLE = (Path(__file__).parent / "general_bots.product").read_text()

WITH_CHARGES = """
version: 1
metrics:
  - {code: api_calls, name: API calls, aggregation: count}
plans:
  - id: growth
    name: Growth
    price_monthly: 99
    features: {api_calls_per_month: 100000}
    charges:
      - metric: api_calls
        model: graduated
        tiers:
          - {up_to: 100000, unit_amount: 0}
          - {unit_amount: 0.05}
"""


def _event_count(ctx: Context) -> int:
    return ctx.session.scalar(select(func.count()).select_from(Event)) or 0


def test_summary_reads_well(ctx: Context) -> None:
    result = catalog.import_product_file(ctx, EXAMPLE)
    assert result.summary() == (
        "plans: 2 created (starter, enterprise), 0 updated, 0 unchanged; "
        "metrics: 4 created (members, bots, messages, api_calls); product: updated"
    )
    again = catalog.import_product_file(ctx, EXAMPLE)
    assert not again.changed
    assert again.summary().endswith("product: unchanged")


def test_declared_metrics_are_used_and_existing_ones_left_alone(ctx: Context) -> None:
    result = catalog.import_product_file(ctx, WITH_CHARGES)
    assert result.metrics_created == ["api_calls"]
    metric = catalog.get_metric(ctx, "api_calls")
    assert (metric.aggregation, metric.field) == ("count", None)
    plan = catalog.get_plan(ctx, "growth")
    assert plan.charges[0]["tiers"][1] == {"up_to": None, "unit_amount": "0.05"}
    assert plan.quotas[0]["metric"] == "api_calls"

    redefined = WITH_CHARGES.replace("aggregation: count", "aggregation: sum")
    assert catalog.import_product_file(ctx, redefined).changed is False
    assert catalog.get_metric(ctx, "api_calls").aggregation == "count"


def test_written_out_charges_need_a_declared_or_existing_metric(ctx: Context) -> None:
    text = WITH_CHARGES.replace("  - {code: api_calls, name: API calls, aggregation: count}\n", "")
    text = text.replace("metrics:\n", "")
    before = _event_count(ctx)
    with pytest.raises(ValidationFailed) as caught:
        catalog.import_product_file(ctx, text)
    assert [e.field for e in caught.value.errors] == ["plans[0].charges[0].metric"]
    assert _event_count(ctx) == before
    assert catalog.list_metrics(ctx, PageRequest(limit=100)).data == []


def test_stripe_price_ids_survive_an_unchanged_price(ctx: Context) -> None:
    catalog.import_product_file(ctx, EXAMPLE)
    catalog.update_plan(
        ctx,
        "starter",
        PlanUpdate(
            prices=[
                PriceSpec(interval="monthly", amount=2900, stripe_price_id="price_m"),
                PriceSpec(interval="annual", amount=29000, stripe_price_id="price_a"),
            ]
        ),
    )
    assert catalog.import_product_file(ctx, EXAMPLE).plans_unchanged == ["starter", "enterprise"]
    assert [p["stripe_price_id"] for p in catalog.get_plan(ctx, "starter").prices] == [
        "price_m",
        "price_a",
    ]
    raised = EXAMPLE.replace("price_annual: 290", "price_annual: 300")
    assert catalog.import_product_file(ctx, raised).plans_updated == ["starter"]
    assert [p["stripe_price_id"] for p in catalog.get_plan(ctx, "starter").prices] == [
        "price_m",
        None,
    ]


def test_import_reactivates_listed_archived_plans_and_sets_the_default(ctx: Context) -> None:
    catalog.create_plan(ctx, catalog.PlanCreate(code="legacy", name="Legacy", is_default=True))
    catalog.import_product_file(ctx, EXAMPLE)
    catalog.archive_plan(ctx, "starter")
    with_default = EXAMPLE.replace(
        "    name: Starter\n", "    name: Starter\n    is_default: true\n"
    )
    result = catalog.import_product_file(ctx, with_default)
    assert result.plans_updated == ["starter"]
    starter = catalog.get_plan(ctx, "starter")
    assert (starter.active, starter.is_default) == (True, True)
    assert catalog.get_plan(ctx, "legacy").is_default is False


def test_customer_scoped_callers_cannot_import(ctx: Context) -> None:
    scoped = replace(ctx, customer_scope="cus_123")
    with pytest.raises(Forbidden):
        catalog.import_product_file(scoped, EXAMPLE)
    with pytest.raises(Forbidden):
        catalog.create_plan(scoped, catalog.PlanCreate(code="x", name="X"))
