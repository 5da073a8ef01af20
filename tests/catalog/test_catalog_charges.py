"""Charge models and their rules, without a database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from tollway.catalog import ChargeSpec, QuotaSpec


def _locs(data: dict[str, Any]) -> list[tuple[str | int, ...]]:
    with pytest.raises(ValidationError) as caught:
        ChargeSpec.model_validate({"metric": "m", **data})
    return [tuple(e["loc"]) for e in caught.value.errors()]


@pytest.mark.parametrize(
    "data",
    [
        {"model": "standard", "unit_amount": "0.0125", "included_units": 1000},
        {
            "model": "graduated",
            "tiers": [
                {"up_to": 10, "unit_amount": "0", "flat_amount": 500},
                {"up_to": 100, "unit_amount": "2"},
                {"unit_amount": "1"},
            ],
        },
        {"model": "volume", "tiers": [{"up_to": None, "flat_amount": 100}]},
        {"model": "package", "package_size": 1000, "unit_amount": "500"},
        {"model": "percentage", "rate": "2.9", "fixed_amount": "30", "max_amount": "500"},
        {"model": "percentage", "rate": "0", "fixed_amount": "30"},
        {"model": "flat", "amount": 9900},
    ],
)
def test_each_model_accepts_its_fields(data: dict[str, Any]) -> None:
    charge = ChargeSpec.model_validate({"metric": "m", **data})
    dumped = charge.model_dump(mode="json")
    assert set(dumped) == {"metric", *data}  # fields the model does not use are left out
    assert ChargeSpec.model_validate(dumped) == charge


def test_decimals_stay_exact() -> None:
    charge = ChargeSpec.model_validate({"metric": "m", "model": "standard", "unit_amount": "0.1"})
    assert charge.unit_amount == Decimal("0.1")
    assert charge.model_dump(mode="json")["unit_amount"] == "0.1"


@pytest.mark.parametrize(
    ("data", "locs"),
    [
        ({"model": "standard", "tiers": [{"unit_amount": "1"}]}, [("unit_amount",), ("tiers",)]),
        ({"model": "graduated", "unit_amount": "1"}, [("tiers",), ("unit_amount",)]),
        (
            {"model": "graduated", "tiers": [{"unit_amount": "1"}, {"unit_amount": "2"}]},
            [("tiers", 0, "up_to")],
        ),
        ({"model": "volume", "tiers": [{"up_to": 5, "unit_amount": "1"}]}, [("tiers", 0, "up_to")]),
        (
            {
                "model": "volume",
                "tiers": [
                    {"up_to": 5, "unit_amount": "1"},
                    {"up_to": 5, "unit_amount": "1"},
                    {"unit_amount": "1"},
                ],
            },
            [("tiers", 1, "up_to")],
        ),
        ({"model": "package", "unit_amount": "1"}, [("package_size",)]),
        ({"model": "package", "unit_amount": "1", "package_size": -1}, [("package_size",)]),
        ({"model": "percentage", "rate": "0"}, [("rate",)]),
        ({"model": "percentage", "rate": "0", "fixed_amount": "0"}, [("rate",)]),
        ({"model": "percentage", "rate": "100.5"}, [("rate",)]),
        ({"model": "percentage", "rate": "1", "amount": 5}, [("amount",)]),
        ({"model": "flat", "amount": 5, "unit_amount": "1"}, [("unit_amount",)]),
        ({"model": "flat", "amount": -5}, [("amount",)]),
        ({"model": "standard", "unit_amount": "NaN"}, [("unit_amount",)]),
        ({"model": "standard", "unit_amount": True}, [("unit_amount",)]),
    ],
)
def test_rules_name_the_field(data: dict[str, Any], locs: list[tuple[str | int, ...]]) -> None:
    assert _locs(data) == locs


def test_quota_defaults_and_threshold_order() -> None:
    quota = QuotaSpec.model_validate(
        {"metric": "seats", "limit": -1, "period": "total", "thresholds": [100, 50, 50]}
    )
    assert (quota.enforcement, quota.thresholds) == ("hard", [50, 100])
    assert QuotaSpec(metric="seats", limit=3, period="daily").thresholds == [80, 90, 100]
