"""Stripe over HTTP: checkout and portal sessions against the local Stripe stand-in,
and signed webhook deliveries (``stripe.WebhookSignature``'s real scheme) that link,
mirror and pay; tampered, stale and repeated deliveries change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe
from fake_stripe_api import API_KEY, StripeApi
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from race_kit import race
from tollway.kernel.settings import Settings
from tollway.payments.models import ProviderAccount

START = datetime(2026, 1, 15, 12, tzinfo=UTC)  # the conftest clock
SECRET = "whsec_tollway_routes"
PRICE = "price_pro_monthly"


@pytest.fixture
def api() -> Iterator[StripeApi]:
    with StripeApi() as started:
        assert isinstance(started, StripeApi)
        yield started


@pytest.fixture
def settings(settings: Settings, api: StripeApi) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(API_KEY),
            "stripe_webhook_secret": SecretStr(SECRET),
            "stripe_api_base": api.base_url,
        }
    )


@pytest.fixture
def acme(client: TestClient) -> TestClient:
    plan = {
        "code": "pro",
        "name": "Pro",
        "prices": [{"interval": "monthly", "amount": 2999, "stripe_price_id": PRICE}],
    }
    assert client.post("/v1/plans", json=plan).status_code == 201
    at = START.isoformat()
    clock = client.post("/v1/test-clocks", json={"frozen_time": at, "name": "s"}).json()
    body = {"external_id": "acme", "test_clock": clock["id"]}
    assert client.post("/v1/customers", json=body).status_code == 201
    client.headers["x-test-clock"] = clock["id"]  # remembered for _advance; ignored by the API
    return client


def deliver(
    client: TestClient,
    event_id: str,
    event_type: str,
    data: dict[str, Any],
    *,
    secret: str = SECRET,
    age: timedelta = timedelta(0),
    tamper: bool = False,
) -> Any:
    body = json.dumps({"id": event_id, "type": event_type, "data": {"object": data}})
    header = stripe.WebhookSignature.generate_signature_header(
        body, secret, timestamp=int((START - age).timestamp())
    )
    sent = body.replace("2999", "1") if tamper else body
    return client.post(
        "/v1/providers/stripe/webhook",
        content=sent,
        headers={"Stripe-Signature": header, "Authorization": ""},
    )


def _checkout(client: TestClient) -> dict[str, Any]:
    body = {
        "customer_id": "acme",
        "plan_id": "pro",
        "billing_cycle": "monthly",
        "success_url": "https://app.test/ok",
        "cancel_url": "https://app.test/cancel",
    }
    response = client.post("/v1/checkout-sessions", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _advance(client: TestClient, minutes: int) -> None:
    clock_id = client.headers["x-test-clock"]
    to = (START + timedelta(minutes=minutes)).isoformat()
    assert client.post(f"/v1/test-clocks/{clock_id}/advance", json={"frozen_time": to}).is_success


def _types(client: TestClient, prefix: str) -> list[str]:
    data = client.get("/v1/events", params={"limit": 100}).json()["data"]
    return [e["type"] for e in reversed(data) if e["type"].startswith(prefix)]


def test_checkout_uses_the_plans_stripe_price_and_the_stripe_customer(
    acme: TestClient, api: StripeApi
) -> None:
    session = _checkout(acme)
    assert session["checkout_url"].startswith("https://checkout.stripe.com/")
    (sent,) = [r for r in api.requests if r.path == "/v1/checkout/sessions"]
    form = sent.form
    assert (form["mode"], form["line_items[0][price]"]) == ("subscription", PRICE)
    assert form["customer"].startswith("cus_")
    assert sent.headers["idempotency-key"].startswith("tollway:chk_")
    portal = acme.post(
        "/v1/portal-sessions", json={"customer_id": "acme", "return_url": "https://app.test/"}
    )
    assert portal.status_code == 200, portal.text
    assert portal.json()["portal_url"].startswith("https://billing.stripe.com/")
    assert [r.path for r in api.requests].count("/v1/customers") == 1


def test_checkout_refusals_name_the_field(acme: TestClient) -> None:
    body = {
        "customer_id": "acme",
        "plan_id": "pro",
        "billing_cycle": "annual",
        "success_url": "https://app.test/ok",
        "cancel_url": "https://app.test/cancel",
    }
    cycle = acme.post("/v1/checkout-sessions", json=body)
    assert (cycle.status_code, cycle.json()["errors"][0]["field"]) == (422, "billing_cycle")
    acme.post(
        "/v1/plans",
        json={"code": "lite", "name": "Lite", "prices": [{"interval": "monthly", "amount": 900}]},
    )
    lite = acme.post(
        "/v1/checkout-sessions", json={**body, "plan_id": "lite", "billing_cycle": "monthly"}
    )
    assert (lite.status_code, lite.json()["errors"][0]["field"]) == (422, "plan_id")
    url = acme.post("/v1/checkout-sessions", json={**body, "success_url": "nope"})
    assert (url.status_code, url.json()["errors"][0]["field"]) == (422, "success_url")
    portal = acme.post("/v1/portal-sessions", json={"customer_id": "acme"})
    assert (portal.status_code, portal.json()["errors"][0]["field"]) == (422, "return_url")


def test_a_completed_checkout_links_mirrors_and_is_paid_once(acme: TestClient) -> None:
    _checkout(acme)
    customer_ref = acme.get("/v1/customers/acme").json()
    session = _stripe_customer(acme)
    completed = {
        "id": "cs_1",
        "object": "checkout.session",
        "customer": session,
        "subscription": "sub_1",
        "client_reference_id": customer_ref["id"],
        "metadata": {"tollway_plan_id": "pro", "tollway_billing_cycle": "monthly"},
    }
    assert deliver(acme, "evt_1", "checkout.session.completed", completed).json()["outcome"] == (
        "handled"
    )
    (sub,) = acme.get("/v1/customers/acme/subscriptions").json()["data"]
    assert (sub["plan_id"], sub["status"]) == ("pro", "active")
    _advance(acme, 1)
    (invoice,) = acme.get("/v1/customers/acme/invoices").json()["data"]
    assert (invoice["status"], invoice["amount_due"]) == ("open", 2999)
    assert acme.get(f"/v1/invoices/{invoice['id']}/payment-attempts").json()["data"] == []

    updated = {
        "id": "sub_1",
        "object": "subscription",
        "customer": session,
        "status": "active",
        "cancel_at_period_end": True,
        "items": {"data": [{"price": {"id": PRICE}}]},
    }
    deliver(acme, "evt_2", "customer.subscription.updated", updated)
    assert acme.get(f"/v1/subscriptions/{sub['id']}").json()["cancel_at_period_end"] is True

    paid = {
        "id": "in_1",
        "object": "invoice",
        "customer": session,
        "subscription": "sub_1",
        "amount_paid": 2999,
        "payment_intent": "pi_1",
    }
    for stale_or_bad in (
        deliver(acme, "evt_3", "invoice.paid", paid, tamper=True),
        deliver(acme, "evt_3", "invoice.paid", paid, age=timedelta(seconds=301)),
        deliver(acme, "evt_3", "invoice.paid", paid, secret="whsec_other"),
    ):
        assert stale_or_bad.status_code == 400
        assert stale_or_bad.json()["type"].endswith("invalid_signature")
    assert acme.get(f"/v1/invoices/{invoice['id']}").json()["status"] == "open"
    first = deliver(acme, "evt_3", "invoice.paid", paid)
    second = deliver(acme, "evt_3", "invoice.paid", paid)
    assert (first.status_code, first.json()["duplicate"]) == (200, False)
    assert (second.status_code, second.json()["duplicate"]) == (200, True)
    paid_invoice = acme.get(f"/v1/invoices/{invoice['id']}").json()
    assert (paid_invoice["status"], paid_invoice["amount_paid"]) == ("paid", 2999)
    (attempt,) = acme.get(f"/v1/invoices/{invoice['id']}/payment-attempts").json()["data"]
    assert (attempt["provider"], attempt["status"], attempt["provider_payment_id"]) == (
        "stripe",
        "succeeded",
        "pi_1",
    )
    assert _types(acme, "payment.") == ["payment.succeeded"]

    deleted = {**updated, "status": "canceled"}
    deliver(acme, "evt_4", "customer.subscription.deleted", deleted)
    assert acme.get(f"/v1/subscriptions/{sub['id']}").json()["status"] == "canceled"
    unknown = deliver(acme, "evt_5", "customer.tax_id.created", {"id": "txi_1"})
    assert (unknown.status_code, unknown.json()["outcome"]) == (200, "ignored")


def test_a_failed_stripe_invoice_is_a_failed_attempt(acme: TestClient) -> None:
    _checkout(acme)
    customer = acme.get("/v1/customers/acme").json()
    session = _stripe_customer(acme)
    completed = {
        "id": "cs_1",
        "customer": session,
        "subscription": "sub_9",
        "client_reference_id": customer["id"],
        "metadata": {"tollway_plan_id": "pro", "tollway_billing_cycle": "monthly"},
    }
    deliver(acme, "evt_1", "checkout.session.completed", completed)
    _advance(acme, 1)
    retry_at = int((START + timedelta(days=3)).timestamp())
    failed = {
        "id": "in_9",
        "customer": session,
        "subscription": "sub_9",
        "amount_due": 2999,
        "next_payment_attempt": retry_at,
    }
    deliver(acme, "evt_2", "invoice.payment_failed", failed)
    deliver(acme, "evt_2", "invoice.payment_failed", failed)
    (event,) = acme.get("/v1/events", params={"type": "payment.failed"}).json()["data"]
    assert (event["data"]["provider"], event["data"]["final"], event["data"]["attempt"]) == (
        "stripe",
        False,
        1,
    )
    assert event["data"]["next_retry_at"].startswith("2026-01-18T12:00")
    trial = deliver(acme, "evt_3", "customer.subscription.trial_will_end", {"id": "sub_9"})
    assert trial.json()["outcome"] == "handled"
    assert _types(acme, "subscription.trial_will_end") == ["subscription.trial_will_end"]


def _stripe_customer(client: TestClient) -> str:
    """The Stripe customer Tollway created for acme (the first checkout made it)."""
    state = client.app.state.tollway  # type: ignore[attr-defined]
    with state.session_factory() as session:
        reference = session.scalar(select(ProviderAccount.reference))
    assert isinstance(reference, str)
    return reference


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
    checkout = {
        "customer_id": "acme",
        "plan_id": "metered",
        "billing_cycle": "monthly",
        "success_url": "https://app.test/ok",
        "cancel_url": "https://app.test/cancel",
    }
    assert acme.post("/v1/checkout-sessions", json=checkout).status_code == 200
    customer = acme.get("/v1/customers/acme").json()
    stripe_customer = _stripe_customer(acme)
    completed = {
        "id": "cs_q",
        "customer": stripe_customer,
        "subscription": "sub_q",
        "client_reference_id": customer["id"],
        "metadata": {"tollway_plan_id": "metered", "tollway_billing_cycle": "monthly"},
    }
    deliver(acme, "evt_q1", "checkout.session.completed", completed)
    renewal_at = datetime(2026, 2, 15, 12, tzinfo=UTC)
    stripe_sub = {
        "id": "sub_q",
        "customer": stripe_customer,
        "status": "active",
        "current_period_start": _stamp(START),
        "current_period_end": _stamp(renewal_at),
        "items": {"data": [{"price": {"id": "price_metered"}}]},
    }
    deliver(acme, "evt_q2", "customer.subscription.created", stripe_sub)
    _advance(acme, 1)
    paid = {"customer": stripe_customer, "subscription": "sub_q", "amount_paid": 4900}
    deliver(acme, "evt_q3", "invoice.paid", {**paid, "id": "in_q1", "payment_intent": "pi_q1"})
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
    deliver(acme, "evt_q5", "invoice.paid", {**paid, "id": "in_q2", "payment_intent": "pi_q2"})

    first, renewal = reversed(acme.get("/v1/customers/acme/invoices").json()["data"])
    for invoice in (first, renewal):
        assert (invoice["status"], invoice["amount_paid"], invoice["amount_due"]) == (
            "paid",
            4900,
            0,
        )
    (attempt,) = acme.get(f"/v1/invoices/{renewal['id']}/payment-attempts").json()["data"]
    assert (attempt["provider_payment_id"], attempt["amount"]) == ("pi_q2", 4900)
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
    _checkout(acme)
    customer = acme.get("/v1/customers/acme").json()
    stripe_customer = _stripe_customer(acme)
    completed = {
        "id": "cs_r",
        "customer": stripe_customer,
        "subscription": "sub_r",
        "client_reference_id": customer["id"],
        "metadata": {"tollway_plan_id": "pro", "tollway_billing_cycle": "monthly"},
    }
    deliver(acme, "evt_r1", "checkout.session.completed", completed)
    _advance(acme, 1)
    paid = {
        "id": "in_r",
        "customer": stripe_customer,
        "subscription": "sub_r",
        "amount_paid": 2999,
        "payment_intent": "pi_r",
    }
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
        "pi_r",
        2999,
    )
    assert _types(acme, "payment.") == ["payment.succeeded"]
    assert _types(acme, "invoice.paid") == ["invoice.paid"]


def test_a_forbidden_stripe_status_is_kept_out_and_audited(
    acme: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    _checkout(acme)
    customer = acme.get("/v1/customers/acme").json()
    stripe_customer = _stripe_customer(acme)
    completed = {
        "id": "cs_f",
        "customer": stripe_customer,
        "subscription": "sub_f",
        "client_reference_id": customer["id"],
        "metadata": {"tollway_plan_id": "pro", "tollway_billing_cycle": "monthly"},
    }
    deliver(acme, "evt_f1", "checkout.session.completed", completed)
    (sub,) = acme.get("/v1/customers/acme/subscriptions").json()["data"]
    stripe_sub = {"id": "sub_f", "customer": stripe_customer, "status": "trialing"}
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
