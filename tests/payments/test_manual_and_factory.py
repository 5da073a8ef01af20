"""Manual bank transfer, the provider factory, and the package's public surface."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import SecretStr

import tollway.payments
from tollway.kernel.settings import Settings
from tollway.payments import (
    AsaasProvider,
    BankTransferInstructions,
    ChargeRequest,
    CheckoutRequest,
    FakeProvider,
    ManualProvider,
    NewCustomer,
    NotConfigured,
    PortalRequest,
    RefundRequest,
    StripeProvider,
    Unsupported,
    provider_for,
)
from tollway.payments.providers.asaas import PRODUCTION_URL, SANDBOX_URL, base_url_for


def test_manual_charges_wait_for_an_admin_with_transfer_instructions() -> None:
    manual = ManualProvider(instructions="IBAN DE89 3704 0044 0532 0130 00, Acme GmbH")
    ref = manual.create_customer(NewCustomer("op", "acme", "Acme"))

    result = manual.charge(
        ChargeRequest("att_1", 4900, "EUR", ref, "INV-2026-0001", date(2026, 2, 1))
    )

    assert result.status == "pending"
    assert result.provider_payment_id == "manual_att_1"
    assert result.instructions == BankTransferInstructions(
        "manual_att_1", "IBAN DE89 3704 0044 0532 0130 00, Acme GmbH"
    )
    assert manual.refund(RefundRequest("ref_1", "manual_att_1", "EUR")).status == "pending"
    assert manual.list_payment_methods(ref) == []


def test_manual_has_no_checkout_portal_cards_or_webhooks() -> None:
    manual = ManualProvider()
    attempts = [
        lambda: manual.create_checkout_session(
            CheckoutRequest("op", "price_1", "sub_1", "https://a.test/ok", "https://a.test/no")
        ),
        lambda: manual.create_portal_session(PortalRequest("op", "manual_acme", "https://a.test")),
        lambda: manual.attach_payment_method(operation_id="op", customer_ref="c", token="tok"),
        lambda: manual.detach_payment_method("pm_1"),
        lambda: manual.parse_webhook({}, b"{}", datetime(2026, 1, 1, tzinfo=UTC)),
    ]
    for attempt in attempts:
        with pytest.raises(Unsupported) as refused:
            attempt()
        assert refused.value.status == 422
        assert "admin marks invoices paid" in refused.value.detail


def settings(**values: object) -> Settings:
    return Settings(**values)  # type: ignore[arg-type]


def test_provider_for_builds_each_configured_provider() -> None:
    configured = settings(
        test_mode=True,
        stripe_secret_key=SecretStr("sk_test_1"),
        stripe_webhook_secret=SecretStr("whsec_1"),
        asaas_api_key=SecretStr("$aact_1"),
        asaas_env="production",
    )
    assert isinstance(provider_for("fake", configured), FakeProvider)
    assert isinstance(provider_for("manual", configured), ManualProvider)
    assert isinstance(provider_for("stripe", configured), StripeProvider)
    assert isinstance(provider_for("asaas", configured), AsaasProvider)
    assert base_url_for("sandbox") == SANDBOX_URL == "https://api-sandbox.asaas.com/v3"
    assert base_url_for("production") == PRODUCTION_URL == "https://api.asaas.com/v3"


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("stripe", {}, "TOLLWAY_STRIPE_SECRET_KEY"),
        ("asaas", {}, "TOLLWAY_ASAAS_API_KEY"),
        ("paypal", {}, "unknown payment provider"),
        ("fake", {"saas_mode": False}, "self-hosted"),
        ("fake", {"test_mode": False}, "only in test mode"),
    ],
)
def test_provider_for_refuses_what_is_not_configured(
    name: str, values: dict[str, object], message: str
) -> None:
    with pytest.raises(NotConfigured, match=message):
        provider_for(name, settings(**values))


def test_the_public_surface_holds_the_whole_seam() -> None:
    assert set(tollway.payments.__all__) >= {
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
    }
    assert all(hasattr(tollway.payments, name) for name in tollway.payments.__all__)
