"""Money that arrives for an invoice already settled is given back, and charges
still payable at the provider are canceled when the invoice is paid or voided."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fake_asaas_api import API_KEY, AsaasApi
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from outbound_kit import settle
from tollway.customers import Customer
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.outside import OutsideWork
from tollway.kernel.settings import Settings
from tollway.payments import AsaasProvider, ChargeRequest, FakeProvider, NewCustomer, PaymentAttempt
from tollway.payments.service.outcomes import CHARGE_JOB

START = datetime(2026, 1, 15, 12, tzinfo=UTC)  # the conftest clock
TOKEN = "asaas-token-settled"


def _state(client: TestClient) -> Any:
    return client.app.state.tollway  # type: ignore[attr-defined]


def _fake(client: TestClient) -> FakeProvider:
    fake = _state(client).registry.providers.get("fake")
    assert isinstance(fake, FakeProvider)
    return fake


def _invoice(client: TestClient, currency: str = "USD") -> str:
    client.post("/v1/customers", json={"external_id": "ana", "currency": currency})
    item = {"description": "setup", "unit_amount": 4990}
    invoice = client.post("/v1/invoices", json={"customer_id": "ana", "items": [item]}).json()
    finalized = client.post(f"/v1/invoices/{invoice['id']}/finalize").json()
    assert finalized["status"] == "open"
    return str(invoice["id"])


def _types(client: TestClient) -> list[str]:
    data = client.get("/v1/events", params={"limit": 100}).json()["data"]
    return [e["type"] for e in reversed(data) if e["type"].startswith(("payment.", "invoice."))]


def _event(client: TestClient, type_: str) -> dict[str, Any]:
    (event,) = client.get("/v1/events", params={"type": type_}).json()["data"]
    return dict(event["data"])


def _attempts(client: TestClient, invoice_id: str) -> list[tuple[int, str, int, int]]:
    data = client.get(f"/v1/invoices/{invoice_id}/payment-attempts").json()["data"]
    return [(a["attempt"], a["status"], a["amount"], a["amount_refunded"]) for a in data]


@pytest.mark.parametrize("settled_by", ["pay", "void"])
def test_a_charge_that_lands_after_the_invoice_is_settled_is_refunded(
    client: TestClient, settled_by: str
) -> None:
    client.patch("/v1/product/settings", json={"payments": {"provider": "fake"}})
    invoice_id = _invoice(client)
    client.post("/v1/customers/ana/payment-methods", json={"token": "tok_visa"})
    state = _state(client)
    job = state.registry.handlers[CHARGE_JOB]
    assert isinstance(job, OutsideWork)
    payload = {"invoice_id": invoice_id, "attempt": 1}
    with unit_of_work(state.session_factory) as session:  # the charge is in flight...
        ctx = Context(session=session, product_id=state.default_product_id, clock=state.clock)
        prepared = job.prepare(ctx, payload)
    assert client.post(f"/v1/invoices/{invoice_id}/{settled_by}").status_code == 200
    result = job.perform(prepared)  # ... and the card is charged after the admin acted
    with unit_of_work(state.session_factory) as session:
        ctx = Context(session=session, product_id=state.default_product_id, clock=state.clock)
        job.complete(ctx, payload, prepared, result)
    settle(client.app)  # type: ignore[arg-type]

    invoice = client.get(f"/v1/invoices/{invoice_id}").json()
    expected_paid = 4990 if settled_by == "pay" else 0
    assert (invoice["amount_paid"], invoice["amount_due"]) == (expected_paid, 0)
    assert _attempts(client, invoice_id) == [(1, "succeeded", 4990, 4990)]
    collected = _event(client, "payment.collected_after_settlement")
    status = "paid" if settled_by == "pay" else "void"
    assert (collected["amount"], collected["invoice_status"]) == (4990, status)
    refunded = _event(client, "payment.refunded")
    assert (refunded["amount"], refunded["amount_refunded"]) == (4990, 4990)
    assert "payment.succeeded" not in _types(client)
    assert _types(client)[-2:] == ["payment.collected_after_settlement", "payment.refunded"]
    refunds = [c.argument for c in _fake(client).calls if c.method == "refund"]
    operation_id = f"refund:{prepared.attempt_id}"
    assert [(r.operation_id, r.amount) for r in refunds] == [(operation_id, 4990)]


@pytest.fixture
def api() -> Iterator[AsaasApi]:
    with AsaasApi() as started:
        assert isinstance(started, AsaasApi)
        yield started


@pytest.fixture
def settings(settings: Settings, api: AsaasApi) -> Settings:
    return settings.model_copy(
        update={
            "asaas_api_key": SecretStr(API_KEY),
            "asaas_webhook_token": SecretStr(TOKEN),
            "asaas_api_base": f"{api.base_url}/v3",
        }
    )


def _boleto(client: TestClient, invoice_id: str, number: int) -> tuple[str, str]:
    """A boleto issued at the Asaas fake for attempt ``number``, pending in Tollway."""
    asaas = _state(client).registry.providers.get("asaas")
    assert isinstance(asaas, AsaasProvider)
    state = _state(client)
    attempt_id = f"pay_{invoice_id.removeprefix('inv_')}_{number}"
    cus = asaas.create_customer(NewCustomer("cus_ana", "ana", "Ana", None, "24971563792"))
    request = ChargeRequest(attempt_id, 4990, "BRL", cus, "boleto", date(2026, 1, 22), "boleto")
    payment_id = asaas.charge(request).provider_payment_id
    assert payment_id is not None
    with unit_of_work(state.session_factory) as session:
        customer_id = session.scalar(select(Customer.id).where(Customer.external_id == "ana"))
        session.add(
            PaymentAttempt(
                id=attempt_id,
                product_id=state.default_product_id,
                invoice_id=invoice_id,
                customer_id=customer_id,
                number=number,
                provider="asaas",
                amount=4990,
                currency="BRL",
                status="pending",
                provider_payment_id=payment_id,
                amount_refunded=0,
                attempted_at=START,
            )
        )
    return attempt_id, payment_id


def _deliver(client: TestClient, event_id: str, event: str, payment: dict[str, Any]) -> None:
    body = json.dumps({"id": event_id, "event": event, "payment": payment}, default=str)
    answer = client.post(
        "/v1/providers/asaas/webhook", content=body, headers={"asaas-access-token": TOKEN}
    )
    assert answer.status_code == 200, answer.text


def _deleted(api: AsaasApi) -> list[str]:
    return [r.path for r in api.requests if r.method == "DELETE"]


def test_an_overdue_boleto_and_pending_ones_of_a_paid_invoice_are_canceled(
    client: TestClient, api: AsaasApi
) -> None:
    invoice_id = _invoice(client, "BRL")
    first, boleto_1 = _boleto(client, invoice_id, 1)
    _deliver(client, "evt_1", "PAYMENT_OVERDUE", {"id": boleto_1, "externalReference": first})
    settle(client.app)  # type: ignore[arg-type]
    assert _deleted(api) == [f"/v3/payments/{boleto_1}"]
    _, boleto_2 = _boleto(client, invoice_id, 2)

    assert client.post(f"/v1/invoices/{invoice_id}/pay").status_code == 200
    settle(client.app)  # type: ignore[arg-type]

    assert _deleted(api) == [f"/v3/payments/{boleto_1}", f"/v3/payments/{boleto_2}"]
    assert api.items["payments"][boleto_2]["deleted"] is True
    assert _attempts(client, invoice_id) == [(1, "failed", 4990, 0), (2, "canceled", 4990, 0)]


def test_a_boleto_paid_after_the_invoice_was_paid_by_hand_is_refunded(
    client: TestClient, api: AsaasApi
) -> None:
    invoice_id = _invoice(client, "BRL")
    attempt_id, boleto = _boleto(client, invoice_id, 1)
    assert client.post(f"/v1/invoices/{invoice_id}/pay").status_code == 200
    paid = api.pay(boleto)  # before Tollway could cancel it
    payment = {"id": boleto, "value": paid["value"], "externalReference": attempt_id}
    _deliver(client, "evt_2", "PAYMENT_RECEIVED", payment)
    settle(client.app)  # type: ignore[arg-type]

    refunds = [r for r in api.requests if r.path.endswith("/refund")]
    assert [(r.path, r.json()) for r in refunds] == [
        (
            f"/v3/payments/{boleto}/refund",
            {"value": 49.9, "description": "collected after the invoice was settled"},
        )
    ]
    assert _deleted(api) == []
    assert _attempts(client, invoice_id) == [(1, "succeeded", 4990, 4990)]
    invoice = client.get(f"/v1/invoices/{invoice_id}").json()
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 4990)
    assert _types(client)[-3:] == [
        "invoice.paid",
        "payment.collected_after_settlement",
        "payment.refunded",
    ]


def test_a_payment_of_less_than_the_attempt_leaves_the_invoice_open(client: TestClient) -> None:
    invoice_id = _invoice(client, "BRL")
    attempt_id, boleto = _boleto(client, invoice_id, 1)
    payment = {"id": boleto, "value": 20.00, "externalReference": attempt_id}
    _deliver(client, "evt_3", "PAYMENT_RECEIVED", payment)

    assert _attempts(client, invoice_id) == [(1, "succeeded", 2000, 0)]
    invoice = client.get(f"/v1/invoices/{invoice_id}").json()
    assert (invoice["status"], invoice["amount_paid"], invoice["amount_due"]) == ("open", 0, 4990)
    succeeded = _event(client, "payment.succeeded")
    assert (succeeded["amount"], succeeded["currency"]) == (2000, "BRL")
