"""Invoice arithmetic (pure): line discounts, tax and totals, in integer minor units.

Each amount is rounded once, half-even (``kernel.money.round_minor``):
a line's discount on the line, the tax on the invoice's taxable amount.

- ``subtotal`` is the sum of the lines (credits and the plan-allocation coverage
  are negative lines);
- ``discount`` is the sum of the line discounts;
- exclusive tax: ``tax = (subtotal - discount) * rate``, ``total = subtotal -
  discount + tax``; inclusive tax: the prices hold it, ``tax = taxable - taxable /
  (1 + rate)`` and ``total = subtotal - discount``; reverse charge on prices that
  include a rate: they are reduced to net, ``tax = 0`` and ``total = taxable / (1 +
  rate)``;
- ``amount_due = total - credits_applied - amount_paid`` (never below zero).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tollway.invoicing.tax import TaxTreatment
from tollway.kernel.money import round_minor

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Line:
    """One invoice line before it is stored."""

    kind: str
    description: str
    amount: int
    quantity: Decimal = Decimal(1)
    unit_amount: Decimal | None = None
    discount: int = 0
    period_start: datetime | None = None
    period_end: datetime | None = None
    charge_id: str | None = None
    metric: str | None = None


def line_discount(amount: int, discount: Mapping[str, Any] | None) -> int:
    """What ``discount`` (a charge's snapshot) takes off ``amount``, same sign.

    ``percent_off`` takes that share, rounded half-even; ``amount_off`` takes up to
    the line's amount (a credit line gives back the discounted price, so its
    discount is negative)."""
    if discount is None or amount == 0:
        return 0
    percent = discount.get("percent_off")
    if percent is not None:
        return round_minor(Decimal(amount) * Decimal(str(percent)) / HUNDRED)
    off = discount.get("amount_off")
    if off is None:
        return 0
    taken = min(int(off), abs(amount))
    return taken if amount > 0 else -taken


@dataclass(frozen=True)
class Totals:
    subtotal: int
    discount: int
    tax: int
    total: int


def compute_totals(lines: Iterable[Line], tax: TaxTreatment) -> Totals:
    """Subtotal, discount, tax and total of ``lines`` under ``tax``."""
    items = list(lines)
    subtotal = sum(line.amount for line in items)
    discount = sum(line.discount for line in items)
    taxable = subtotal - discount
    if tax.net_of:
        net = round_minor(Decimal(taxable) * HUNDRED / (HUNDRED + tax.net_of))
        return Totals(subtotal, discount, 0, net)
    if tax.inclusive:
        net = round_minor(Decimal(taxable) * HUNDRED / (HUNDRED + tax.rate))
        return Totals(subtotal, discount, taxable - net, taxable)
    amount = round_minor(Decimal(taxable) * tax.rate / HUNDRED)
    return Totals(subtotal, discount, amount, taxable + amount)


def amount_due(total: int, credits_applied: int, amount_paid: int) -> int:
    """What is left to pay; an invoice whose credits exceed it owes nothing."""
    return max(0, total - credits_applied - amount_paid)
