"""Usage charges: how a metric's number becomes money, and the rules of each model.

Unit prices are exact decimals in minor units given as strings (``"0.25"`` is a
quarter of a cent), like Stripe's ``unit_amount_decimal``. Line-item amounts are
integer minor units. Each charge model accepts only the fields it uses, so a
field that would silently do nothing is an error naming that field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from tollway.kernel.validation import (
    INPUT_CONFIG,
    MAX_COUNT,
    Code,
    Count,
    Currency,
    DecimalAmount,
    MinorAmount,
)

ChargeModel = Literal["standard", "graduated", "volume", "package", "percentage", "flat"]
PositiveInt = Annotated[int, Field(strict=True, gt=0, le=MAX_COUNT)]

MAX_TIERS = 50
HUNDRED = Decimal(100)

# The fields each model uses, besides ``metric`` and ``model``; the first are required.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "standard": ("unit_amount",),
    "graduated": ("tiers",),
    "volume": ("tiers",),
    "package": ("unit_amount", "package_size"),
    "percentage": ("rate",),
    "flat": ("amount",),
}
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "standard": ("included_units",),
    "graduated": ("included_units",),
    "volume": ("included_units",),
    "package": ("included_units",),
    "percentage": ("included_units", "fixed_amount", "min_amount", "max_amount"),
    "flat": (),
}
_MODEL_FIELDS = frozenset(
    field for fields in (*_REQUIRED.values(), *_OPTIONAL.values()) for field in fields
)


def _is_none(value: object) -> bool:
    return value is None


def _optional() -> Any:
    """A field a model may not use: absent from the output when null."""
    return Field(default=None, exclude_if=_is_none)


Loc = tuple[str | int, ...]
"""Where a problem is, relative to the model being validated: ``("tiers", 0, "up_to")``."""


def raise_field_errors(title: str, errors: list[tuple[Loc, str]]) -> None:
    """Raise one Pydantic error per ``(location, message)`` so each names its field."""
    if errors:
        raise ValidationError.from_exception_data(
            title,
            [
                InitErrorDetails(
                    type=PydanticCustomError("value_error", message), loc=loc, input=None
                )
                for loc, message in errors
            ],
        )


class Tier(BaseModel):
    """Units up to ``up_to`` (inclusive; null for the last tier) cost ``unit_amount`` each,
    plus ``flat_amount`` once when the tier is reached."""

    model_config = INPUT_CONFIG

    up_to: PositiveInt | None = None
    unit_amount: DecimalAmount | None = _optional()
    flat_amount: MinorAmount | None = _optional()

    @model_validator(mode="after")
    def _priced(self) -> Self:
        if self.unit_amount is None and self.flat_amount is None:
            raise ValueError("a tier needs unit_amount, flat_amount or both")
        return self


class ChargeSpec(BaseModel):
    """One usage charge of a plan, on the billable metric ``metric``.

    - ``standard``: ``unit_amount`` per unit.
    - ``graduated``: each unit priced by the tier it falls in.
    - ``volume``: every unit priced by the tier the total falls in.
    - ``package``: ``unit_amount`` per started package of ``package_size`` units.
    - ``percentage``: ``rate`` percent of each event's amount, plus ``fixed_amount``,
      bounded per event by ``min_amount`` and ``max_amount``.
    - ``flat``: ``amount`` once per period when there is any usage.

    ``included_units`` are free before any of the above applies. ``currency`` is the
    currency the amounts are in (null: the plan's), so a plan sold in several
    currencies has one charge per metric and currency.
    """

    model_config = INPUT_CONFIG

    metric: Code
    model: ChargeModel
    unit_amount: DecimalAmount | None = _optional()
    tiers: Annotated[list[Tier], Field(min_length=1, max_length=MAX_TIERS)] | None = _optional()
    package_size: PositiveInt | None = _optional()
    included_units: Count | None = _optional()
    rate: DecimalAmount | None = _optional()
    fixed_amount: DecimalAmount | None = _optional()
    min_amount: DecimalAmount | None = _optional()
    max_amount: DecimalAmount | None = _optional()
    amount: MinorAmount | None = _optional()
    currency: Currency | None = _optional()

    @model_validator(mode="after")
    def _fits_model(self) -> Self:
        errors: list[tuple[Loc, str]] = []
        required = _REQUIRED[self.model]
        allowed = set(required) | set(_OPTIONAL[self.model])
        for name in required:
            if getattr(self, name) is None:
                errors.append(((name,), f"required by the {self.model} model"))
        for name in sorted(_MODEL_FIELDS - allowed):
            if getattr(self, name) is not None:
                errors.append(((name,), f"not used by the {self.model} model"))
        if self.tiers is not None and "tiers" in allowed:
            errors.extend(_tier_errors(self.tiers))
        if self.rate is not None and not Decimal(0) < self.rate <= HUNDRED:
            errors.append((("rate",), "must be a percentage greater than 0 and at most 100"))
        if (
            self.min_amount is not None
            and self.max_amount is not None
            and self.max_amount < self.min_amount
        ):
            errors.append((("max_amount",), "must not be below min_amount"))
        raise_field_errors("ChargeSpec", errors)
        return self


def _tier_errors(tiers: list[Tier]) -> list[tuple[Loc, str]]:
    """Tiers ascend strictly and only the last, which must exist, is unbounded."""
    errors: list[tuple[Loc, str]] = []
    previous = 0
    for index, tier in enumerate(tiers):
        last = index == len(tiers) - 1
        if tier.up_to is None and not last:
            errors.append((("tiers", index, "up_to"), "only the last tier may be unbounded"))
        elif tier.up_to is not None and last:
            errors.append((("tiers", index, "up_to"), "the last tier must have up_to null"))
        if tier.up_to is not None:
            if tier.up_to <= previous:
                errors.append(
                    (("tiers", index, "up_to"), f"must be greater than the previous {previous}")
                )
            previous = max(previous, tier.up_to)
    return errors
