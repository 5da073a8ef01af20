"""The pricing engine: a charge and a period's usage become explainable money lines.

Pure functions, no I/O. Usage is a ``Decimal`` (a metric's aggregate, e.g. 20
core-hours); amounts are integer minor units. Rules shared by every model:

- ``included_units`` are free and come off first: tiers, packages and unit
  prices apply to the *billable* units left (``percentage``: the first
  ``included_units`` events are free).
- Nothing billable, no lines: a charge with no billable usage costs 0 and shows
  nothing (a tier's or a flat charge's ``flat_amount`` is owed only once usage
  reaches it).
- Each line is rounded half-even to integer minor units exactly once
  (:func:`~tollway.kernel.money.round_minor`) and a charge's amount is the sum
  of its lines, so every line of an invoice adds up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Any, TypeVar

from tollway.catalog.charges import HUNDRED, ChargeSpec, Tier
from tollway.kernel.money import round_minor

ZERO = Decimal(0)
TIMES = "\u00d7"  # the multiplication sign
DASH = "\u2013"  # an en dash, for ranges
SHOWN_PLACES = 6
"""Decimals of a quantity in a line's description (the amount uses every digit)."""
PRECISION = 80
"""Digits kept while pricing, so the one rounding per line is the only one."""
T = TypeVar("T")


@dataclass(frozen=True)
class PriceLine:
    """One explainable line of a charge: ``quantity`` times ``unit_amount`` (+ a flat part)."""

    description: str
    quantity: Decimal
    unit_amount: Decimal | None
    amount: int
    tier: int | None = None


@dataclass(frozen=True)
class Priced:
    """A charge priced on ``units`` of its metric; ``amount`` is the sum of the lines."""

    metric: str
    units: Decimal
    billable_units: Decimal
    lines: tuple[PriceLine, ...]

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.lines)


def price(charge: ChargeSpec, units: Decimal, event_amounts: Sequence[Decimal] = ()) -> Priced:
    """Price ``units`` of ``charge.metric`` with the charge's model.

    ``event_amounts`` (the metric's per-event field values, in event order) are
    read only by the ``percentage`` model, whose ``billable_units`` are the
    events it charges; every other model charges ``units`` minus the included
    units (never below zero).
    """
    with localcontext(prec=PRECISION):
        if charge.model == "percentage":
            return _percentage(charge, units, event_amounts)
        billable = max(units - Decimal(charge.included_units or 0), ZERO)
        lines: tuple[PriceLine, ...] = ()
        if billable > 0:
            lines = _LINES[charge.model](charge, billable)
        return Priced(metric=charge.metric, units=units, billable_units=billable, lines=lines)


def charges_in(
    plan_charges: Sequence[Mapping[str, Any] | ChargeSpec], currency: str, plan_currency: str
) -> list[ChargeSpec]:
    """The plan's charges that price in ``currency`` (a charge without one is in the plan's)."""
    specs = (c if isinstance(c, ChargeSpec) else ChargeSpec.model_validate(c) for c in plan_charges)
    return [spec for spec in specs if (spec.currency or plan_currency) == currency]


def minimum_top_up(minimum: int, charged: int) -> int:
    """What a period owes on top of ``charged`` to reach its minimum commitment."""
    return max(0, minimum - charged)


def _text(number: Decimal | int, places: int | None = None) -> str:
    """``1500`` -> ``1,500``; ``Decimal("0.250")`` -> ``0.25`` (no exponent); with
    ``places``, at most that many decimals (a quantity such as 20.3333… core-hours)."""
    value = Decimal(number)
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    whole = value == value.to_integral_value()
    value = value.quantize(Decimal(1)) if whole else value.normalize()
    return f"{value:,f}"


def _standard(charge: ChargeSpec, billable: Decimal) -> tuple[PriceLine, ...]:
    unit = _required(charge.unit_amount)
    return (
        PriceLine(
            description=f"{_text(billable, SHOWN_PLACES)} {TIMES} {_text(unit)}",
            quantity=billable,
            unit_amount=unit,
            amount=round_minor(billable * unit),
        ),
    )


def _tier_line(
    index: int, tier: Tier, lower: int, quantity: Decimal, prefix: str = ""
) -> PriceLine:
    """The line of tier ``index`` (0-based) pricing ``quantity`` units, flat part included."""
    span = f"{_text(lower + 1)}{DASH}{_text(tier.up_to)}" if tier.up_to else f"above {_text(lower)}"
    parts = []
    if tier.unit_amount is not None:
        parts.append(f"{prefix}{TIMES} {_text(tier.unit_amount)}")
    if tier.flat_amount:
        parts.append(f"{_text(tier.flat_amount)} flat")
    description = f"Tier {index + 1} ({span}) " + " + ".join(parts)
    unit = tier.unit_amount or ZERO
    return PriceLine(
        description=description,
        quantity=quantity,
        unit_amount=tier.unit_amount,
        amount=round_minor(quantity * unit + (tier.flat_amount or 0)),
        tier=index + 1,
    )


def _bounds(tiers: Sequence[Tier]) -> list[tuple[int, Decimal | None]]:
    """Each tier's exclusive lower bound and inclusive upper bound (None: unbounded)."""
    bounds: list[tuple[int, Decimal | None]] = []
    lower = 0
    for tier in tiers:
        bounds.append((lower, None if tier.up_to is None else Decimal(tier.up_to)))
        lower = tier.up_to or lower
    return bounds


def _graduated(charge: ChargeSpec, billable: Decimal) -> tuple[PriceLine, ...]:
    tiers = _required(charge.tiers)
    lines = []
    for index, (tier, (lower, upper)) in enumerate(zip(tiers, _bounds(tiers), strict=True)):
        if billable <= lower:
            break
        top = billable if upper is None else min(billable, upper)
        lines.append(_tier_line(index, tier, lower, top - lower))
    return tuple(lines)


def _volume(charge: ChargeSpec, billable: Decimal) -> tuple[PriceLine, ...]:
    tiers = _required(charge.tiers)
    for index, (tier, (lower, upper)) in enumerate(zip(tiers, _bounds(tiers), strict=True)):
        if upper is None or billable <= upper:
            return (_tier_line(index, tier, lower, billable, prefix="all units "),)
    raise AssertionError("the last tier is unbounded")  # ChargeSpec validates it


def _package(charge: ChargeSpec, billable: Decimal) -> tuple[PriceLine, ...]:
    unit = _required(charge.unit_amount)
    size = _required(charge.package_size)
    packages = (billable / size).to_integral_value(rounding=ROUND_CEILING)
    return (
        PriceLine(
            description=f"{_text(packages)} {TIMES} package of {_text(size)} at {_text(unit)}",
            quantity=packages,
            unit_amount=unit,
            amount=round_minor(packages * unit),
        ),
    )


def _flat(charge: ChargeSpec, billable: Decimal) -> tuple[PriceLine, ...]:
    amount = _required(charge.amount)
    return (
        PriceLine(description="Flat fee", quantity=Decimal(1), unit_amount=None, amount=amount),
    )


def _percentage(charge: ChargeSpec, units: Decimal, event_amounts: Sequence[Decimal]) -> Priced:
    """``rate``% of each event's amount plus ``fixed_amount``, each event's fee bounded by
    ``min_amount``/``max_amount`` and never negative; the first ``included_units`` events
    are free. One line, rounded once on the sum of the exact per-event fees."""
    rate = _required(charge.rate) / HUNDRED
    fixed = charge.fixed_amount or ZERO
    billed = event_amounts[charge.included_units or 0 :]
    total = ZERO
    for event_amount in billed:
        fee = event_amount * rate + fixed
        if charge.min_amount is not None:
            fee = max(fee, charge.min_amount)
        if charge.max_amount is not None:
            fee = min(fee, charge.max_amount)
        total += max(fee, ZERO)
    count = Decimal(len(billed))
    lines: tuple[PriceLine, ...] = ()
    if billed:
        description = (
            f"{_text(_required(charge.rate))}% of {_text(sum(billed, ZERO), SHOWN_PLACES)}"
        )
        if fixed:
            description += f" + {_text(fixed)} per event"
        bounds = [
            f"{name} {_text(value)}"
            for name, value in (("min", charge.min_amount), ("max", charge.max_amount))
            if value is not None
        ]
        if bounds:
            description += f" ({', '.join(bounds)} per event)"
        description += f", {_text(count)} events"
        lines = (
            PriceLine(
                description=description,
                quantity=count,
                unit_amount=None,
                amount=round_minor(total),
            ),
        )
    return Priced(metric=charge.metric, units=units, billable_units=count, lines=lines)


def _required(value: T | None) -> T:
    """A field the charge's model requires (ChargeSpec validated that it is set)."""
    assert value is not None
    return value


_LINES = {
    "standard": _standard,
    "graduated": _graduated,
    "volume": _volume,
    "package": _package,
    "flat": _flat,
}
