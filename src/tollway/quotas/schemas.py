"""Quota inputs, outputs and the product settings section ``quotas``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tollway.kernel.validation import INPUT_CONFIG, PlainDecimal

Period = Literal["hourly", "daily", "monthly", "billing_period", "total"]
Enforcement = Literal["hard", "soft", "rate_limit"]
DEFAULT_THRESHOLDS = (80, 90, 100)
MAX_LIMIT = 10**15
Threshold = Annotated[int, Field(strict=True, ge=1, le=100)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=18, lt=Decimal(10) ** 15, allow_inf_nan=False)]


class QuotasSettings(BaseModel):
    """Product settings section ``quotas``."""

    model_config = ConfigDict(extra="forbid")

    grace_period_days: Annotated[int, Field(strict=True, ge=0, le=365)] = 7
    """Days a soft quota may stay exceeded before it is enforced as hard (a plan's
    ``features.grace_period_days`` overrides it)."""
    auto_suspend: bool = False
    """Suspend the customer (refuse every consume) when a grace period ends while
    the quota is still exceeded."""


class QuotaOverrideIn(BaseModel):
    """A customer's own quota on a metric, replacing the plan's."""

    model_config = INPUT_CONFIG

    limit: Annotated[int, Field(strict=True, ge=-1, le=MAX_LIMIT)]
    period: Period
    enforcement: Enforcement = "hard"
    thresholds: Annotated[list[Threshold], Field(max_length=10)] = Field(
        default_factory=lambda: list(DEFAULT_THRESHOLDS)
    )

    @model_validator(mode="after")
    def _sorted(self) -> QuotaOverrideIn:
        self.thresholds = sorted(set(self.thresholds))
        return self


class QuotaCheckIn(BaseModel):
    model_config = INPUT_CONFIG

    quantity: Quantity = Decimal(1)


class QuotaConsumeIn(BaseModel):
    model_config = INPUT_CONFIG

    quantity: Quantity = Decimal(1)
    event_id: Annotated[str | None, Field(min_length=1, max_length=255)] = None
    """Idempotency key: the same ``event_id`` is recorded and counted once."""


class ReinstateIn(BaseModel):
    model_config = INPUT_CONFIG

    reason: Annotated[str | None, Field(max_length=500)] = None


class CheckOut(BaseModel):
    allowed: bool
    used: PlainDecimal
    limit: int
    """``-1`` when unlimited."""
    remaining: PlainDecimal | None
    """``null`` when unlimited."""
    enforcement: Enforcement | None
    resets_at: datetime | None
    duplicate: bool = False


class QuotaStatusOut(BaseModel):
    used: PlainDecimal
    limit: int
    percent: PlainDecimal | None
    resets_at: datetime | None
    enforcement: Enforcement
    period: Period
    period_start: datetime
    source: Literal["plan", "override", "paused"]


class QuotasOut(BaseModel):
    customer_id: str
    plan_id: str | None
    suspended: bool
    quotas: dict[str, QuotaStatusOut]


class OverrideOut(BaseModel):
    customer_id: str
    metric: str
    limit: int
    period: Period
    enforcement: Enforcement
    thresholds: list[int]


class GracePeriodOut(BaseModel):
    in_grace_period: bool
    exceeded_quotas: list[str]
    grace_started: datetime | None
    grace_ends: datetime | None
    overage_percent: PlainDecimal | None
    recommended_action: Literal["none", "upgrade_plan", "upgrade_required", "contact_support"]
    suspended: bool
