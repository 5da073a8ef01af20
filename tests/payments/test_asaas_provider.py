"""The Asaas adapter against a local Asaas stand-in: headers, exact decimal values,
card, boleto and PIX charges, refunds, subscriptions, errors and webhook tokens."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fake_asaas_api import API_KEY, BOLETO_LINE, DECLINED, PIX_PAYLOAD, AsaasApi

from tollway.payments import (
    AsaasProvider,
    BoletoInstructions,
    ChargeRequest,
    CheckoutRequest,
    InvalidToken,
    NewCustomer,
    NewSubscription,
    PixInstructions,
    PortalRequest,
    ProviderRequestFailed,
    ProviderUnavailable,
    RefundRequest,
    Unsupported,
    WebhookRejected,
)

WEBHOOK_TOKEN = "whk_asaas_tollway_0123456789"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
DUE = date(2026, 1, 22)
CARD = "cc_tok_visa"


@pytest.fixture
def api() -> Iterator[AsaasApi]:
    with AsaasApi() as started:
        assert isinstance(started, AsaasApi)
        yield started


@pytest.fixture
def provider(api: AsaasApi) -> Iterator[AsaasProvider]:
    client = AsaasProvider(
        api_key=API_KEY, webhook_token=WEBHOOK_TOKEN, base_url=f"{api.base_url}/v3"
    )
    yield client
    client.close()


def new_customer(provider: AsaasProvider) -> str:
    return provider.create_customer(
        NewCustomer("cus_internal_1", "acme-br", "Acme Ltda", "financeiro@acme.test", "24971563792")
    )


def charge(cus: str, operation_id: str = "att_1", **extra: object) -> ChargeRequest:
    return ChargeRequest(
        operation_id=operation_id,
        amount=4990,
        currency="BRL",
        customer_ref=cus,
        description="INV-2026-0001",
        due_date=DUE,
        **extra,  # type: ignore[arg-type]
    )


def posted(api: AsaasApi, path: str) -> list[dict[str, object]]:
    return [
        json.loads(r.body, parse_float=Decimal)
        for r in api.requests
        if r.method == "POST" and r.path == path
    ]


def test_customers_are_created_once_with_the_documented_fields(
    api: AsaasApi, provider: AsaasProvider
) -> None:
    first = new_customer(provider)
    again = new_customer(provider)

    assert first == again
    assert posted(api, "/v3/customers") == [
        {
            "name": "Acme Ltda",
            "externalReference": "cus_internal_1",
            "cpfCnpj": "24971563792",
            "email": "financeiro@acme.test",
        }
    ]
    lookup = api.requests[0]
    assert (lookup.method, lookup.path, lookup.query) == (
        "GET",
        "/v3/customers",
        {"externalReference": "cus_internal_1", "limit": "1"},
    )
    for request in api.requests:
        assert request.headers["access_token"] == API_KEY
        assert request.headers["user-agent"] == "Tollway/0.1.0"
    assert api.requests[1].headers["content-type"] == "application/json"


def test_a_card_charge_with_a_token_is_paid(api: AsaasApi, provider: AsaasProvider) -> None:
    cus = new_customer(provider)

    result = provider.charge(charge(cus, payment_method_ref=CARD, customer_ip="203.0.113.7"))

    assert posted(api, "/v3/payments") == [
        {
            "customer": cus,
            "billingType": "CREDIT_CARD",
            "value": Decimal("49.90"),
            "dueDate": "2026-01-22",
            "description": "INV-2026-0001",
            "externalReference": "att_1",
            "creditCardToken": CARD,
            "remoteIp": "203.0.113.7",
        }
    ]
    assert b'"value":49.90' in next(
        r.body for r in api.requests if r.path == "/v3/payments" and r.method == "POST"
    )
    assert result.status == "succeeded"
    assert result.provider_payment_id in api.items["payments"]
    assert result.instructions is None


def test_a_declined_card_is_a_failed_result(api: AsaasApi, provider: AsaasProvider) -> None:
    cus = new_customer(provider)
    result = provider.charge(charge(cus, payment_method_ref=DECLINED))
    assert (result.status, result.provider_payment_id, result.failure_code) == (
        "failed",
        None,
        "invalid_creditCard",
    )
    assert result.failure_message is not None
    assert "não autorizada" in result.failure_message
    assert api.items["payments"] == {}


def test_a_retried_charge_finds_the_first_payment(api: AsaasApi, provider: AsaasProvider) -> None:
    cus = new_customer(provider)
    first = provider.charge(charge(cus, payment_method_ref=CARD))
    again = provider.charge(charge(cus, payment_method_ref=CARD))
    assert again == first
    assert len(posted(api, "/v3/payments")) == 1


def test_a_boleto_is_pending_with_its_identification_line(
    api: AsaasApi, provider: AsaasProvider
) -> None:
    cus = new_customer(provider)

    result = provider.charge(charge(cus, method="boleto"))

    assert posted(api, "/v3/payments")[0]["billingType"] == "BOLETO"
    assert result.status == "pending"
    assert result.instructions == BoletoInstructions(
        identification_field=BOLETO_LINE,
        barcode="00191878900000049000000002759288002193297817",
        nosso_numero="6543",
        url=f"https://sandbox.asaas.com/b/pdf/{result.provider_payment_id}",
    )
    assert api.requests[-1].path == f"/v3/payments/{result.provider_payment_id}/identificationField"


def test_a_pix_charge_is_pending_with_its_qr_code(api: AsaasApi, provider: AsaasProvider) -> None:
    cus = new_customer(provider)

    result = provider.charge(charge(cus, method="pix"))

    assert posted(api, "/v3/payments")[0]["billingType"] == "PIX"
    assert result.status == "pending"
    assert isinstance(result.instructions, PixInstructions)
    assert result.instructions.payload == PIX_PAYLOAD
    assert result.instructions.qr_image_base64 is not None
    assert result.instructions.qr_image_base64.startswith("iVBORw0KGgo")
    # 23:59:59 in Brasília (UTC-3) on the due date
    assert result.instructions.expires_at == datetime(2026, 1, 23, 2, 59, 59, tzinfo=UTC)
    assert api.requests[-1].path == f"/v3/payments/{result.provider_payment_id}/pixQrCode"


def test_refunds_partial_then_whole(api: AsaasApi, provider: AsaasProvider) -> None:
    cus = new_customer(provider)
    paid = provider.charge(charge(cus, payment_method_ref=CARD))
    assert paid.provider_payment_id is not None

    part = provider.refund(
        RefundRequest("ref_1", paid.provider_payment_id, "BRL", amount=990, reason="desconto")
    )
    rest = provider.refund(RefundRequest("ref_2", paid.provider_payment_id, "BRL", amount=4000))

    path = f"/v3/payments/{paid.provider_payment_id}/refund"
    assert posted(api, path) == [
        {"value": Decimal("9.90"), "description": "desconto"},
        {"value": Decimal("40.00")},
    ]
    assert part.status == "pending"
    assert rest.status == "succeeded"
    with pytest.raises(ProviderRequestFailed) as refused:
        provider.refund(RefundRequest("ref_3", paid.provider_payment_id, "BRL"))
    assert refused.value.code == "invalid_action"


def test_subscriptions_are_created_once(api: AsaasApi, provider: AsaasProvider) -> None:
    cus = new_customer(provider)
    wanted = NewSubscription(
        operation_id="sub_tollway_1",
        customer_ref=cus,
        amount=9900,
        cycle="MONTHLY",
        next_due_date=date(2026, 2, 1),
        description="Plano Pro",
        method="card",
        payment_method_ref=CARD,
    )

    first = provider.create_subscription(wanted)
    again = provider.create_subscription(wanted)

    assert first == again
    assert posted(api, "/v3/subscriptions") == [
        {
            "customer": cus,
            "billingType": "CREDIT_CARD",
            "value": Decimal("99.00"),
            "nextDueDate": "2026-02-01",
            "cycle": "MONTHLY",
            "description": "Plano Pro",
            "externalReference": "sub_tollway_1",
            "creditCardToken": CARD,
        }
    ]


def test_errors_map_to_provider_errors(api: AsaasApi, provider: AsaasProvider) -> None:
    api.fail_next(1)
    with pytest.raises(ProviderUnavailable):
        new_customer(provider)
    with pytest.raises(ProviderRequestFailed) as invalid:
        provider.create_customer(NewCustomer("op", "no-doc", "Sem Documento"))
    assert invalid.value.code == "invalid_cpfCnpj"
    wrong = AsaasProvider(api_key="$aact_wrong", webhook_token=None, base_url=api.base_url + "/v3")
    with pytest.raises(ProviderRequestFailed, match="HTTP 401"):
        new_customer(wrong)
    wrong.close()
    with pytest.raises(Unsupported, match="only BRL"):
        provider.charge(
            ChargeRequest("att", 100, "USD", "cus_1", "x", DUE, payment_method_ref=CARD)
        )


def test_an_unreachable_asaas_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v3"
    provider = AsaasProvider(api_key=API_KEY, webhook_token=None, base_url=closed)
    with pytest.raises(ProviderUnavailable):
        new_customer(provider)
    provider.close()


def test_what_asaas_does_not_have(provider: AsaasProvider) -> None:
    card = provider.attach_payment_method(operation_id="op", customer_ref="cus_1", token=CARD)
    assert (card.reference, card.brand, card.last4) == (CARD, None, None)
    provider.detach_payment_method(CARD)
    with pytest.raises(Unsupported):
        provider.list_payment_methods("cus_1")
    with pytest.raises(Unsupported):
        provider.create_checkout_session(
            CheckoutRequest("op", "price", "sub", "https://a.test/ok", "https://a.test/no")
        )
    with pytest.raises(Unsupported):
        provider.create_portal_session(PortalRequest("op", "cus_1", "https://a.test"))


EVENT = {
    "id": "evt_05b708f961d739ea7eba7e4db318f621&368604920",
    "event": "PAYMENT_RECEIVED",
    "dateCreated": "2026-01-15 09:00:00",
    "payment": {
        "object": "payment",
        "id": "pay_080225913252",
        "customer": "cus_000005219613",
        "value": 49.9,
        "status": "RECEIVED",
        "billingType": "PIX",
        "externalReference": "att_1",
    },
}


def test_the_right_token_is_accepted(provider: AsaasProvider) -> None:
    body = json.dumps(EVENT).encode()
    event = provider.parse_webhook({"asaas-access-token": WEBHOOK_TOKEN}, body, NOW)
    assert (event.provider, event.id, event.type) == (
        "asaas",
        "evt_05b708f961d739ea7eba7e4db318f621&368604920",
        "PAYMENT_RECEIVED",
    )
    assert event.data["id"] == "pay_080225913252"
    assert event.data["value"] == Decimal("49.9")
    same = provider.parse_webhook({"Asaas-Access-Token": WEBHOOK_TOKEN}, body, NOW)
    assert same.id == event.id


@pytest.mark.parametrize(
    "headers", [{}, {"asaas-access-token": "wrong"}, {"asaas-access-token": ""}]
)
def test_a_wrong_or_missing_token_is_401(provider: AsaasProvider, headers: dict[str, str]) -> None:
    with pytest.raises(InvalidToken) as rejected:
        provider.parse_webhook(headers, json.dumps(EVENT).encode(), NOW)
    assert rejected.value.status == 401


def test_without_a_configured_token_nothing_is_accepted(api: AsaasApi) -> None:
    provider = AsaasProvider(api_key=API_KEY, webhook_token=None, base_url=api.base_url)
    with pytest.raises(InvalidToken):
        provider.parse_webhook({"asaas-access-token": ""}, json.dumps(EVENT).encode(), NOW)
    provider.close()


def test_a_body_that_is_not_an_event_is_400(provider: AsaasProvider) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        provider.parse_webhook({"asaas-access-token": WEBHOOK_TOKEN}, b"[1, 2]", NOW)
    assert rejected.value.status == 400
