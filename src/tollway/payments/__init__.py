"""Payments: the provider seam (Stripe, Asaas, manual bank transfer and an in-process
fake), payment methods, charging finalized invoices with retries on a schedule,
checkout and portal sessions, and inbound provider webhooks (docs/payments.md).

The providers package's surface is re-exported whole."""

from tollway.payments import providers as _providers
from tollway.payments.events import PAYMENT_FAILED, PAYMENT_REFUNDED, PAYMENT_SUCCEEDED
from tollway.payments.gateway import Providers
from tollway.payments.models import PaymentAttempt, StoredPaymentMethod
from tollway.payments.providers import *  # noqa: F403
from tollway.payments.schemas import (
    CheckoutSessionCreate,
    CheckoutSessionOut,
    PaymentAttemptOut,
    PaymentMethodCreate,
    PaymentMethodDeleted,
    PaymentMethodOut,
    PortalSessionCreate,
    PortalSessionOut,
    WebhookReceipt,
)
from tollway.payments.service.attempts import list_attempts
from tollway.payments.service.charging import stop_collection
from tollway.payments.service.inbound import handle_event, receive_webhook
from tollway.payments.service.links import collecting_provider
from tollway.payments.service.methods import (
    add_payment_method,
    delete_payment_method,
    list_payment_methods,
)
from tollway.payments.service.sessions import create_checkout_session, create_portal_session
from tollway.payments.settings import SECTION, PaymentsSettings, payments_settings

__all__ = [
    "PAYMENT_FAILED",
    "PAYMENT_REFUNDED",
    "PAYMENT_SUCCEEDED",
    "SECTION",
    "CheckoutSessionCreate",
    "CheckoutSessionOut",
    "PaymentAttempt",
    "PaymentAttemptOut",
    "PaymentMethodCreate",
    "PaymentMethodDeleted",
    "PaymentMethodOut",
    "PaymentsSettings",
    "PortalSessionCreate",
    "PortalSessionOut",
    "Providers",
    "StoredPaymentMethod",
    "WebhookReceipt",
    "add_payment_method",
    "collecting_provider",
    "create_checkout_session",
    "create_portal_session",
    "delete_payment_method",
    "handle_event",
    "list_attempts",
    "list_payment_methods",
    "payments_settings",
    "receive_webhook",
    "stop_collection",
]
__all__ += _providers.__all__
