"""Proration to the second, half-even per line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tollway.subscriptions.proration import change_lines, prorate, remaining_fraction, seconds

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)


def test_the_worked_example() -> None:
    at = datetime(2026, 3, 11, 12, tzinfo=UTC)
    lines = change_lines(
        old_amount=3000, new_amount=6000, start=START, end=END, at=at,
        old_label="starter", new_label="pro",
    )  # fmt: skip
    assert [line.amount for line in lines] == [-1984, 3968]
    assert sum(line.amount for line in lines) == 1984
    assert all((line.period_start, line.period_end) == (at, END) for line in lines)
    assert lines[0].description == "Unused time on starter"
    assert remaining_fraction(START, END, at) == Decimal(1771200) / Decimal(2678400)


def test_rounding_is_half_even_per_line() -> None:
    end = START + timedelta(seconds=4)
    # 5 * 1/4 = 1.25 -> 1 ; 10 * 1/4 = 2.5 -> 2 (half-even) ; 14 * 1/4 = 3.5 -> 4
    at = START + timedelta(seconds=3)
    assert [prorate(a, START, end, at) for a in (5, 10, 14)] == [1, 2, 4]


def test_edges_and_fractions_of_a_second() -> None:
    assert prorate(3000, START, END, START) == 3000
    assert prorate(3000, START, END, END) == 0
    assert prorate(3000, START, END, END + timedelta(days=3)) == 0
    assert prorate(3000, START, END, START - timedelta(days=3)) == 3000
    assert seconds(START, START + timedelta(seconds=1, microseconds=999_999)) == 1
    with pytest.raises(ValueError, match="empty"):
        prorate(100, START, START, START)
    assert (
        change_lines(
            old_amount=0, new_amount=0, start=START, end=END, at=START, old_label="a", new_label="b"
        )
        == []
    )


@settings(max_examples=500, deadline=None)
@given(
    old=st.integers(0, 10**9),
    new=st.integers(0, 10**9),
    length=st.integers(1, 400 * 86400),
    elapsed=st.integers(0, 400 * 86400),
)
def test_credit_plus_charge_is_the_price_difference_for_the_remaining_time(
    old: int, new: int, length: int, elapsed: int
) -> None:
    end = START + timedelta(seconds=length)
    at = START + timedelta(seconds=min(elapsed, length))
    lines = change_lines(
        old_amount=old, new_amount=new, start=START, end=end, at=at, old_label="a", new_label="b"
    )
    net = sum(line.amount for line in lines)
    exact = Decimal(new - old) * remaining_fraction(START, end, at)
    assert abs(Decimal(net) - exact) <= 1  # within one minor unit per line (two lines)
    credits = [line.amount for line in lines if line.amount < 0]
    charges = [line.amount for line in lines if line.amount > 0]
    assert len(credits) <= 1
    assert len(charges) <= 1
    assert -sum(credits) <= old
    assert sum(charges) <= new
