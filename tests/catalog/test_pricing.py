"""The pricing engine, with real numbers: every model, included units and rounding."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollway.catalog import ChargeSpec, Priced, charges_in, minimum_top_up, price

D = Decimal
TIERS = [
    {"up_to": 100, "unit_amount": "10"},
    {"up_to": 1000, "unit_amount": "5"},
    {"unit_amount": "1"},
]


def charge(model: str, **fields: Any) -> ChargeSpec:
    return ChargeSpec.model_validate({"metric": "m", "model": model, **fields})


def lines(priced: Priced) -> list[tuple[Decimal, Decimal | None, int, int | None]]:
    return [(ln.quantity, ln.unit_amount, ln.amount, ln.tier) for ln in priced.lines]


# --- standard ---------------------------------------------------------------------------


def test_resource_rates_are_standard_charges_on_weighted_metrics() -> None:
    cores = price(charge("standard", unit_amount="5"), D(20))  # 2 cores x 10 h
    memory = price(charge("standard", unit_amount="1"), D(40))  # 4 GB x 10 h
    assert (cores.amount, memory.amount) == (100, 40)
    assert lines(cores) == [(D(20), D(5), 100, None)]
    assert cores.lines[0].description == "20 \u00d7 5"


def test_standard_fractional_unit_amount_rounds_half_even_once() -> None:
    quarter = charge("standard", unit_amount="0.25")
    assert price(quarter, D(10)).amount == 2  # 2.5 -> 2 (even)
    assert price(quarter, D(14)).amount == 4  # 3.5 -> 4 (even)
    assert price(quarter, D(13)).amount == 3  # 3.25 -> 3
    assert price(quarter, D(15)).amount == 4  # 3.75 -> 4
    # Once per line, on the exact product: 1,000,001 units at 0.0125 is 12,500.0125 -> 12,500.
    assert price(charge("standard", unit_amount="0.0125"), D(1_000_001)).amount == 12_500
    assert price(quarter, D("2.5")).lines[0].description == "2.5 \u00d7 0.25"


def test_a_long_quantity_is_priced_exactly_and_shown_short() -> None:
    core_hours = D(61) / D(3)  # 20.333... core-hours from a gauge
    priced = price(charge("standard", unit_amount="5"), core_hours)
    assert priced.amount == 102  # 101.666... rounds once
    assert priced.lines[0].quantity == core_hours
    assert priced.lines[0].description == "20.333333 \u00d7 5"
    # 40 significant digits (more than Decimal's default 28) are all kept until the rounding:
    # just above the half rounds up.
    huge = D("1000000000000000.500000000000000000000001")
    assert price(charge("standard", unit_amount="1"), huge).amount == 10**15 + 1


def test_standard_included_units_come_off_first() -> None:
    hybrid = charge("standard", unit_amount="5", included_units=100)
    priced = price(hybrid, D(120))
    assert (priced.units, priced.billable_units, priced.amount) == (D(120), D(20), 100)
    assert lines(priced) == [(D(20), D(5), 100, None)]
    under = price(hybrid, D(80))
    assert (under.billable_units, under.amount, under.lines) == (D(0), 0, ())


def test_no_usage_no_lines() -> None:
    for spec in (
        charge("standard", unit_amount="5"),
        charge("graduated", tiers=[{"up_to": 10, "flat_amount": 500}, {"unit_amount": "1"}]),
        charge("volume", tiers=[{"up_to": 10, "flat_amount": 500}, {"unit_amount": "1"}]),
        charge("package", unit_amount="50", package_size=100),
        charge("percentage", rate="2", min_amount="30"),
        charge("flat", amount=9900),
    ):
        priced = price(spec, D(0))
        assert (priced.amount, priced.lines) == (0, ()), spec.model


# --- graduated and volume ---------------------------------------------------------------


def test_graduated_on_1500_units_is_6000() -> None:
    priced = price(charge("graduated", tiers=TIERS), D(1500))
    assert lines(priced) == [
        (D(100), D(10), 1000, 1),
        (D(900), D(5), 4500, 2),
        (D(500), D(1), 500, 3),
    ]
    assert priced.amount == 6000
    assert [ln.description for ln in priced.lines] == [
        "Tier 1 (1\u2013100) \u00d7 10",
        "Tier 2 (101\u20131,000) \u00d7 5",
        "Tier 3 (above 1,000) \u00d7 1",
    ]


def test_volume_on_1500_units_is_1500() -> None:
    priced = price(charge("volume", tiers=TIERS), D(1500))
    assert lines(priced) == [(D(1500), D(1), 1500, 3)]
    assert priced.lines[0].description == "Tier 3 (above 1,000) all units \u00d7 1"


@pytest.mark.parametrize(
    ("units", "graduated", "volume"),
    [
        (1, 10, 10),
        (100, 1000, 1000),  # the boundary belongs to the lower tier
        (101, 1005, 505),
        (1000, 5500, 5000),
        (1001, 5501, 1001),
    ],
)
def test_tier_boundaries(units: int, graduated: int, volume: int) -> None:
    assert price(charge("graduated", tiers=TIERS), D(units)).amount == graduated
    assert price(charge("volume", tiers=TIERS), D(units)).amount == volume


def test_tier_flat_amounts_once_when_the_tier_is_entered() -> None:
    tiers = [
        {"up_to": 10, "flat_amount": 500},
        {"up_to": 100, "unit_amount": "2", "flat_amount": 100},
        {"unit_amount": "1"},
    ]
    graduated = price(charge("graduated", tiers=tiers), D(50))
    assert lines(graduated) == [(D(10), None, 500, 1), (D(40), D(2), 180, 2)]
    assert [ln.description for ln in graduated.lines] == [
        "Tier 1 (1\u201310) 500 flat",
        "Tier 2 (11\u2013100) \u00d7 2 + 100 flat",
    ]
    assert graduated.amount == 680
    assert price(charge("graduated", tiers=tiers), D(7)).amount == 500
    volume = price(charge("volume", tiers=tiers), D(50))
    assert lines(volume) == [(D(50), D(2), 200, 2)]


def test_tiers_apply_to_the_units_after_included_units() -> None:
    priced = price(charge("graduated", tiers=TIERS, included_units=500), D(1500))
    assert priced.billable_units == D(1000)
    assert lines(priced) == [(D(100), D(10), 1000, 1), (D(900), D(5), 4500, 2)]
    assert price(charge("volume", tiers=TIERS, included_units=500), D(1500)).amount == 5000


def test_graduated_rounds_each_tier_line_once() -> None:
    tiers = [{"up_to": 3, "unit_amount": "0.5"}, {"unit_amount": "0.5"}]
    priced = price(charge("graduated", tiers=tiers), D(6))
    # 1.5 -> 2 and 1.5 -> 2: each line rounds on its own, the total is their sum.
    assert [ln.amount for ln in priced.lines] == [2, 2]
    assert priced.amount == 4


def test_fractional_units_cross_a_tier() -> None:
    priced = price(charge("graduated", tiers=TIERS), D("100.5"))
    assert lines(priced) == [(D(100), D(10), 1000, 1), (D("0.5"), D(5), 2, 2)]  # 2.5 -> 2


# --- package ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "packages", "amount"),
    [(1, 1, 50), (100, 1, 50), (101, 2, 100), (250, 3, 150), (D("200.01"), 3, 150)],
)
def test_package_prices_every_started_package(units: int, packages: int, amount: int) -> None:
    priced = price(charge("package", unit_amount="50", package_size=100), D(units))
    assert lines(priced) == [(D(packages), D(50), amount, None)]


def test_package_included_units_are_free_first() -> None:
    spec = charge("package", unit_amount="50", package_size=100, included_units=1000)
    assert price(spec, D(1000)).amount == 0
    priced = price(spec, D(1001))
    assert (priced.billable_units, priced.amount) == (D(1), 50)
    assert priced.lines[0].description == "1 \u00d7 package of 100 at 50"


def test_package_fractional_price_rounds_once() -> None:
    spec = charge("package", unit_amount="12.5", package_size=10)
    assert price(spec, D(30)).amount == 38  # 3 x 12.5 = 37.5 -> 38
    assert price(spec, D(50)).amount == 62  # 62.5 -> 62


# --- percentage -------------------------------------------------------------------------


def test_percentage_of_each_event_with_fixed_fee_min_and_max() -> None:
    spec = charge("percentage", rate="2.9", fixed_amount="30", min_amount="50", max_amount="500")
    amounts = [D(100), D(10_000), D(100_000)]
    # 2.9 + 30 = 32.9 -> min 50; 290 + 30 = 320; 2,900 + 30 = 2,930 -> max 500.
    priced = price(spec, sum(amounts, D(0)), amounts)
    assert priced.amount == 870
    assert lines(priced) == [(D(3), None, 870, None)]
    assert priced.billable_units == D(3)
    assert priced.units == D(110_100)
    assert priced.lines[0].description == (
        "2.9% of 110,100 + 30 per event (min 50, max 500 per event), 3 events"
    )


def test_percentage_rounds_once_on_the_sum_of_exact_fees() -> None:
    spec = charge("percentage", rate="1")
    # Three fees of 0.5 each: 1.5 rounds once to 2 (per-event rounding would give 0).
    assert price(spec, D(150), [D(50)] * 3).amount == 2


def test_percentage_included_units_are_free_events() -> None:
    spec = charge("percentage", rate="10", fixed_amount="5", included_units=2)
    amounts = [D(1000), D(2000), D(3000), D(4000)]
    priced = price(spec, D(10_000), amounts)
    # The first two events are free: (300 + 5) + (400 + 5).
    assert (priced.billable_units, priced.amount) == (D(2), 710)
    assert price(spec, D(3000), amounts[:2]).lines == ()


def test_percentage_fee_is_never_negative() -> None:
    spec = charge("percentage", rate="10", fixed_amount="5")
    assert price(spec, D(-900), [D(-1000), D(100)]).amount == 15  # max(0, -95) + 15


# --- flat -------------------------------------------------------------------------------


def test_flat_once_when_there_is_any_usage() -> None:
    spec = charge("flat", amount=9900)
    for units in (D("0.001"), D(1), D(1_000_000)):
        assert lines(price(spec, units)) == [(D(1), None, 9900, None)]
    assert price(spec, D(5)).lines[0].description == "Flat fee"


# --- currencies and minimum -------------------------------------------------------------


def test_charges_in_picks_the_customers_currency() -> None:
    plan_charges: list[Any] = [
        {"metric": "calls", "model": "standard", "unit_amount": "1"},
        {"metric": "calls", "model": "standard", "unit_amount": "0.9", "currency": "EUR"},
        charge("flat", amount=500, currency="JPY"),
        {"metric": "storage", "model": "standard", "unit_amount": "2", "currency": "USD"},
    ]
    usd = charges_in(plan_charges, "USD", "USD")
    assert [(c.metric, c.unit_amount) for c in usd] == [("calls", D(1)), ("storage", D(2))]
    eur = charges_in(plan_charges, "EUR", "USD")
    assert [(c.metric, c.unit_amount, c.currency) for c in eur] == [("calls", D("0.9"), "EUR")]
    assert [c.model for c in charges_in(plan_charges, "JPY", "USD")] == ["flat"]
    assert charges_in(plan_charges, "GBP", "USD") == []


def test_charge_currency_is_validated_and_dumped_only_when_set() -> None:
    assert charge("flat", amount=1, currency="eur").currency == "EUR"
    assert "currency" not in charge("flat", amount=1).model_dump(mode="json")
    with pytest.raises(ValueError, match="currency"):
        charge("flat", amount=1, currency="XXX")


@pytest.mark.parametrize(
    ("minimum", "charged", "top_up"), [(5000, 1400, 3600), (5000, 5000, 0), (5000, 9000, 0)]
)
def test_minimum_top_up(minimum: int, charged: int, top_up: int) -> None:
    assert minimum_top_up(minimum, charged) == top_up
    assert minimum_top_up(0, charged) == 0


# --- properties -------------------------------------------------------------------------

unit_amounts = st.decimals(min_value=0, max_value=1000, places=4).map(str)
units = st.decimals(min_value=0, max_value=10**7, places=3)


@st.composite
def tier_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    bounds = sorted(draw(st.sets(st.integers(1, 10**6), max_size=6)))
    tiers: list[dict[str, Any]] = []
    for up_to in [*bounds, None]:
        tier: dict[str, Any] = {"up_to": up_to, "unit_amount": draw(unit_amounts)}
        if draw(st.booleans()):
            tier["flat_amount"] = draw(st.integers(0, 10_000))
        tiers.append(tier)
    return tiers


@given(tiers=tier_lists(), used=units, included=st.integers(0, 1000))
def test_graduated_tiers_partition_the_billable_units(
    tiers: list[dict[str, Any]], used: Decimal, included: int
) -> None:
    priced = price(charge("graduated", tiers=tiers, included_units=included), used)
    assert priced.billable_units == max(used - included, 0)
    assert sum((ln.quantity for ln in priced.lines), D(0)) == priced.billable_units
    assert [ln.tier for ln in priced.lines] == list(range(1, len(priced.lines) + 1))
    assert all(ln.quantity > 0 for ln in priced.lines)
    assert priced.amount == sum(ln.amount for ln in priced.lines)


@given(tiers=tier_lists(), used=units)
def test_volume_uses_exactly_one_tier(tiers: list[dict[str, Any]], used: Decimal) -> None:
    priced = price(charge("volume", tiers=tiers), used)
    if used == 0:
        assert priced.lines == ()
        return
    (line,) = priced.lines
    assert line.quantity == used
    assert line.tier is not None
    reached = tiers[line.tier - 1]
    previous = tiers[line.tier - 2]["up_to"] if line.tier > 1 else 0
    assert previous < used
    assert reached["up_to"] is None or used <= reached["up_to"]


def _monotone_charges() -> st.SearchStrategy[ChargeSpec]:
    included = st.integers(0, 1000)
    return st.one_of(
        st.builds(
            lambda u, i: charge("standard", unit_amount=u, included_units=i),
            unit_amounts,
            included,
        ),
        st.builds(
            lambda t, i: charge("graduated", tiers=t, included_units=i), tier_lists(), included
        ),
        st.builds(
            lambda u, s, i: charge("package", unit_amount=u, package_size=s, included_units=i),
            unit_amounts,
            st.integers(1, 10_000),
            included,
        ),
    )


@given(spec=_monotone_charges(), a=units, b=units)
def test_price_is_monotone_in_units(spec: ChargeSpec, a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    assert price(spec, low).amount <= price(spec, high).amount
