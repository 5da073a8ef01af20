"""Coupon shapes and the rules tying their fields together."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tollway.catalog.charges import Loc, PositiveInt, raise_field_errors
from tollway.catalog.models import Coupon
from tollway.kernel.validation import (
    INPUT_CONFIG,
    MAX_MINOR,
    Code,
    Currency,
    DecimalAmount,
    Instant,
    Name,
    PlainDecimal,
)

CouponDuration = Literal["once", "repeating", "forever"]
PositiveAmount = Annotated[int, Field(strict=True, gt=0, le=MAX_MINOR)]


class CouponCreate(BaseModel):
    """``POST /v1/coupons``: ``percent_off`` (0 < p <= 100) or ``amount_off`` with
    ``currency``; ``duration_months`` exactly when ``duration`` is ``repeating``.
    An empty ``plan_codes`` applies to every plan."""

    model_config = INPUT_CONFIG

    code: Code
    name: Name | None = None
    percent_off: DecimalAmount | None = None
    amount_off: PositiveAmount | None = None
    currency: Currency | None = None
    duration: CouponDuration
    duration_months: PositiveInt | None = None
    max_redemptions: PositiveInt | None = None
    expires_at: Instant | None = None
    plan_codes: Annotated[list[Code], Field(max_length=100)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        raise_field_errors("CouponCreate", coupon_errors(self))
        return self


def coupon_errors(coupon: CouponCreate) -> list[tuple[Loc, str]]:
    """The rules tying a coupon's fields together, each naming its field."""
    errors: list[tuple[Loc, str]] = []
    if coupon.percent_off is not None and coupon.amount_off is not None:
        errors.append((("amount_off",), "give percent_off or amount_off, not both"))
    elif coupon.percent_off is None and coupon.amount_off is None:
        errors.append((("percent_off",), "percent_off or amount_off is required"))
    if coupon.percent_off is not None and not Decimal(0) < coupon.percent_off <= Decimal(100):
        errors.append((("percent_off",), "must be greater than 0 and at most 100"))
    if coupon.amount_off is not None and coupon.currency is None:
        errors.append((("currency",), "required with amount_off"))
    if coupon.amount_off is None and coupon.currency is not None:
        errors.append((("currency",), "only used with amount_off"))
    if coupon.duration == "repeating" and coupon.duration_months is None:
        errors.append((("duration_months",), "required when duration is repeating"))
    if coupon.duration != "repeating" and coupon.duration_months is not None:
        errors.append((("duration_months",), "only used when duration is repeating"))
    for index, code in enumerate(coupon.plan_codes):
        if code in coupon.plan_codes[:index]:
            errors.append((("plan_codes", index), "lists a plan twice"))
    return errors


class CouponOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    code: str
    name: str | None
    percent_off: PlainDecimal | None
    amount_off: int | None
    currency: str | None
    duration: CouponDuration
    duration_months: int | None
    max_redemptions: int | None
    times_redeemed: int
    expires_at: datetime | None
    plan_codes: list[str]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, coupon: Coupon) -> CouponOut:
        return cls.model_validate(coupon)
