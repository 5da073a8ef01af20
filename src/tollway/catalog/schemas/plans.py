"""Plan shapes: prices, features, quotas and charges, and the plan itself.

Amounts are integer minor units; unit prices are exact decimals given as strings.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    PlainValidator,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from tollway.catalog.charges import ChargeSpec, Loc, raise_field_errors
from tollway.catalog.models import Plan
from tollway.kernel.validation import (
    INPUT_CONFIG,
    MAX_MINOR,
    Code,
    Count,
    Currency,
    MinorAmount,
    Name,
)

T = TypeVar("T")

Interval = Literal["monthly", "quarterly", "annual", "lifetime"]
QuotaPeriod = Literal["hourly", "daily", "monthly", "billing_period", "total"]
Enforcement = Literal["hard", "soft", "rate_limit"]

UNLIMITED = -1
"""A limit or numeric feature of ``-1`` means unlimited."""
DEFAULT_THRESHOLDS = (80, 90, 100)

Limit = Annotated[int, Field(strict=True, ge=UNLIMITED, le=MAX_MINOR)]
Threshold = Annotated[int, Field(strict=True, ge=1, le=100)]
Description = Annotated[str, StringConstraints(max_length=2000)]
FeatureKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$")]
FEATURE_TEXT_MAX = 500


def _feature_value(value: object) -> bool | int | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value > MAX_MINOR:
        raise ValueError(f"a numeric feature is at most {MAX_MINOR}")
    if isinstance(value, int):
        if value < UNLIMITED:
            raise ValueError("a numeric feature is an integer >= 0, or -1 for unlimited")
        return value
    if isinstance(value, str) and len(value) <= FEATURE_TEXT_MAX:
        return value
    raise ValueError(
        "must be a boolean, an integer (-1 = unlimited) "
        f"or a string of at most {FEATURE_TEXT_MAX} characters"
    )


FeatureValue = Annotated[
    bool | int | str,
    PlainValidator(_feature_value),
    WithJsonSchema(
        {"anyOf": [{"type": "boolean"}, {"type": "integer", "minimum": -1}, {"type": "string"}]}
    ),
]
Features = Annotated[dict[FeatureKey, FeatureValue], Field(max_length=100)]


def _unique_by(
    key: Callable[[T], Hashable], field: str, message: str
) -> Callable[[list[T]], list[T]]:
    """A list validator refusing a second item with the same ``key``, naming its ``field``."""

    def check(items: list[T]) -> list[T]:
        seen: set[Hashable] = set()
        errors: list[tuple[Loc, str]] = []
        for index, item in enumerate(items):
            if key(item) in seen:
                errors.append(((index, field), message))
            seen.add(key(item))
        raise_field_errors("list", errors)
        return items

    return check


class PriceSpec(BaseModel):
    """The plan's price for one billing interval; ``currency`` defaults to the plan's."""

    model_config = INPUT_CONFIG

    interval: Interval
    amount: MinorAmount
    currency: Currency | None = None
    stripe_price_id: str | None = Field(default=None, max_length=255)


class MinimumSpec(BaseModel):
    """A per-period minimum commitment in one currency (the plan's by default): when the
    period's usage charges come to less, the invoice tops them up to ``amount``."""

    model_config = INPUT_CONFIG

    amount: MinorAmount
    currency: Currency | None = None


class QuotaSpec(BaseModel):
    """A limit on a metric per period (``-1`` unlimited) and how it is enforced."""

    model_config = INPUT_CONFIG

    metric: Code
    limit: Limit
    period: QuotaPeriod
    enforcement: Enforcement = "hard"
    thresholds: Annotated[list[Threshold], Field(max_length=10)] = Field(
        default_factory=lambda: list(DEFAULT_THRESHOLDS),
        description="Usage percentages that fire an alert once per period.",
    )

    @model_validator(mode="after")
    def _sorted_thresholds(self) -> Self:
        self.thresholds = sorted(set(self.thresholds))
        return self


Prices = Annotated[
    list[PriceSpec],
    Field(max_length=20),
    AfterValidator(
        _unique_by(
            lambda p: (p.interval, p.currency), "interval", "a second price for this interval"
        )
    ),
]
Minimums = Annotated[
    list[MinimumSpec],
    Field(max_length=20),
    AfterValidator(
        _unique_by(lambda m: m.currency, "currency", "a second minimum in this currency")
    ),
]
Quotas = Annotated[
    list[QuotaSpec],
    Field(max_length=100),
    AfterValidator(
        _unique_by(lambda q: (q.metric, q.period), "metric", "a second quota for this metric")
    ),
]
Charges = Annotated[
    list[ChargeSpec],
    Field(max_length=100),
    AfterValidator(
        _unique_by(lambda c: (c.metric, c.currency), "metric", "a second charge for this metric")
    ),
]


class PlanCreate(BaseModel):
    """``POST /v1/plans``. ``currency`` defaults to the product's."""

    model_config = INPUT_CONFIG

    code: Code
    name: Name
    description: Description | None = None
    currency: Currency | None = None
    prices: Prices = Field(default_factory=list)
    trial_days: Count = 0
    features: Features = Field(default_factory=dict)
    quotas: Quotas = Field(default_factory=list)
    included_credits: MinorAmount = 0
    charges: Charges = Field(default_factory=list)
    minimum_commitment: Minimums = Field(default_factory=list)
    custom_pricing: StrictBool = False
    is_default: StrictBool = Field(
        default=False, description="The free plan customers fall back to; one per product."
    )
    active: StrictBool = True

    @model_validator(mode="after")
    def _default_is_active(self) -> Self:
        if self.is_default and not self.active:
            raise_field_errors(
                "PlanCreate", [(("is_default",), "an archived plan cannot be the default")]
            )
        return self


class PlanUpdate(BaseModel):
    """``PATCH /v1/plans/{code}``: only the fields sent change; lists are replaced whole."""

    model_config = INPUT_CONFIG

    name: Name | None = None
    description: Description | None = None
    currency: Currency | None = None
    prices: Prices | None = None
    trial_days: Count | None = None
    features: Features | None = None
    quotas: Quotas | None = None
    included_credits: MinorAmount | None = None
    charges: Charges | None = None
    minimum_commitment: Minimums | None = None
    custom_pricing: StrictBool | None = None
    is_default: StrictBool | None = None
    active: StrictBool | None = None


class PriceOut(BaseModel):
    interval: Interval
    amount: int
    currency: str
    stripe_price_id: str | None


class MinimumOut(BaseModel):
    amount: int
    currency: str


class PlanOut(BaseModel):
    """A plan as the API shows it; every price names its currency."""

    id: str
    code: str
    name: str
    description: str | None
    currency: str
    prices: list[PriceOut]
    trial_days: int
    features: dict[str, bool | int | str]
    quotas: list[QuotaSpec]
    included_credits: int
    charges: list[ChargeSpec]
    minimum_commitment: list[MinimumOut]
    custom_pricing: bool
    is_default: bool
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, plan: Plan) -> PlanOut:
        prices = [
            PriceOut(
                interval=p["interval"],
                amount=p["amount"],
                currency=p.get("currency") or plan.currency,
                stripe_price_id=p.get("stripe_price_id"),
            )
            for p in plan.prices
        ]
        return cls(
            id=plan.id,
            code=plan.code,
            name=plan.name,
            description=plan.description,
            currency=plan.currency,
            prices=prices,
            trial_days=plan.trial_days,
            features=plan.features,
            quotas=[QuotaSpec.model_validate(q) for q in plan.quotas],
            included_credits=plan.included_credits,
            charges=[ChargeSpec.model_validate(c) for c in plan.charges],
            minimum_commitment=[
                MinimumOut(amount=m["amount"], currency=m.get("currency") or plan.currency)
                for m in plan.minimum_commitment
            ],
            custom_pricing=plan.custom_pricing,
            is_default=plan.is_default,
            active=plan.active,
            created_at=plan.created_at,
            updated_at=plan.updated_at,
        )


def snapshot(out: BaseModel) -> dict[str, Any]:
    """An output shape as event data (JSON types only)."""
    return out.model_dump(mode="json")
