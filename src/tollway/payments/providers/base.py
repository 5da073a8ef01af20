"""The provider seam: one small protocol every payment provider implements.

Like httpx's transport seam, the rest of Tollway talks to a :class:`PaymentProvider`
and never to Stripe or Asaas directly; ``fake`` stands beside the real adapters for
tests and demos. Inputs and outputs are small frozen dataclasses. Amounts are
integer minor units with an ISO 4217 currency; card details are references, brand,
last four digits and expiry, never card numbers.

Every call that creates something carries ``operation_id``, Tollway's own id for the
operation (an invoice payment attempt, a refund, ...). Adapters derive the
provider's idempotency key from it (:func:`idempotency_key`), so retrying the same
operation, in the adapter or after a crash, can never charge twice.

Errors: a charge that the provider declines is an outcome, not an exception
(:class:`ChargeResult` with ``status="failed"``). Exceptions are
:class:`ProviderUnavailable` (network, timeouts, provider 5xx or rate limits: retry
later with the same ``operation_id``), :class:`PaymentDeclined` (a payment method
refused outside a charge, e.g. when attached), :class:`ProviderRequestFailed` (the
provider refused the request itself: credentials, parameters) and
:class:`Unsupported` (the provider has no such operation). Inbound webhooks that
fail verification raise :class:`WebhookRejected`, which renders as 400 (bad or
stale signature) or 401 (bad token).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

from tollway.kernel.errors import TollwayError, Unprocessable

ChargeStatus = Literal["succeeded", "failed", "pending"]
RefundStatus = Literal["succeeded", "failed", "pending"]
ChargeMethod = Literal["card", "boleto", "pix"]


def idempotency_key(operation_id: str, step: str) -> str:
    """The provider idempotency key for one ``step`` of Tollway operation ``operation_id``."""
    return f"tollway:{operation_id}:{step}"


@dataclass(frozen=True)
class NewCustomer:
    """A Tollway customer to create at the provider."""

    operation_id: str
    """Tollway's id for the creation; the internal customer id is the natural one
    (external ids repeat across products)."""
    external_id: str
    name: str
    email: str | None = None
    tax_id: str | None = None
    """CPF or CNPJ for Asaas (required there); ignored by Stripe."""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentMethod:
    """A stored payment method as the provider describes it. ``brand``, ``last4`` and
    the expiry are ``None`` when the provider does not disclose them."""

    reference: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None


@dataclass(frozen=True)
class ChargeRequest:
    """Charge an invoice off-session (the customer is not present)."""

    operation_id: str
    amount: int
    """Minor units of ``currency``."""
    currency: str
    customer_ref: str
    description: str
    due_date: date
    """The invoice's due date; boleto and PIX charges are payable until then."""
    method: ChargeMethod = "card"
    payment_method_ref: str | None = None
    """Required for card charges."""
    metadata: Mapping[str, str] = field(default_factory=dict)
    customer_ip: str | None = None
    """The customer's last known IP, for providers that ask for it (Asaas cards)."""


@dataclass(frozen=True)
class PixInstructions:
    """How to pay a PIX charge: the copy-and-paste code and its QR image (base64 PNG)."""

    payload: str
    qr_image_base64: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class BoletoInstructions:
    """How to pay a boleto: the typeable line (linha digitável) and barcode."""

    identification_field: str
    barcode: str | None
    nosso_numero: str | None
    url: str | None


@dataclass(frozen=True)
class BankTransferInstructions:
    """A manual bank transfer: the reference the payer quotes, and the account text."""

    reference: str
    text: str | None


Instructions = PixInstructions | BoletoInstructions | BankTransferInstructions


@dataclass(frozen=True)
class ChargeResult:
    """The outcome of a charge. ``pending`` charges settle later (a webhook or an admin)."""

    status: ChargeStatus
    provider_payment_id: str | None
    failure_code: str | None = None
    failure_message: str | None = None
    instructions: Instructions | None = None


@dataclass(frozen=True)
class RefundRequest:
    """Refund ``amount`` minor units of a payment (``None``: all of it)."""

    operation_id: str
    provider_payment_id: str
    currency: str
    amount: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RefundResult:
    status: RefundStatus
    provider_refund_id: str | None


@dataclass(frozen=True)
class CheckoutRequest:
    """A hosted checkout page that starts a subscription to ``price_id``."""

    operation_id: str
    price_id: str
    client_reference_id: str
    success_url: str
    cancel_url: str
    customer_ref: str | None = None
    customer_email: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckoutSession:
    url: str
    session_id: str


@dataclass(frozen=True)
class PortalRequest:
    """A hosted page where the customer manages their payment methods and billing."""

    operation_id: str
    customer_ref: str
    return_url: str


@dataclass(frozen=True)
class ProviderEvent:
    """A verified inbound webhook event. ``id`` is the provider's event id (the caller
    deduplicates by it); ``data`` is the object the event is about."""

    provider: str
    id: str
    type: str
    data: Mapping[str, Any]


class ProviderError(Exception):
    """A provider call that did not produce a result."""

    def __init__(self, provider: str, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.code = code
        self.message = message


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or answered 5xx or 429 after the adapter's own
    retries. Nothing is known to have happened: retry with the same ``operation_id``."""


class PaymentDeclined(ProviderError):
    """The payment method was refused (a decline, or authentication required)."""


class ProviderRequestFailed(ProviderError):
    """The provider refused the request itself (credentials, parameters, unknown ids):
    retrying the same request will not help."""


class Unsupported(Unprocessable):
    """The provider has no such operation (e.g. checkout on manual bank transfer)."""

    code = "provider_unsupported"
    title = "Not supported by the payment provider"


class NotConfigured(Unprocessable):
    """The provider is unknown, lacks its settings, or payments are off (self-hosted)."""

    code = "provider_not_configured"
    title = "Payment provider not configured"


class WebhookRejected(TollwayError):
    """An inbound webhook failed verification or is not an event; nothing was processed."""

    status = 400
    code = "webhook_rejected"
    title = "Webhook rejected"


class InvalidSignature(WebhookRejected):
    """Missing, malformed, wrong or stale signature: answer 400."""

    status = 400
    code = "invalid_signature"
    title = "Invalid webhook signature"


class InvalidToken(WebhookRejected):
    """Missing or wrong shared webhook token: answer 401."""

    status = 401
    code = "invalid_webhook_token"
    title = "Invalid webhook token"


class PaymentProvider(Protocol):
    """What Tollway needs from a payment provider. Implementations: ``fake``, ``manual``,
    ``stripe``, ``asaas`` (see :func:`tollway.payments.providers.provider_for`)."""

    name: str

    def create_customer(self, customer: NewCustomer) -> str:
        """Create the customer at the provider; return its reference."""
        ...

    def attach_payment_method(
        self, *, operation_id: str, customer_ref: str, token: str
    ) -> PaymentMethod:
        """Attach the payment method a client-side ``token`` stands for to the customer;
        the same ``operation_id`` again answers the same method (a retry attaches once)."""
        ...

    def list_payment_methods(self, customer_ref: str) -> list[PaymentMethod]:
        """The customer's stored payment methods at the provider."""
        ...

    def detach_payment_method(self, payment_method_ref: str) -> None:
        """Remove a stored payment method; it can no longer be charged. A method the
        provider no longer has counts as removed (no error)."""
        ...

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge an invoice off-session; a decline is a ``failed`` result."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund all or part of a payment."""
        ...

    def cancel_charge(self, provider_payment_id: str) -> None:
        """Cancel a pending charge (a boleto or PIX not paid yet) so that it can no
        longer be paid; :class:`ProviderRequestFailed` when it cannot be (already
        paid), :class:`Unsupported` where charges are never pending at the provider."""
        ...

    def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        """A hosted checkout page for a subscription (mode ``subscription``)."""
        ...

    def create_portal_session(self, request: PortalRequest) -> str:
        """The URL of a hosted customer portal session."""
        ...

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> ProviderEvent:
        """Verify an inbound webhook on its raw body at instant ``now`` and parse it, or
        raise :class:`WebhookRejected`."""
        ...


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` in ``headers``, whatever the case of its key."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
