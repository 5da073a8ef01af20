"""Proration to the second (pure, no I/O).

A line for the part of a period ``[start, end)`` that remains after ``at`` is
``amount * remaining_seconds / period_seconds``, rounded half-even once per line
with :func:`tollway.kernel.money.round_minor`. Seconds are whole: fractions of a
second are dropped from both counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tollway.kernel.money import round_minor

_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class ProrationLine:
    """One signed amount for part of a period; negative is a credit."""

    description: str
    amount: int
    period_start: datetime
    period_end: datetime


def seconds(start: datetime, end: datetime) -> int:
    """Whole seconds in ``[start, end)``."""
    return (end - start) // _SECOND


def remaining_fraction(start: datetime, end: datetime, at: datetime) -> Decimal:
    """The share of ``[start, end)`` left after ``at``, between 0 and 1."""
    total = seconds(start, end)
    if total <= 0:
        raise ValueError("the period is empty")
    clamped = min(max(at, start), end)
    return Decimal(seconds(clamped, end)) / Decimal(total)


def prorate(amount: int, start: datetime, end: datetime, at: datetime) -> int:
    """``amount`` for the time left in ``[start, end)`` after ``at``, rounded half-even."""
    total = seconds(start, end)
    if total <= 0:
        raise ValueError("the period is empty")
    clamped = min(max(at, start), end)
    return round_minor(Decimal(amount) * Decimal(seconds(clamped, end)) / Decimal(total))


def change_lines(
    *,
    old_amount: int,
    new_amount: int,
    start: datetime,
    end: datetime,
    at: datetime,
    old_label: str,
    new_label: str,
) -> list[ProrationLine]:
    """A credit for the unused time of the old price and a charge for the rest of the
    period at the new one. Zero-amount lines are left out."""
    lines = [
        ProrationLine(f"Unused time on {old_label}", -prorate(old_amount, start, end, at), at, end),
        ProrationLine(
            f"Remaining time on {new_label}", prorate(new_amount, start, end, at), at, end
        ),
    ]
    return [line for line in lines if line.amount != 0]
