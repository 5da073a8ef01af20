"""Asaas deliveries over HTTP: the token is checked, each event id acts once, and
PAYMENT_* events settle the attempt Tollway made (its id is ``externalReference``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from tollway.customers import Customer
from tollway.kernel.ids import new_id
from tollway.kernel.settings import Settings
from tollway.payments import PaymentAttempt

START = datetime(2026, 1, 15, 12, tzinfo=UTC)  # the conftest clock
TOKEN = "asaas-token-routes"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "asaas_api_key": SecretStr("$aact_test"),
            "asaas_webhook_token": SecretStr(TOKEN),
            "asaas_api_base": "http://127.0.0.1:9/v3",  # never called: webhooks only
        }
    )


def _pending_boleto(client: TestClient, payment_id: str) -> tuple[str, str]:
    """An open 49.90 BRL invoice and a pending Asaas attempt on it."""
    client.post("/v1/customers", json={"external_id": "ana", "currency": "BRL"})
    item = {"description": "setup", "unit_amount": 4990}
    invoice = client.post("/v1/invoices", json={"customer_id": "ana", "items": [item]}).json()
    invoice = client.post(f"/v1/invoices/{invoice['id']}/finalize").json()
    state = client.app.state.tollway  # type: ignore[attr-defined]
    attempt_id = new_id("pay")
    with state.session_factory() as session:
        session.add(
            PaymentAttempt(
                id=attempt_id,
                product_id=state.default_product_id,
                invoice_id=invoice["id"],
                customer_id=_customer_id(session),
                number=1,
                provider="asaas",
                amount=4990,
                currency="BRL",
                status="pending",
                provider_payment_id=payment_id,
                amount_refunded=0,
                attempted_at=START,
            )
        )
        session.commit()
    return invoice["id"], attempt_id


def _customer_id(session: Any) -> str:
    found = session.scalar(select(Customer.id).where(Customer.external_id == "ana"))
    assert isinstance(found, str)
    return found


def deliver(
    client: TestClient, event_id: str, event: str, payment: dict[str, Any], token: str = TOKEN
) -> Any:
    body = json.dumps(
        {"id": event_id, "event": event, "dateCreated": "2026-01-15", "payment": payment}
    )
    return client.post(
        "/v1/providers/asaas/webhook", content=body, headers={"asaas-access-token": token}
    )


def _types(client: TestClient) -> list[str]:
    data = client.get("/v1/events", params={"limit": 100}).json()["data"]
    return [e["type"] for e in reversed(data) if e["type"].startswith(("payment.", "invoice.paid"))]


def test_received_twice_pays_once_and_a_wrong_token_is_401(client: TestClient) -> None:
    invoice_id, attempt_id = _pending_boleto(client, "pay_asaas_1")
    payment = {"id": "pay_asaas_1", "value": 49.90, "externalReference": attempt_id}
    for token in ("wrong", ""):
        refused = deliver(client, "evt_a1", "PAYMENT_RECEIVED", payment, token=token)
        assert (refused.status_code, refused.json()["type"].split("/")[-1]) == (
            401,
            "invalid_webhook_token",
        )
    assert client.get(f"/v1/invoices/{invoice_id}").json()["status"] == "open"
    assert deliver(client, "evt_a1", "PAYMENT_RECEIVED", payment).json()["duplicate"] is False
    assert deliver(client, "evt_a1", "PAYMENT_RECEIVED", payment).json()["duplicate"] is True
    assert deliver(client, "evt_a2", "PAYMENT_CONFIRMED", payment).json()["outcome"] == "handled"
    invoice = client.get(f"/v1/invoices/{invoice_id}").json()
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 4990)
    assert _types(client) == ["invoice.paid", "payment.succeeded"]
    refund = {**payment, "refundedValue": 10.00}
    deliver(client, "evt_a3", "PAYMENT_REFUNDED", refund)
    deliver(client, "evt_a3", "PAYMENT_REFUNDED", refund)
    (attempt,) = client.get(f"/v1/invoices/{invoice_id}/payment-attempts").json()["data"]
    assert (attempt["status"], attempt["amount_refunded"]) == ("succeeded", 1000)
    assert _types(client)[-1] == "payment.refunded"
    assert _types(client).count("payment.refunded") == 1


def test_an_overdue_boleto_is_a_failed_attempt(client: TestClient) -> None:
    invoice_id, attempt_id = _pending_boleto(client, "pay_asaas_2")
    payment = {"id": "pay_asaas_2", "externalReference": attempt_id}
    deliver(client, "evt_b1", "PAYMENT_OVERDUE", payment)
    deliver(client, "evt_b1", "PAYMENT_OVERDUE", payment)
    (attempt,) = client.get(f"/v1/invoices/{invoice_id}/payment-attempts").json()["data"]
    assert (attempt["status"], attempt["failure_code"]) == ("failed", "overdue")
    failed = client.get("/v1/events", params={"type": "payment.failed"}).json()["data"]
    assert [(e["data"]["attempt"], e["data"]["final"]) for e in failed] == [(1, False)]
    assert attempt["next_retry_at"] is not None
    unknown = deliver(client, "evt_b2", "PAYMENT_CREATED", payment)
    assert (unknown.status_code, unknown.json()["outcome"]) == (200, "ignored")
    not_json = client.post(
        "/v1/providers/asaas/webhook", content=b"{", headers={"asaas-access-token": TOKEN}
    )
    assert not_json.status_code == 400


@pytest.mark.parametrize("value", ["abc", "NaN", "1e999999999", -5, 60.00, 0.001, [1], True])
def test_a_refund_that_is_not_an_amount_is_400(client: TestClient, value: Any) -> None:
    invoice_id, attempt_id = _pending_boleto(client, "pay_asaas_3")
    payment = {"id": "pay_asaas_3", "externalReference": attempt_id, "refundedValue": value}
    refused = deliver(client, "evt_c1", "PAYMENT_REFUNDED", payment)
    assert (refused.status_code, refused.json()["field"]) == (400, "payment.refundedValue")
    assert refused.json()["type"].endswith("/malformed_event")
    (attempt,) = client.get(f"/v1/invoices/{invoice_id}/payment-attempts").json()["data"]
    assert attempt["amount_refunded"] == 0
    assert _types(client) == []
