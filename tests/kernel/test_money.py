"""Money: minor units, currency exponents, one half-even rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollway.kernel.money import (
    Money,
    UnknownCurrency,
    exponent,
    normalize_currency,
    round_minor,
    to_major,
    to_minor,
)


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("USD", 2), ("eur", 2), ("BRL", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("CLF", 4)],
)
def test_exponents(currency: str, digits: int) -> None:
    assert exponent(currency) == digits


def test_unknown_currency() -> None:
    with pytest.raises(UnknownCurrency):
        normalize_currency("ABC")


@pytest.mark.parametrize(
    ("major", "currency", "minor"),
    [
        ("49.90", "BRL", 4990),
        (29, "USD", 2900),
        ("290", "USD", 29000),
        (29, "JPY", 29),
        ("1.234", "KWD", 1234),
        ("0", "EUR", 0),
    ],
)
def test_to_minor(major: str | int, currency: str, minor: int) -> None:
    assert to_minor(major, currency) == minor
    assert to_major(minor, currency) == Decimal(str(major))


@pytest.mark.parametrize(
    ("major", "currency"),
    [("0.001", "USD"), ("1.5", "JPY"), ("NaN", "USD"), ("Infinity", "USD"), ("abc", "USD")],
)
def test_to_minor_refuses_what_the_currency_cannot_hold(major: str, currency: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        to_minor(major, currency)


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        ("0.5", 0),
        ("1.5", 2),
        ("2.5", 2),
        ("-0.5", 0),
        ("-1.5", -2),
        ("1983.87", 1984),
        ("3967.74", 3968),
        ("2.4999", 2),
    ],
)
def test_round_half_even(value: str, rounded: int) -> None:
    assert round_minor(Decimal(value)) == rounded


@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=0, max_value=9))
def test_rounding_is_within_half_a_unit(whole: int, tenth: int) -> None:
    value = Decimal(whole) + Decimal(tenth) / 10
    assert abs(Decimal(round_minor(value)) - value) <= Decimal("0.5")


def test_money_arithmetic_and_scaling() -> None:
    price = Money(3000, "usd")
    assert price.currency == "USD"
    assert price + Money(60, "USD") == Money(3060, "USD")
    assert -price == Money(-3000, "USD")
    # 30.00 for 9.5 of 31 days, rounded once, half-even.
    assert price.scale(Decimal(820800) / Decimal(2678400)) == Money(919, "USD")
    with pytest.raises(ValueError, match="cannot mix"):
        _ = price + Money(1, "EUR")
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "USD")
