"""Input and output shapes of subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StrictBool, StringConstraints

from tollway.kernel.validation import INPUT_CONFIG, Code, MinorAmount, PlainDecimal
from tollway.subscriptions.models import (
    RetentionOffer,
    Subscription,
    SubscriptionAddOn,
    SubscriptionCharge,
)
from tollway.subscriptions.periods import BillingCycle

ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Quantity = Annotated[int, Field(strict=True, ge=1, le=1_000_000)]


class SubscriptionCreate(BaseModel):
    """``POST /v1/subscriptions``."""

    model_config = INPUT_CONFIG

    customer_id: ExternalId
    plan_id: Code
    billing_cycle: BillingCycle = "monthly"
    trial_days: Annotated[int, Field(strict=True, ge=0, le=730)] | None = None
    coupon_code: Code | None = None
    payment_method_id: Reference | None = None
    start_at: AwareDatetime | None = None
    price_override: MinorAmount | None = None


class SubscriptionChange(BaseModel):
    """``POST /v1/subscriptions/{id}/change``; ``immediate`` null = upgrades now,
    downgrades at period end."""

    model_config = INPUT_CONFIG

    new_plan_id: Code
    billing_cycle: BillingCycle | None = None
    prorate: StrictBool = True
    immediate: StrictBool | None = None
    price_override: MinorAmount | None = None


class SubscriptionCancel(BaseModel):
    """``POST /v1/subscriptions/{id}/cancel``."""

    model_config = INPUT_CONFIG

    reason: Annotated[str, StringConstraints(max_length=500)] | None = None
    feedback: Annotated[str, StringConstraints(max_length=5000)] | None = None
    cancel_immediately: StrictBool = False
    offer_retention: StrictBool = False


class SubscriptionPause(BaseModel):
    """``POST /v1/subscriptions/{id}/pause``."""

    model_config = INPUT_CONFIG

    pause_months: Annotated[int, Field(strict=True, ge=1, le=36)]


class TrialExtension(BaseModel):
    """``POST /v1/subscriptions/{id}/extend-trial``."""

    model_config = INPUT_CONFIG

    days: Annotated[int, Field(strict=True, ge=1, le=365)]


class AddOnAttach(BaseModel):
    """``POST /v1/subscriptions/{id}/addons``: sets the add-on's quantity."""

    model_config = INPUT_CONFIG

    addon_id: Code
    quantity: Quantity = 1


class EmptyBody(BaseModel):
    """A POST that takes no fields."""

    model_config = INPUT_CONFIG


class AddOnOut(BaseModel):
    addon_id: str
    interval: str
    quantity: int
    unit_amount: int
    currency: str
    created_at: datetime

    @classmethod
    def of(cls, row: SubscriptionAddOn) -> AddOnOut:
        return cls(
            addon_id=row.addon_code,
            interval=row.interval,
            quantity=row.quantity,
            unit_amount=row.unit_amount,
            currency=row.currency,
            created_at=row.created_at,
        )


class PendingChange(BaseModel):
    plan_id: str
    billing_cycle: str
    amount: int
    effective_at: datetime


class SubscriptionOut(BaseModel):
    """A subscription as the API shows it."""

    id: str
    customer_id: str
    plan_id: str
    billing_cycle: str
    status: str
    currency: str
    amount: int
    price_override: int | None
    billing_mode: str
    start_at: datetime
    trial_start: datetime | None
    trial_end: datetime | None
    current_period_start: datetime
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None
    cancel_reason: str | None
    cancel_feedback: str | None
    paused_at: datetime | None
    resumes_at: datetime | None
    payment_method_id: str | None
    coupon_code: str | None
    discount: dict[str, Any] | None
    pending_change: PendingChange | None
    addons: list[AddOnOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, sub: Subscription, addons: list[SubscriptionAddOn]) -> SubscriptionOut:
        return cls(
            id=sub.id,
            customer_id=sub.customer_external_id,
            plan_id=sub.plan_code,
            billing_cycle=sub.billing_cycle,
            status=sub.status,
            currency=sub.currency,
            amount=sub.amount,
            price_override=sub.price_override,
            billing_mode=sub.billing_mode,
            start_at=sub.start_at,
            trial_start=sub.trial_start,
            trial_end=sub.trial_end,
            current_period_start=sub.current_period_start,
            current_period_end=sub.current_period_end,
            cancel_at_period_end=sub.cancel_at_period_end,
            canceled_at=sub.canceled_at,
            ended_at=sub.ended_at,
            cancel_reason=sub.cancel_reason,
            cancel_feedback=sub.cancel_feedback,
            paused_at=sub.paused_at,
            resumes_at=sub.resumes_at,
            payment_method_id=sub.payment_method_id,
            coupon_code=sub.coupon_code,
            discount=sub.discount,
            pending_change=(
                PendingChange.model_validate(sub.pending_change) if sub.pending_change else None
            ),
            addons=[AddOnOut.of(a) for a in addons if a.removed_at is None],
            created_at=sub.created_at,
            updated_at=sub.updated_at,
        )


class ChargeOut(BaseModel):
    """One billable line: ``amount`` is negative for a credit."""

    id: str
    kind: str
    description: str
    amount: int
    currency: str
    quantity: int
    period_start: datetime
    period_end: datetime | None
    discount: dict[str, Any] | None = Field(
        default=None, description="The discount invoicing applies to this charge."
    )

    @classmethod
    def of(cls, charge: SubscriptionCharge) -> ChargeOut:
        return cls(
            id=charge.id,
            kind=charge.kind,
            description=charge.description,
            amount=charge.amount,
            currency=charge.currency,
            quantity=charge.quantity,
            period_start=charge.period_start,
            period_end=charge.period_end,
            discount=charge.discount,
        )


class ProrationOut(BaseModel):
    lines: list[ChargeOut]
    net: int


class ChangeOut(BaseModel):
    """The answer to a plan change: the subscription and what it made billable."""

    subscription: SubscriptionOut
    proration: ProrationOut


class OfferOut(BaseModel):
    id: str
    type: str
    discount_percent: PlainDecimal | None = None
    duration_months: int | None = None
    pause_months: int | None = None
    expires_at: datetime

    @classmethod
    def of(cls, offer: RetentionOffer) -> OfferOut:
        return cls(
            id=offer.id,
            type=offer.type,
            discount_percent=offer.discount_percent,
            duration_months=offer.duration_months,
            pause_months=offer.pause_months,
            expires_at=offer.expires_at,
        )


class RetentionOut(BaseModel):
    """Offers made instead of canceling; the subscription did not change."""

    status: Literal["pending_retention"] = "pending_retention"
    subscription_id: str
    offers: list[OfferOut]
