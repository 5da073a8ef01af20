"""Input and output shapes of payment methods, attempts, checkout and portal sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from tollway.kernel.validation import INPUT_CONFIG, Code
from tollway.payments.models import PaymentAttempt, StoredPaymentMethod
from tollway.payments.settings import ProviderName

ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)]


class PaymentMethodCreate(BaseModel):
    """``POST /v1/customers/{external_id}/payment-methods``: a client-side token
    (``pm_...`` / ``tok_...`` from Stripe.js, an Asaas card token, a fake test token)."""

    model_config = INPUT_CONFIG

    token: Token
    provider: ProviderName | None = None
    """Default: the product's ``payments.provider``."""
    set_as_default: bool = False
    """The first method of a customer is the default whatever this says."""


class PaymentMethodOut(BaseModel):
    id: str
    customer_id: str
    provider: str
    reference: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    is_default: bool
    created_at: datetime

    @classmethod
    def of(cls, method: StoredPaymentMethod, external_id: str) -> PaymentMethodOut:
        return cls(
            id=method.id,
            customer_id=external_id,
            provider=method.provider,
            reference=method.reference,
            brand=method.brand,
            last4=method.last4,
            exp_month=method.exp_month,
            exp_year=method.exp_year,
            is_default=method.is_default,
            created_at=method.created_at,
        )


class PaymentMethodDeleted(BaseModel):
    id: str
    deleted: bool = True


class PaymentAttemptOut(BaseModel):
    """One try to collect an invoice."""

    id: str
    invoice_id: str
    attempt: int
    provider: str
    payment_method_id: str | None
    amount: int
    currency: str
    status: str
    failure_code: str | None
    failure_message: str | None
    provider_payment_id: str | None
    instructions: dict[str, Any] | None
    amount_refunded: int
    attempted_at: datetime
    settled_at: datetime | None
    next_retry_at: datetime | None

    @classmethod
    def of(cls, attempt: PaymentAttempt) -> PaymentAttemptOut:
        return cls(
            id=attempt.id,
            invoice_id=attempt.invoice_id,
            attempt=attempt.number,
            provider=attempt.provider,
            payment_method_id=attempt.payment_method_id,
            amount=attempt.amount,
            currency=attempt.currency,
            status=attempt.status,
            failure_code=attempt.failure_code,
            failure_message=attempt.failure_message,
            provider_payment_id=attempt.provider_payment_id,
            instructions=attempt.instructions,
            amount_refunded=attempt.amount_refunded,
            attempted_at=attempt.attempted_at,
            settled_at=attempt.settled_at,
            next_retry_at=attempt.next_retry_at,
        )


class CheckoutSessionCreate(BaseModel):
    """``POST /v1/checkout-sessions``: a hosted page that starts a subscription."""

    model_config = INPUT_CONFIG

    customer_id: ExternalId
    plan_id: Code
    billing_cycle: Annotated[str, StringConstraints(pattern=r"^(monthly|quarterly|annual)$")] = (
        "monthly"
    )
    success_url: Url
    cancel_url: Url


class CheckoutSessionOut(BaseModel):
    checkout_url: str
    session_id: str


class PortalSessionCreate(BaseModel):
    """``POST /v1/portal-sessions``: a hosted page to manage cards and billing."""

    model_config = INPUT_CONFIG

    customer_id: ExternalId
    return_url: Url


class PortalSessionOut(BaseModel):
    portal_url: str


class WebhookReceipt(BaseModel):
    """The answer to a provider: the event was handled (or seen before)."""

    received: bool = True
    duplicate: bool = False
    outcome: str = Field(description="handled, ignored or duplicate")
