"""The Stripe adapter against a local Stripe stand-in: the requests Tollway sends
(paths, form parameters, Idempotency-Key, Authorization) and how answers map."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import stripe
from fake_stripe_api import API_KEY, StripeApi

from tollway.payments import (
    ChargeRequest,
    CheckoutRequest,
    InvalidSignature,
    NewCustomer,
    PaymentDeclined,
    PortalRequest,
    ProviderRequestFailed,
    ProviderUnavailable,
    RefundRequest,
    StripeProvider,
    Unsupported,
    WebhookRejected,
)

WEBHOOK_SECRET = "whsec_test_tollway"
VISA = "tok_visa"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def api() -> Iterator[StripeApi]:
    with StripeApi() as started:
        assert isinstance(started, StripeApi)
        yield started


@pytest.fixture
def provider(api: StripeApi) -> StripeProvider:
    return StripeProvider(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, api_base=api.base_url)


def customer_with_card(provider: StripeProvider, token: str = VISA) -> tuple[str, str]:
    cus = provider.create_customer(NewCustomer("op_cus_1", "acme", "Acme", "billing@acme.test"))
    card = provider.attach_payment_method(operation_id="op_pm_1", customer_ref=cus, token=token)
    return cus, card.reference


def charge_request(cus: str, card: str, operation_id: str = "att_1") -> ChargeRequest:
    return ChargeRequest(
        operation_id=operation_id,
        amount=4900,
        currency="USD",
        customer_ref=cus,
        description="INV-2026-0001",
        due_date=date(2026, 1, 22),
        payment_method_ref=card,
        metadata={"invoice_id": "inv_1"},
    )


def test_customer_and_card_requests_carry_key_and_idempotency(
    api: StripeApi, provider: StripeProvider
) -> None:
    cus = provider.create_customer(NewCustomer("op_cus_1", "acme", "Acme", "billing@acme.test"))
    card = provider.attach_payment_method(
        operation_id="op_pm_1", customer_ref=cus, token="tok_visa"
    )

    create, make_pm, attach = api.requests
    assert (create.method, create.path) == ("POST", "/v1/customers")
    assert create.form == {
        "name": "Acme",
        "email": "billing@acme.test",
        "metadata[tollway_customer_id]": "acme",
    }
    assert create.headers["authorization"] == f"Bearer {API_KEY}"
    assert create.headers["idempotency-key"] == "tollway:op_cus_1:customer"
    assert create.headers["content-type"] == "application/x-www-form-urlencoded"
    assert create.headers["stripe-version"] == stripe.api_version
    assert (make_pm.path, make_pm.form) == (
        "/v1/payment_methods",
        {"type": "card", "card[token]": "tok_visa"},
    )
    assert make_pm.headers["idempotency-key"] == "tollway:op_pm_1:payment_method"
    assert (attach.path, attach.form) == (
        f"/v1/payment_methods/{card.reference}/attach",
        {"customer": cus},
    )
    assert attach.headers["idempotency-key"] == "tollway:op_pm_1:attach"
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 8, 2030)


def test_payment_methods_are_listed_and_detached(api: StripeApi, provider: StripeProvider) -> None:
    cus, card = customer_with_card(provider)
    master = provider.attach_payment_method(
        operation_id="op_pm_2", customer_ref=cus, token="tok_mastercard"
    )

    listed = provider.list_payment_methods(cus)
    provider.detach_payment_method(card)

    assert [(m.reference, m.brand, m.last4) for m in listed] == [
        (card, "visa", "4242"),
        (master.reference, "mastercard", "4444"),
    ]
    listing = api.requests[-2]
    assert (listing.method, listing.path, listing.query) == (
        "GET",
        f"/v1/customers/{cus}/payment_methods",
        {"type": "card", "limit": "100"},
    )
    assert api.requests[-1].path == f"/v1/payment_methods/{card}/detach"
    assert [m.reference for m in provider.list_payment_methods(cus)] == [master.reference]


def test_detaching_a_deleted_method_succeeds(api: StripeApi, provider: StripeProvider) -> None:
    cus, card = customer_with_card(provider)
    del api.payment_methods[card]  # deleted at Stripe meanwhile: resource_missing

    provider.detach_payment_method(card)

    assert api.requests[-1].path == f"/v1/payment_methods/{card}/detach"
    with pytest.raises(ProviderRequestFailed):
        provider.attach_payment_method(operation_id="op_pm_8", customer_ref=cus, token=card)


def test_a_pm_reference_is_attached_as_is(api: StripeApi, provider: StripeProvider) -> None:
    cus, card = customer_with_card(provider)
    provider.detach_payment_method(card)
    again = provider.attach_payment_method(operation_id="op_pm_9", customer_ref=cus, token=card)
    assert again.reference == card
    assert api.requests[-1].path == f"/v1/payment_methods/{card}/attach"


def test_an_off_session_charge_succeeds(api: StripeApi, provider: StripeProvider) -> None:
    cus, card = customer_with_card(provider)

    result = provider.charge(charge_request(cus, card))

    sent = api.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v1/payment_intents")
    assert sent.form == {
        "amount": "4900",
        "currency": "usd",
        "customer": cus,
        "payment_method": card,
        "off_session": "true",
        "confirm": "true",
        "description": "INV-2026-0001",
        "metadata[invoice_id]": "inv_1",
        "metadata[tollway_operation_id]": "att_1",
    }
    assert sent.headers["idempotency-key"] == "tollway:att_1:charge"
    assert result.status == "succeeded"
    assert result.provider_payment_id in api.payment_intents
    assert result.failure_code is None


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_chargeDeclined", "generic_decline"),
        ("tok_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_a_402_decline_is_a_failed_result(
    api: StripeApi, provider: StripeProvider, token: str, code: str
) -> None:
    cus, card = customer_with_card(provider, token)

    result = provider.charge(charge_request(cus, card))

    assert result.status == "failed"
    assert result.failure_code == code
    assert result.failure_message == "Your card was declined."
    assert result.provider_payment_id in api.payment_intents


def test_an_intent_left_requiring_a_payment_method_is_failed(provider: StripeProvider) -> None:
    cus, card = customer_with_card(provider, "tok_requiresPaymentMethod")
    result = provider.charge(charge_request(cus, card))
    assert (result.status, result.failure_code) == ("failed", "do_not_honor")
    assert result.failure_message == "Your card was declined."


def test_a_processing_intent_is_pending(provider: StripeProvider) -> None:
    cus, card = customer_with_card(provider, "tok_processing")
    assert provider.charge(charge_request(cus, card)).status == "pending"


def test_a_500_is_retried_with_the_same_idempotency_key(
    api: StripeApi, provider: StripeProvider
) -> None:
    cus, card = customer_with_card(provider)
    before = len(api.requests)
    api.fail_next(1)

    result = provider.charge(charge_request(cus, card))

    tries = api.requests[before:]
    assert [t.path for t in tries] == ["/v1/payment_intents"] * 2
    assert {t.headers["idempotency-key"] for t in tries} == {"tollway:att_1:charge"}
    assert result.status == "succeeded"
    assert len(api.payment_intents) == 1


def test_the_same_operation_charges_once(api: StripeApi, provider: StripeProvider) -> None:
    cus, card = customer_with_card(provider)
    first = provider.charge(charge_request(cus, card))
    again = provider.charge(charge_request(cus, card))
    other = provider.charge(charge_request(cus, card, "att_2"))
    assert again == first
    assert other.provider_payment_id != first.provider_payment_id
    assert len(api.payment_intents) == 2


def test_outages_after_the_retries_are_unavailable(
    api: StripeApi, provider: StripeProvider
) -> None:
    cus, card = customer_with_card(provider)
    api.fail_next(3)
    with pytest.raises(ProviderUnavailable):
        provider.charge(charge_request(cus, card))
    assert api.payment_intents == {}


def test_an_unreachable_stripe_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    provider = StripeProvider(
        api_key=API_KEY, webhook_secret=None, api_base=closed, max_network_retries=0
    )
    with pytest.raises(ProviderUnavailable):
        provider.create_customer(NewCustomer("op", "acme", "Acme"))


def test_refused_requests_are_request_failures(api: StripeApi) -> None:
    wrong_key = StripeProvider(api_key="sk_test_wrong", webhook_secret=None, api_base=api.base_url)
    with pytest.raises(ProviderRequestFailed):
        wrong_key.create_customer(NewCustomer("op", "acme", "Acme"))
    right = StripeProvider(api_key=API_KEY, webhook_secret=None, api_base=api.base_url)
    cus = right.create_customer(NewCustomer("op", "acme", "Acme"))
    with pytest.raises(ProviderRequestFailed) as unknown:
        right.attach_payment_method(operation_id="op2", customer_ref=cus, token="tok_unknown")
    assert unknown.value.code == "resource_missing"
    with pytest.raises(Unsupported):
        right.charge(replace(charge_request(cus, "pm_1"), method="boleto"))


def test_a_card_refused_on_attach_is_declined(provider: StripeProvider, api: StripeApi) -> None:
    cus = provider.create_customer(NewCustomer("op", "acme", "Acme"))
    api.failure = (
        402,
        {"error": {"type": "card_error", "code": "card_declined", "message": "Declined."}},
    )
    api.fail_next(1)
    with pytest.raises(PaymentDeclined) as declined:
        provider.attach_payment_method(operation_id="op_pm", customer_ref=cus, token="tok_visa")
    assert declined.value.code == "card_declined"


def test_refunds_whole_and_partial(api: StripeApi, provider: StripeProvider) -> None:
    cus, card = customer_with_card(provider)
    paid = provider.charge(charge_request(cus, card))
    assert paid.provider_payment_id is not None

    part = provider.refund(
        RefundRequest("ref_1", paid.provider_payment_id, "USD", amount=900, reason="goodwill")
    )
    sent = api.requests[-1]
    whole = provider.refund(RefundRequest("ref_2", paid.provider_payment_id, "USD"))

    assert (sent.path, sent.form) == (
        "/v1/refunds",
        {
            "payment_intent": paid.provider_payment_id,
            "amount": "900",
            "metadata[tollway_operation_id]": "ref_1",
            "metadata[reason]": "goodwill",
        },
    )
    assert sent.headers["idempotency-key"] == "tollway:ref_1:refund"
    assert "amount" not in api.requests[-1].form
    assert part.status == whole.status == "succeeded"
    assert part.provider_refund_id in api.refunds


def test_checkout_and_portal_sessions(api: StripeApi, provider: StripeProvider) -> None:
    cus, _ = customer_with_card(provider)
    checkout = provider.create_checkout_session(
        CheckoutRequest(
            operation_id="op_co",
            price_id="price_pro_monthly",
            client_reference_id="sub_123",
            success_url="https://app.acme.test/billing/ok",
            cancel_url="https://app.acme.test/billing",
            customer_ref=cus,
            metadata={"tollway_subscription_id": "sub_123"},
        )
    )
    sent = api.requests[-1]
    portal = provider.create_portal_session(
        PortalRequest("op_portal", cus, "https://app.acme.test/billing")
    )
    by_email = provider.create_checkout_session(
        CheckoutRequest(
            "op_co2",
            "price_pro_monthly",
            "sub_124",
            "https://a.test/ok",
            "https://a.test/no",
            customer_email="new@acme.test",
        )
    )

    assert (sent.path, sent.form) == (
        "/v1/checkout/sessions",
        {
            "mode": "subscription",
            "line_items[0][price]": "price_pro_monthly",
            "line_items[0][quantity]": "1",
            "client_reference_id": "sub_123",
            "success_url": "https://app.acme.test/billing/ok",
            "cancel_url": "https://app.acme.test/billing",
            "metadata[tollway_subscription_id]": "sub_123",
            "subscription_data[metadata][tollway_subscription_id]": "sub_123",
            "customer": cus,
        },
    )
    assert sent.headers["idempotency-key"] == "tollway:op_co:checkout"
    assert checkout.session_id in api.sessions
    assert checkout.url == f"https://checkout.stripe.com/c/pay/{checkout.session_id}"
    assert portal.startswith("https://billing.stripe.com/p/session/bps_test_")
    assert api.requests[-2].form == {"customer": cus, "return_url": "https://app.acme.test/billing"}
    assert api.requests[-2].headers["idempotency-key"] == "tollway:op_portal:portal"
    assert api.requests[-1].form["customer_email"] == "new@acme.test"
    assert "customer" not in api.requests[-1].form
    assert by_email.session_id in api.sessions


def event_body(event_type: str = "invoice.paid") -> str:
    return json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "api_version": stripe.api_version,
            "created": int(NOW.timestamp()),
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": {"id": "in_1", "object": "invoice", "status": "paid"}},
        }
    )


def signed(body: str, *, secret: str = WEBHOOK_SECRET, at: datetime = NOW) -> dict[str, str]:
    value = stripe.WebhookSignature.generate_signature_header(
        body, secret, timestamp=int(at.timestamp())
    )
    return {"Stripe-Signature": value}


def test_a_validly_signed_event_is_parsed(provider: StripeProvider) -> None:
    body = event_body()
    event = provider.parse_webhook(signed(body), body.encode(), NOW + timedelta(seconds=299))
    assert (event.provider, event.id, event.type) == ("stripe", "evt_1", "invoice.paid")
    assert event.data == {"id": "in_1", "object": "invoice", "status": "paid"}
    lower = {"stripe-signature": signed(body)["Stripe-Signature"]}
    assert provider.parse_webhook(lower, body.encode(), NOW).id == "evt_1"


@pytest.mark.parametrize(
    "case",
    ["tampered body", "wrong secret", "stale", "future", "missing", "malformed", "no v1"],
)
def test_bad_signatures_are_rejected_with_400(provider: StripeProvider, case: str) -> None:
    body = event_body()
    raw = body.encode()
    headers = signed(body)
    now = NOW
    if case == "tampered body":
        raw = body.replace("paid", "void").encode()
    elif case == "wrong secret":
        headers = signed(body, secret="whsec_other")
    elif case == "stale":
        now = NOW + timedelta(seconds=301)
    elif case == "future":
        now = NOW - timedelta(seconds=301)
    elif case == "missing":
        headers = {}
    elif case == "malformed":
        headers = {"Stripe-Signature": "t=soon,v1=abc"}
    elif case == "no v1":
        headers = {"Stripe-Signature": headers["Stripe-Signature"].replace("v1=", "v0=")}
    with pytest.raises(InvalidSignature) as rejected:
        provider.parse_webhook(headers, raw, now)
    assert rejected.value.status == 400


def test_a_signed_body_that_is_not_an_event_is_rejected(provider: StripeProvider) -> None:
    body = json.dumps({"id": "evt_1", "type": "invoice.paid"})
    with pytest.raises(WebhookRejected) as rejected:
        provider.parse_webhook(signed(body), body.encode(), NOW)
    assert rejected.value.status == 400


def test_no_webhook_secret_rejects_everything(api: StripeApi) -> None:
    provider = StripeProvider(api_key=API_KEY, webhook_secret=None, api_base=api.base_url)
    body = event_body()
    with pytest.raises(InvalidSignature):
        provider.parse_webhook(signed(body), body.encode(), NOW)


def test_the_sdk_accepts_what_we_accept(provider: StripeProvider) -> None:
    """Cross-check with the SDK's own verifier at the real time."""
    body = event_body()
    now = datetime.now(UTC).replace(microsecond=0)
    headers = signed(body, at=now)
    ours = provider.parse_webhook(headers, body.encode(), now)
    theirs = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], WEBHOOK_SECRET)
    assert (ours.id, ours.type) == (theirs.id, theirs.type)
