"""Payment providers behind one protocol (:class:`PaymentProvider`), and the factory
that builds the one a deployment configured."""

from __future__ import annotations

from typing import Final

from tollway.kernel.settings import Settings
from tollway.payments.providers.asaas import AsaasProvider, NewSubscription, base_url_for
from tollway.payments.providers.base import (
    BankTransferInstructions,
    BoletoInstructions,
    ChargeMethod,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CheckoutRequest,
    CheckoutSession,
    Instructions,
    InvalidSignature,
    InvalidToken,
    NewCustomer,
    NotConfigured,
    PaymentDeclined,
    PaymentMethod,
    PaymentProvider,
    PixInstructions,
    PortalRequest,
    ProviderError,
    ProviderEvent,
    ProviderRequestFailed,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    RefundStatus,
    Unsupported,
    WebhookRejected,
    idempotency_key,
)
from tollway.payments.providers.fake import FakeProvider
from tollway.payments.providers.manual import ManualProvider
from tollway.payments.providers.stripe import StripeProvider

PROVIDERS: Final = ("fake", "manual", "stripe", "asaas")


def require_allowed(name: str, settings: Settings) -> None:
    """Refuse the in-process fake outside test mode: it "charges" nothing, so in a live
    deployment it would mark invoices paid for free (:class:`NotConfigured`)."""
    if name == "fake" and not settings.test_mode:
        raise NotConfigured(
            "the fake provider exists only in test mode (TOLLWAY_TEST_MODE=true); "
            "it collects no money"
        )


def provider_for(name: str, settings: Settings) -> PaymentProvider:
    """A new provider ``name`` configured from ``settings``.

    Build it once per process and keep it: adapters hold HTTP connection pools, and
    the fake holds its customers and cards in memory. Raises :class:`NotConfigured`
    for an unknown name, missing keys, or in self-hosted mode
    (``TOLLWAY_SAAS_MODE=false``), where there are no payments at all.
    """
    if not settings.saas_mode:
        raise NotConfigured("payments are off in self-hosted mode (TOLLWAY_SAAS_MODE=false)")
    require_allowed(name, settings)
    if name == "fake":
        return FakeProvider()
    if name == "manual":
        return ManualProvider()
    if name == "stripe":
        if settings.stripe_secret_key is None:
            raise NotConfigured("set TOLLWAY_STRIPE_SECRET_KEY to use Stripe")
        secret = settings.stripe_webhook_secret
        return StripeProvider(
            api_key=settings.stripe_secret_key.get_secret_value(),
            webhook_secret=secret.get_secret_value() if secret else None,
            api_base=settings.stripe_api_base,
        )
    if name == "asaas":
        if settings.asaas_api_key is None:
            raise NotConfigured("set TOLLWAY_ASAAS_API_KEY to use Asaas")
        token = settings.asaas_webhook_token
        return AsaasProvider(
            api_key=settings.asaas_api_key.get_secret_value(),
            webhook_token=token.get_secret_value() if token else None,
            base_url=settings.asaas_api_base or base_url_for(settings.asaas_env),
        )
    raise NotConfigured(f"unknown payment provider {name!r}; one of {', '.join(PROVIDERS)}")


__all__ = [
    "PROVIDERS",
    "AsaasProvider",
    "BankTransferInstructions",
    "BoletoInstructions",
    "ChargeMethod",
    "ChargeRequest",
    "ChargeResult",
    "ChargeStatus",
    "CheckoutRequest",
    "CheckoutSession",
    "FakeProvider",
    "Instructions",
    "InvalidSignature",
    "InvalidToken",
    "ManualProvider",
    "NewCustomer",
    "NewSubscription",
    "NotConfigured",
    "PaymentDeclined",
    "PaymentMethod",
    "PaymentProvider",
    "PixInstructions",
    "PortalRequest",
    "ProviderError",
    "ProviderEvent",
    "ProviderRequestFailed",
    "ProviderUnavailable",
    "RefundRequest",
    "RefundResult",
    "RefundStatus",
    "StripeProvider",
    "Unsupported",
    "WebhookRejected",
    "idempotency_key",
    "provider_for",
    "require_allowed",
]
