"""Stripe-collected subscriptions over time: a paid renewal starts billing-period
quotas from zero, one event delivered twice at once pays once, and a status the
state machine forbids is kept out and audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fake_stripe_api import StripeApi
from fastapi.testclient import TestClient
from stripe_kit import (
    START,
    advance,
    checkout,
    completed_session,
    deliver,
    event_types,
    setup_acme,
    stripe_customer,
    stripe_invoice,
    stripe_settings,
)

from race_kit import race
from tollway.kernel.settings import Settings


@pytest.fixture
def api() -> Iterator[StripeApi]:
    with StripeApi() as started:
        assert isinstance(started, StripeApi)
        yield started


@pytest.fixture
def settings(settings: Settings, api: StripeApi) -> Settings:
    return stripe_settings(settings, api)


@pytest.fixture
def acme(client: TestClient) -> TestClient:
    return setup_acme(client)


def _stamp(at: datetime) -> int:
    return int(at.timestamp())


def test_a_paid_stripe_renewal_starts_billing_period_quotas_from_zero(acme: TestClient) -> None:
    acme.post("/v1/metrics", json={"code": "api_calls", "name": "API", "aggregation": "count"})
    metered = {
        "code": "metered",
        "name": "Metered",
        "prices": [{"interval": "monthly", "amount": 4900, "stripe_price_id": "price_metered"}],
        "quotas": [{"metric": "api_calls", "limit": 10, "period": "billing_period"}],
    }
    assert acme.post("/v1/plans", json=metered).status_code == 201
    session = {
        "customer_id": "acme",
        "plan_id": "metered",
        "billing_cycle": "monthly",
        "success_url": "https://app.test/ok",
        "cancel_url": "https://app.test/cancel",
    }
    assert acme.post("/v1/checkout-sessions", json=session).status_code == 200
    completed = completed_session(acme, "sub_q")
    completed["metadata"] = {"tollway_plan_id": "metered", "tollway_billing_cycle": "monthly"}
    deliver(acme, "evt_q1", "checkout.session.completed", completed)
    renewal_at = datetime(2026, 2, 15, 12, tzinfo=UTC)
    stripe_sub = {
        "id": "sub_q",
        "customer": stripe_customer(acme),
        "status": "active",
        "current_period_start": _stamp(START),
        "current_period_end": _stamp(renewal_at),
        "items": {"data": [{"price": {"id": "price_metered"}}]},
    }
    deliver(acme, "evt_q2", "customer.subscription.created", stripe_sub)
    advance(acme, 1)

    def paid(invoice_id: str, period: tuple[datetime, datetime]) -> dict[str, Any]:
        return stripe_invoice(
            acme, invoice_id, "sub_q", amount_paid=4900, period=period, amount_due=4900
        )

    deliver(acme, "evt_q3", "invoice.paid", paid("in_q1", (START, renewal_at)))
    for _ in range(7):
        assert acme.post("/v1/customers/acme/quotas/api_calls/consume", json={}).is_success
    before = acme.get("/v1/customers/acme/quotas").json()["quotas"]["api_calls"]
    assert (before["used"], before["period_start"]) == ("7", "2026-01-15T12:00:00Z")

    clock_id = acme.headers["x-test-clock"]
    to = {"frozen_time": (renewal_at + timedelta(minutes=1)).isoformat()}
    assert acme.post(f"/v1/test-clocks/{clock_id}/advance", json=to).is_success
    next_end = datetime(2026, 3, 15, 12, tzinfo=UTC)
    renewed = {**stripe_sub, "current_period_start": _stamp(renewal_at)}
    renewed = {**renewed, "current_period_end": _stamp(next_end)}
    deliver(acme, "evt_q4", "customer.subscription.updated", renewed)
    deliver(acme, "evt_q5", "invoice.paid", paid("in_q2", (renewal_at, next_end)))

    first, renewal = reversed(acme.get("/v1/customers/acme/invoices").json()["data"])
    for invoice in (first, renewal):
        assert (invoice["status"], invoice["amount_paid"], invoice["amount_due"]) == (
            "paid",
            4900,
            0,
        )
    (attempt,) = acme.get(f"/v1/invoices/{renewal['id']}/payment-attempts").json()["data"]
    assert (attempt["provider_payment_id"], attempt["amount"]) == ("in_q2", 4900)
    after = acme.get("/v1/customers/acme/quotas").json()["quotas"]["api_calls"]
    assert (after["used"], after["period_start"], after["resets_at"]) == (
        "0",
        "2026-02-15T12:00:00Z",
        "2026-03-15T12:00:00Z",
    )
    for _ in range(10):
        assert acme.post("/v1/customers/acme/quotas/api_calls/consume", json={}).is_success
    refused = acme.post("/v1/customers/acme/quotas/api_calls/consume", json={})
    assert (refused.status_code, refused.json()["used"]) == (429, "10")


def test_one_stripe_event_delivered_twice_at_once_pays_once(acme: TestClient) -> None:
    checkout(acme)
    deliver(acme, "evt_r1", "checkout.session.completed", completed_session(acme, "sub_r"))
    advance(acme, 1)
    paid = stripe_invoice(acme, "in_r", "sub_r")
    answers: list[tuple[int, Any]] = []

    def delivery() -> None:
        response = deliver(acme, "evt_r2", "invoice.paid", paid)
        answers.append((response.status_code, response.json().get("duplicate")))

    assert race(delivery, delivery) == ["ok", "ok"]
    assert sorted(answers) == [(200, False), (200, True)]
    (invoice,) = acme.get("/v1/customers/acme/invoices").json()["data"]
    assert (invoice["status"], invoice["amount_paid"], invoice["amount_due"]) == ("paid", 2999, 0)
    (attempt,) = acme.get(f"/v1/invoices/{invoice['id']}/payment-attempts").json()["data"]
    assert (attempt["status"], attempt["provider_payment_id"], attempt["amount"]) == (
        "succeeded",
        "in_r",
        2999,
    )
    assert event_types(acme, "payment.") == ["payment.succeeded"]
    assert event_types(acme, "invoice.paid") == ["invoice.paid"]


def test_a_forbidden_stripe_status_is_kept_out_and_audited(
    acme: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    checkout(acme)
    deliver(acme, "evt_f1", "checkout.session.completed", completed_session(acme, "sub_f"))
    (sub,) = acme.get("/v1/customers/acme/subscriptions").json()["data"]
    stripe_sub = {"id": "sub_f", "customer": stripe_customer(acme), "status": "trialing"}
    with caplog.at_level("WARNING", logger="tollway.subscriptions.service.mirror"):
        mirrored = deliver(acme, "evt_f2", "customer.subscription.updated", stripe_sub)
    assert (mirrored.status_code, mirrored.json()["outcome"]) == (200, "handled")
    assert acme.get(f"/v1/subscriptions/{sub['id']}").json()["status"] == "active"
    audit = acme.get("/v1/audit-log", params={"subject_id": sub["id"], "limit": 100}).json()
    refused = [r for r in audit["data"] if r["action"] == "subscription.mirror_stripe_refused"]
    assert [(r["before"], r["after"]) for r in refused] == [
        ({"status": "active"}, {"status": "trialing", "applied": False})
    ]
    assert [r.getMessage() for r in caplog.records] == [
        f"stripe says subscription {sub['id']} is trialing; active -> trialing is not allowed, "
        "status kept"
    ]
