"""The in-process fake: its test cards, idempotent charges and refunds, webhooks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tollway.payments import (
    BoletoInstructions,
    ChargeRequest,
    ChargeResult,
    FakeProvider,
    InvalidSignature,
    NewCustomer,
    PaymentDeclined,
    PixInstructions,
    ProviderRequestFailed,
    RefundRequest,
)

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
DUE = date(2026, 1, 22)


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider()


def customer(fake: FakeProvider) -> str:
    return fake.create_customer(NewCustomer("op_cus", "acme", "Acme", "billing@acme.test"))


def charge(
    fake: FakeProvider, customer_ref: str, card: str | None, operation_id: str, **extra: object
) -> ChargeResult:
    request = ChargeRequest(
        operation_id=operation_id,
        amount=4900,
        currency="USD",
        customer_ref=customer_ref,
        description="INV-2026-0001",
        due_date=DUE,
        payment_method_ref=card,
        **extra,  # type: ignore[arg-type]
    )
    return fake.charge(request)


def test_visa_succeeds_and_the_same_operation_replays_its_result(fake: FakeProvider) -> None:
    cus = customer(fake)
    card = fake.attach_payment_method(operation_id="op_pm", customer_ref=cus, token="tok_visa")
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 12, 2034)

    first = charge(fake, cus, card.reference, "att_1")
    again = charge(fake, cus, card.reference, "att_1")

    assert first.status == "succeeded"
    assert again == first
    assert [c.method for c in fake.calls] == [
        "create_customer",
        "attach_payment_method",
        "charge",
        "charge",
    ]


def test_declined_card_fails_every_charge_with_its_code(fake: FakeProvider) -> None:
    cus = customer(fake)
    card = fake.attach_payment_method(
        operation_id="op_pm", customer_ref=cus, token="tok_chargeDeclined"
    )
    results = [charge(fake, cus, card.reference, f"att_{n}") for n in range(3)]
    assert {(r.status, r.failure_code) for r in results} == {("failed", "card_declined")}
    poor = fake.attach_payment_method(
        operation_id="op_pm2", customer_ref=cus, token="tok_insufficientFunds"
    )
    assert charge(fake, cus, poor.reference, "att_9").failure_code == "insufficient_funds"


def test_fail_n_then_succeed_declines_n_attempts_then_pays(fake: FakeProvider) -> None:
    cus = customer(fake)
    card = fake.attach_payment_method(
        operation_id="op_pm", customer_ref=cus, token="tok_fail_2_then_succeed"
    )
    statuses = [charge(fake, cus, card.reference, f"att_{n}").status for n in range(4)]
    assert statuses == ["failed", "failed", "succeeded", "succeeded"]


def test_attach_declined_and_unknown_tokens_are_refused(fake: FakeProvider) -> None:
    cus = customer(fake)
    with pytest.raises(PaymentDeclined) as declined:
        fake.attach_payment_method(operation_id="op", customer_ref=cus, token="tok_attachDeclined")
    assert declined.value.code == "card_declined"
    with pytest.raises(ProviderRequestFailed):
        fake.attach_payment_method(operation_id="op", customer_ref=cus, token="4242424242424242")
    with pytest.raises(ProviderRequestFailed):
        fake.attach_payment_method(operation_id="op", customer_ref="cus_nope", token="tok_visa")


def test_detached_cards_are_not_listed_nor_charged(fake: FakeProvider) -> None:
    cus = customer(fake)
    visa = fake.attach_payment_method(operation_id="op1", customer_ref=cus, token="tok_visa")
    master = fake.attach_payment_method(
        operation_id="op2", customer_ref=cus, token="tok_mastercard"
    )
    assert fake.list_payment_methods(cus) == [visa, master]

    fake.detach_payment_method(visa.reference)

    assert fake.list_payment_methods(cus) == [master]
    with pytest.raises(ProviderRequestFailed):
        charge(fake, cus, visa.reference, "att_1")
    with pytest.raises(ProviderRequestFailed):
        charge(fake, "cus_other", master.reference, "att_2")


def test_pix_and_boleto_are_pending_with_instructions(fake: FakeProvider) -> None:
    cus = customer(fake)
    pix = charge(fake, cus, None, "att_pix", method="pix")
    boleto = charge(fake, cus, None, "att_boleto", method="boleto")

    assert pix.status == boleto.status == "pending"
    assert isinstance(pix.instructions, PixInstructions)
    assert pix.instructions.payload.startswith("000201")
    assert isinstance(boleto.instructions, BoletoInstructions)
    assert boleto.instructions.identification_field.endswith("00000000004900")


def test_refunds_are_bounded_by_what_was_paid_and_replay(fake: FakeProvider) -> None:
    cus = customer(fake)
    card = fake.attach_payment_method(operation_id="op", customer_ref=cus, token="tok_visa")
    paid = charge(fake, cus, card.reference, "att_1")
    assert paid.provider_payment_id is not None

    part = fake.refund(RefundRequest("ref_1", paid.provider_payment_id, "USD", amount=900))
    assert fake.refund(RefundRequest("ref_1", paid.provider_payment_id, "USD", amount=900)) == part
    with pytest.raises(ProviderRequestFailed):
        fake.refund(RefundRequest("ref_2", paid.provider_payment_id, "USD", amount=4001))
    rest = fake.refund(RefundRequest("ref_3", paid.provider_payment_id, "USD"))

    assert part.status == rest.status == "succeeded"
    with pytest.raises(ProviderRequestFailed):
        fake.refund(RefundRequest("ref_4", paid.provider_payment_id, "USD", amount=1))


def test_webhooks_it_signs_are_accepted_and_tampered_ones_rejected(fake: FakeProvider) -> None:
    headers, body = fake.sign_event("evt_1", "payment.succeeded", {"id": "pay_1"})

    event = fake.parse_webhook(headers, body, NOW)

    assert (event.provider, event.id, event.type, event.data) == (
        "fake",
        "evt_1",
        "payment.succeeded",
        {"id": "pay_1"},
    )
    with pytest.raises(InvalidSignature) as rejected:
        fake.parse_webhook(headers, body.replace(b"pay_1", b"pay_2"), NOW)
    assert rejected.value.status == 400
    with pytest.raises(InvalidSignature):
        fake.parse_webhook({}, body, NOW)
