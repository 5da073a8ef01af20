"""The ``subscriptions`` section of product settings."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tollway.kernel.context import Context
from tollway.kernel.settings import get_settings
from tollway.kernel.tenancy import read_settings

SECTION = "subscriptions"

Months = Annotated[int, Field(strict=True, ge=1, le=36)]


class RetentionOfferSpec(BaseModel):
    """An offer made to a customer about to cancel: a discount or a pause."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["discount", "pause"]
    discount_percent: Decimal | None = Field(default=None, gt=0, le=100)
    duration_months: Months | None = None
    pause_months: Months | None = None


DEFAULT_OFFERS = [
    RetentionOfferSpec(type="discount", discount_percent=Decimal(25), duration_months=3),
    RetentionOfferSpec(type="pause", pause_months=3),
]


class SubscriptionSettings(BaseModel):
    """How a product's subscriptions bill, renew, cancel and pause."""

    model_config = ConfigDict(extra="forbid")

    billing_mode: Literal["anniversary", "calendar"] = "anniversary"
    billing_day: Annotated[int, Field(strict=True, ge=1, le=28)] = 1
    """Local day of the month calendar periods start on."""
    allow_multiple_subscriptions: bool = False
    retention_offers: list[RetentionOfferSpec] = Field(
        default_factory=lambda: [o.model_copy() for o in DEFAULT_OFFERS], max_length=10
    )
    retention_offer_ttl_days: Annotated[int, Field(strict=True, ge=1, le=90)] = 7
    prorate_on_immediate_cancel: bool = True
    paused_quota_policy: Literal["block", "free_plan", "keep"] = "block"
    """What quotas allow while paused: nothing, the default free plan's, or the plan's."""
    trial_will_end_days: Annotated[int, Field(strict=True, ge=0, le=30)] = 3
    payments_enabled: bool | None = None
    """Whether a trial needs a payment method to convert; ``null`` follows the
    deployment's ``TOLLWAY_SAAS_MODE``."""


def subscription_settings(ctx: Context) -> SubscriptionSettings:
    """The product's ``subscriptions`` settings, defaults filled in."""
    return read_settings(ctx, SECTION, SubscriptionSettings)


def payments_enabled(ctx: Context) -> bool:
    """Whether payments are collected: the product's setting, else the deployment's."""
    configured = subscription_settings(ctx).payments_enabled
    return get_settings().saas_mode if configured is None else configured
