"""Stripe over HTTP: checkout and portal sessions against the local Stripe stand-in,
and signed webhook deliveries (``stripe.WebhookSignature``'s real scheme) that link,
mirror and pay exactly the Tollway invoice a Stripe invoice is about; tampered,
stale and repeated deliveries change nothing, and events that arrive before their
subject is linked are answered 409 so that Stripe redelivers them. Bad deliveries
are 4xx problems, never 500: malformed or oversized signature headers
(unauthenticated), and signed events whose object is not what its type promises
(the field is named); nothing is recorded for them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe
from fake_stripe_api import StripeApi
from fastapi.testclient import TestClient
from stripe_kit import (
    FEB_15,
    PRICE,
    SECRET,
    START,
    WEBHOOK,
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
from tollway.kernel.clock import TestClock
from tollway.kernel.ids import new_id
from tollway.kernel.settings import Settings
from tollway.payments import PaymentAttempt


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


def _linked_with_open_invoice(client: TestClient, subscription: str) -> dict[str, Any]:
    """acme checked out ``pro`` (Stripe ``subscription``); its first invoice is open."""
    checkout(client)
    outcome = deliver(
        client,
        f"evt_cs_{subscription}",
        "checkout.session.completed",
        completed_session(client, subscription),
    )
    assert outcome.json()["outcome"] == "handled", outcome.text
    advance(client, 1)
    (invoice,) = client.get("/v1/customers/acme/invoices").json()["data"]
    assert (invoice["status"], invoice["amount_due"], invoice["currency"]) == ("open", 2999, "USD")
    return dict(invoice)


def test_checkout_uses_the_plans_stripe_price_and_the_stripe_customer(
    acme: TestClient, api: StripeApi
) -> None:
    session = checkout(acme)
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
    invoice = _linked_with_open_invoice(acme, "sub_1")
    (sub,) = acme.get("/v1/customers/acme/subscriptions").json()["data"]
    assert (sub["plan_id"], sub["status"]) == ("pro", "active")
    assert acme.get(f"/v1/invoices/{invoice['id']}/payment-attempts").json()["data"] == []

    updated = {
        "id": "sub_1",
        "object": "subscription",
        "customer": stripe_customer(acme),
        "status": "active",
        "cancel_at_period_end": True,
        "items": {"data": [{"price": {"id": PRICE}}]},
    }
    deliver(acme, "evt_2", "customer.subscription.updated", updated)
    assert acme.get(f"/v1/subscriptions/{sub['id']}").json()["cancel_at_period_end"] is True

    paid = stripe_invoice(acme, "in_1", "sub_1")
    for stale_or_bad in (
        deliver(acme, "evt_3", "invoice.paid", paid, tamper=True),
        deliver(acme, "evt_3", "invoice.paid", paid, age=timedelta(seconds=301)),
        deliver(acme, "evt_3", "invoice.paid", paid, age=timedelta(seconds=-301)),
        deliver(acme, "evt_3", "invoice.paid", paid, secret="whsec_other"),
    ):
        assert stale_or_bad.status_code == 400
        assert stale_or_bad.json()["type"].endswith("invalid_signature")
    assert acme.get(f"/v1/invoices/{invoice['id']}").json()["status"] == "open"
    first = deliver(acme, "evt_3", "invoice.paid", paid)
    second = deliver(acme, "evt_3", "invoice.paid", paid)
    resent = deliver(acme, "evt_3b", "invoice.paid", paid)  # the same invoice, a new event
    assert (first.status_code, first.json()["duplicate"]) == (200, False)
    assert (second.status_code, second.json()["duplicate"]) == (200, True)
    assert (resent.status_code, resent.json()["outcome"]) == (200, "handled")
    paid_invoice = acme.get(f"/v1/invoices/{invoice['id']}").json()
    assert (paid_invoice["status"], paid_invoice["amount_paid"]) == ("paid", 2999)
    (attempt,) = acme.get(f"/v1/invoices/{invoice['id']}/payment-attempts").json()["data"]
    assert (attempt["provider"], attempt["status"], attempt["amount"]) == (
        "stripe",
        "succeeded",
        2999,
    )
    assert attempt["provider_payment_id"] == "in_1"  # the Stripe invoice it is matched to
    assert event_types(acme, "payment.") == ["payment.succeeded"]

    deleted = {**updated, "status": "canceled"}
    deliver(acme, "evt_4", "customer.subscription.deleted", deleted)
    assert acme.get(f"/v1/subscriptions/{sub['id']}").json()["status"] == "canceled"
    unknown = deliver(acme, "evt_5", "customer.tax_id.created", {"id": "txi_1"})
    assert (unknown.status_code, unknown.json()["outcome"]) == (200, "ignored")


def test_a_legacy_shaped_stripe_invoice_pays_its_invoice(acme: TestClient) -> None:
    invoice = _linked_with_open_invoice(acme, "sub_1")
    legacy = stripe_invoice(acme, "in_1", "sub_1", legacy=True)
    assert "parent" not in legacy
    assert deliver(acme, "evt_3", "invoice.paid", legacy).json()["outcome"] == "handled"
    assert acme.get(f"/v1/invoices/{invoice['id']}").json()["status"] == "paid"


def test_a_stripe_invoice_that_does_not_cover_the_invoice_pays_nothing(
    acme: TestClient,
) -> None:
    invoice = _linked_with_open_invoice(acme, "sub_1")
    nothing_in_eur = stripe_invoice(acme, "in_eur", "sub_1", amount_paid=0, currency="eur")
    too_little = stripe_invoice(acme, "in_low", "sub_1", amount_paid=1000)
    assert deliver(acme, "evt_3", "invoice.paid", nothing_in_eur).status_code == 200
    assert deliver(acme, "evt_4", "invoice.paid", too_little).status_code == 200
    still = acme.get(f"/v1/invoices/{invoice['id']}").json()
    assert (still["status"], still["amount_paid"], still["amount_due"]) == ("open", 0, 2999)
    attempts = acme.get(f"/v1/invoices/{invoice['id']}/payment-attempts").json()["data"]
    assert [
        (a["status"], a["failure_code"], a["amount"], a["currency"], a["provider_payment_id"])
        for a in attempts
    ] == [
        ("needs_review", "currency_mismatch", 0, "EUR", "in_eur"),
        ("needs_review", "amount_mismatch", 1000, "USD", "in_low"),
    ]
    assert event_types(acme, "payment.") == []
    no_amount = stripe_invoice(acme, "in_2", "sub_1", amount_paid=None)
    refused = deliver(acme, "evt_5", "invoice.paid", no_amount)
    assert (refused.status_code, refused.json()["field"]) == (400, "data.object.amount_paid")


def test_a_stripe_invoice_pays_the_invoice_of_its_period_or_waits_for_it(
    acme: TestClient,
) -> None:
    first = _linked_with_open_invoice(acme, "sub_1")
    second_month = stripe_invoice(acme, "in_2", "sub_1", period=(FEB_15, FEB_15 + timedelta(28)))
    early = deliver(acme, "evt_3", "invoice.paid", second_month)
    assert (early.status_code, early.json()["type"].split("/")[-1]) == (409, "subject_not_ready")
    assert acme.get(f"/v1/invoices/{first['id']}").json()["status"] == "open"
    named = stripe_invoice(
        acme,
        "in_1",
        "sub_1",
        period=(FEB_15, FEB_15 + timedelta(28)),
        metadata={"tollway_invoice_id": first["id"]},
    )
    assert deliver(acme, "evt_4", "invoice.paid", named).json()["outcome"] == "handled"
    assert acme.get(f"/v1/invoices/{first['id']}").json()["status"] == "paid"
    other = stripe_invoice(acme, "in_9", "sub_elsewhere")
    other["customer"] = "cus_someone_else"
    ignored = deliver(acme, "evt_5", "invoice.paid", other)
    assert (ignored.status_code, ignored.json()["outcome"]) == (200, "ignored")
    one_off = {k: v for k, v in stripe_invoice(acme, "in_8", "sub_1").items() if k != "parent"}
    assert deliver(acme, "evt_6", "invoice.paid", one_off).json()["outcome"] == "ignored"


def test_an_invoice_paid_before_checkout_completes_is_redelivered(acme: TestClient) -> None:
    checkout(acme)
    paid = stripe_invoice(acme, "in_1", "sub_1")
    for _ in range(2):
        early = deliver(acme, "evt_paid", "invoice.paid", paid)
        assert (early.status_code, early.json()["type"].split("/")[-1]) == (
            409,
            "subject_not_ready",
        )
    created = {
        "id": "sub_1",
        "customer": stripe_customer(acme),
        "status": "active",
        "items": {"data": [{"price": {"id": PRICE}}]},
        "metadata": {"tollway_plan_id": "pro"},
    }
    not_yet = deliver(acme, "evt_sub", "customer.subscription.created", created)
    assert not_yet.status_code == 409
    assert acme.get("/v1/customers/acme/subscriptions").json()["data"] == []
    assert event_types(acme, "payment.") == []

    deliver(acme, "evt_cs", "checkout.session.completed", completed_session(acme, "sub_1"))
    assert deliver(acme, "evt_sub", "customer.subscription.created", created).status_code == 200
    advance(acme, 1)
    (invoice,) = acme.get("/v1/customers/acme/invoices").json()["data"]
    redelivered = deliver(acme, "evt_paid", "invoice.paid", paid)
    assert (redelivered.status_code, redelivered.json()["duplicate"]) == (200, False)
    paid_invoice = acme.get(f"/v1/invoices/{invoice['id']}").json()
    assert (paid_invoice["status"], paid_invoice["amount_paid"]) == ("paid", 2999)
    assert event_types(acme, "payment.") == ["payment.succeeded"]


def test_a_failed_stripe_invoice_is_a_failed_attempt(acme: TestClient) -> None:
    invoice = _linked_with_open_invoice(acme, "sub_9")
    retry_at = int((START + timedelta(days=3)).timestamp())
    declined = {"code": "card_declined", "decline_code": "insufficient_funds", "message": "No"}
    failed = stripe_invoice(
        acme,
        "in_9",
        "sub_9",
        amount_paid=0,
        next_payment_attempt=retry_at,
        last_finalization_error=None,
        payments={
            "data": [
                {
                    "payment": {
                        "type": "payment_intent",
                        "payment_intent": {"id": "pi_9", "last_payment_error": declined},
                    }
                }
            ]
        },
    )
    deliver(acme, "evt_2", "invoice.payment_failed", failed)
    deliver(acme, "evt_2", "invoice.payment_failed", failed)
    (event,) = acme.get("/v1/events", params={"type": "payment.failed"}).json()["data"]
    assert (
        event["data"]["provider"],
        event["data"]["final"],
        event["data"]["attempt"],
        event["data"]["failure_code"],
        event["data"]["failure_message"],
        event["data"]["invoice_id"],
    ) == ("stripe", False, 1, "insufficient_funds", "No", invoice["id"])
    assert event["data"]["next_retry_at"].startswith("2026-01-18T12:00")
    trial = deliver(acme, "evt_3", "customer.subscription.trial_will_end", {"id": "sub_9"})
    assert trial.json()["outcome"] == "handled"
    assert event_types(acme, "subscription.trial_will_end") == ["subscription.trial_will_end"]


def _processing_card_charge(client: TestClient) -> tuple[str, str]:
    """An open invoice of acme and a Stripe card charge on it that came back
    ``processing`` (a pending attempt whose id the intent carries)."""
    item = {"description": "setup", "unit_amount": 4990}
    invoice = client.post("/v1/invoices", json={"customer_id": "acme", "items": [item]}).json()
    invoice = client.post(f"/v1/invoices/{invoice['id']}/finalize").json()
    state = client.app.state.tollway  # type: ignore[attr-defined]
    attempt_id = new_id("pay")
    customer_id = client.get("/v1/customers/acme").json()["id"]
    with state.session_factory() as session:
        session.add(
            PaymentAttempt(
                id=attempt_id,
                product_id=state.default_product_id,
                invoice_id=invoice["id"],
                customer_id=customer_id,
                test_clock_id=client.headers["x-test-clock"],
                number=1,
                provider="stripe",
                amount=4990,
                currency="USD",
                status="pending",
                provider_payment_id="pi_slow",
                amount_refunded=0,
                attempted_at=START,
            )
        )
        session.commit()
    return invoice["id"], attempt_id


def _intent(attempt_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": "pi_slow",
        "object": "payment_intent",
        "amount": 4990,
        "currency": "usd",
        "metadata": {"tollway_operation_id": attempt_id},
        **fields,
    }


def test_a_processing_card_charge_settles_on_payment_intent_succeeded(acme: TestClient) -> None:
    invoice_id, attempt_id = _processing_card_charge(acme)
    theirs = deliver(acme, "evt_0", "payment_intent.succeeded", {"id": "pi_x", "metadata": {}})
    assert theirs.json()["outcome"] == "ignored"
    for event_id in ("evt_1", "evt_1", "evt_2"):
        succeeded = _intent(attempt_id, status="succeeded")
        assert deliver(acme, event_id, "payment_intent.succeeded", succeeded).status_code == 200
    invoice = acme.get(f"/v1/invoices/{invoice_id}").json()
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 4990)
    (attempt,) = acme.get(f"/v1/invoices/{invoice_id}/payment-attempts").json()["data"]
    assert (attempt["status"], attempt["provider_payment_id"]) == ("succeeded", "pi_slow")
    assert event_types(acme, "payment.") == ["payment.succeeded"]


def test_a_processing_card_charge_fails_on_payment_intent_payment_failed(
    acme: TestClient,
) -> None:
    invoice_id, attempt_id = _processing_card_charge(acme)
    error = {"code": "card_declined", "decline_code": "expired_card", "message": "Expired"}
    failed = _intent(attempt_id, status="requires_payment_method", last_payment_error=error)
    assert deliver(acme, "evt_1", "payment_intent.payment_failed", failed).status_code == 200
    assert acme.get(f"/v1/invoices/{invoice_id}").json()["status"] == "open"
    (attempt,) = acme.get(f"/v1/invoices/{invoice_id}/payment-attempts").json()["data"]
    assert (attempt["status"], attempt["failure_code"], attempt["failure_message"]) == (
        "failed",
        "expired_card",
        "Expired",
    )
    assert attempt["next_retry_at"].startswith("2026-01-16T12:00")  # retry_days[0] = 1
    (event,) = acme.get("/v1/events", params={"type": "payment.failed"}).json()["data"]
    assert (event["data"]["failure_code"], event["data"]["final"]) == ("expired_card", False)


def test_a_second_checkout_moves_the_link_and_unknown_statuses_change_nothing(
    acme: TestClient,
) -> None:
    _linked_with_open_invoice(acme, "sub_a")
    (sub,) = acme.get("/v1/customers/acme/subscriptions").json()["data"]
    deliver(acme, "evt_cs_b", "checkout.session.completed", completed_session(acme, "sub_b"))
    customer = stripe_customer(acme)
    b_canceling = {
        "id": "sub_b",
        "customer": customer,
        "status": "active",
        "cancel_at_period_end": True,
        "items": {"data": [{"price": {"id": PRICE}}]},
    }
    deliver(acme, "evt_b1", "customer.subscription.updated", b_canceling)
    assert acme.get(f"/v1/subscriptions/{sub['id']}").json()["cancel_at_period_end"] is True
    a_gone = {**b_canceling, "id": "sub_a", "status": "canceled", "cancel_at_period_end": False}
    assert deliver(acme, "evt_a1", "customer.subscription.deleted", a_gone).json()["outcome"] == (
        "ignored"
    )
    mirrored = acme.get(f"/v1/subscriptions/{sub['id']}").json()
    assert (mirrored["status"], mirrored["cancel_at_period_end"]) == ("active", True)

    odd = {**b_canceling, "status": "paused_for_review"}
    assert deliver(acme, "evt_b2", "customer.subscription.updated", odd).status_code == 200
    assert acme.get(f"/v1/subscriptions/{sub['id']}").json()["status"] == "active"


def _post(client: TestClient, signature: str, body: bytes = b"{}") -> Any:
    headers = {"Stripe-Signature": signature.encode()}  # UTF-8 bytes on the wire
    return client.post(WEBHOOK, content=body, headers=headers)


@pytest.mark.parametrize(
    "signature",
    [
        "t=" + "9" * 5000 + ",v1=ab",  # beyond int()'s digit limit
        "t=1,v1=é",  # not ASCII
        "t=1,v1=" + "a" * 10_000,  # oversized
        "t=12345678901234,v1=ab",  # more than 12 digits
        "t=+1,v1=ab",
        "t=1,t=2,v1=ab",
        "v1=ab",
    ],
)
def test_a_malformed_signature_header_is_400(client: TestClient, signature: str) -> None:
    refused = _post(client, signature)
    assert refused.status_code == 400, refused.text
    assert refused.json()["type"].endswith("/invalid_signature")


def test_a_signature_from_the_future_is_400(client: TestClient) -> None:
    body = json.dumps({"id": "evt_1", "type": "customer.tax_id.created", "data": {"object": {}}})
    future = int(START.timestamp()) + 301
    header = stripe.WebhookSignature.generate_signature_header(body, SECRET, timestamp=future)
    refused = _post(client, header, body.encode())
    assert (refused.status_code, refused.json()["type"].split("/")[-1]) == (
        400,
        "invalid_signature",
    )
    fine = stripe.WebhookSignature.generate_signature_header(body, SECRET, timestamp=future - 2)
    assert _post(client, fine, body.encode()).status_code == 200


def _refused(client: TestClient, event_type: str, data: Any) -> str:
    """The field a signed but malformed delivery is refused for (400)."""
    refused = deliver(client, "evt_bad", event_type, data)
    assert refused.status_code == 400, refused.text
    assert refused.json()["type"].endswith("/malformed_event")
    field: str = refused.json()["field"]
    return field


def test_signed_but_malformed_objects_are_400_naming_the_field(acme: TestClient) -> None:
    checkout(acme)
    session = completed_session(acme, "sub_1")
    no_plan = {**session, "metadata": {}}
    assert _refused(acme, "checkout.session.completed", no_plan) == (
        "data.object.metadata.tollway_plan_id"
    )
    bad_metadata = {**session, "metadata": "pro"}
    assert _refused(acme, "checkout.session.completed", bad_metadata) == "data.object.metadata"
    assert acme.get("/v1/customers/acme/subscriptions").json()["data"] == []

    customer = stripe_customer(acme)
    for subscription, field in (
        ({"id": "sub_1", "customer": customer, "items": "x"}, "data.object.items"),
        (
            {"id": "sub_1", "customer": customer, "items": {"data": [{"price": 7}]}},
            "data.object.items.data.0.price",
        ),
        (
            {"id": "sub_1", "customer": customer, "current_period_end": "soon"},
            "data.object.current_period_end",
        ),
        (
            {"id": "sub_1", "customer": customer, "current_period_end": 10**30},
            "data.object.current_period_end",
        ),
        ({"customer": customer}, "data.object.id"),
    ):
        assert _refused(acme, "customer.subscription.updated", subscription) == field

    invoice = stripe_invoice(acme, "in_1", "sub_1", amount_paid="abc")
    assert _refused(acme, "invoice.paid", invoice) == "data.object.amount_paid"
    negative = stripe_invoice(acme, "in_1", "sub_1", amount_paid=-1)
    assert _refused(acme, "invoice.paid", negative) == "data.object.amount_paid"
    lines = stripe_invoice(acme, "in_1", "sub_1", lines={"data": [{"period": {"start": "x"}}]})
    field = _refused(acme, "invoice.payment_failed", lines)
    assert field == "data.object.lines.data.0.period.start"
    intent = {"id": "pi_1", "metadata": ["tollway_operation_id"]}
    assert _refused(acme, "payment_intent.succeeded", intent) == "data.object.metadata"
    assert _refused(acme, "payment_intent.payment_failed", {"status": "x"}) == "data.object.id"

    # None of them was recorded: a corrected redelivery of the same event id is handled.
    fixed = deliver(acme, "evt_bad", "checkout.session.completed", session)
    assert (fixed.status_code, fixed.json()["duplicate"]) == (200, False)


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


def _clock_stands_at(client: TestClient, at: datetime) -> None:
    """The test clock reads ``at`` while no worker has run its due jobs or relayed its
    events yet (advancing would run them)."""
    state = client.app.state.tollway  # type: ignore[attr-defined]
    with state.session_factory.begin() as session:
        session.get(TestClock, client.headers["x-test-clock"]).frozen_time = at


MAR_15 = datetime(2026, 3, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("arrives", "stripe_end"),
    [
        (FEB_15 - timedelta(minutes=1), MAR_15),  # Stripe's clock is a minute ahead
        (FEB_15, MAR_15),  # at the period end, the renewal job not run yet
        (FEB_15 + timedelta(minutes=1), MAR_15 + timedelta(hours=1)),  # Stripe's end wins
    ],
)
def test_stripes_next_period_before_the_renewal_job_is_invoiced_once(
    acme: TestClient, arrives: datetime, stripe_end: datetime
) -> None:
    first = _linked_with_open_invoice(acme, "sub_n")
    stripe_sub = {
        "id": "sub_n",
        "customer": stripe_customer(acme),
        "status": "active",
        "current_period_start": _stamp(START),
        "current_period_end": _stamp(FEB_15),
        "items": {"data": [{"price": {"id": PRICE}}]},
    }
    deliver(acme, "evt_n1", "customer.subscription.created", stripe_sub)
    deliver(acme, "evt_n2", "invoice.paid", stripe_invoice(acme, "in_n1", "sub_n"))
    advance(acme, int((FEB_15 - START) / timedelta(minutes=1)) - 2)
    _clock_stands_at(acme, arrives)

    renewed = {**stripe_sub, "current_period_start": _stamp(FEB_15)}
    renewed["current_period_end"] = _stamp(stripe_end)
    mirrored = deliver(acme, "evt_n3", "customer.subscription.updated", renewed)
    assert (mirrored.status_code, mirrored.json()["outcome"]) == (200, "handled"), mirrored.text
    (sub,) = acme.get("/v1/customers/acme/subscriptions").json()["data"]
    period = (sub["status"], sub["current_period_start"], sub["current_period_end"])
    assert period == ("active", "2026-02-15T12:00:00Z", stripe_end.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert deliver(acme, "evt_n3", "customer.subscription.updated", renewed).json()["duplicate"]
    again = deliver(acme, "evt_n3b", "customer.subscription.updated", renewed)
    assert (again.status_code, again.json()["outcome"]) == (200, "handled")

    advance(acme, int((FEB_15 - START) / timedelta(minutes=1)) + 2)  # the renewal job, relay
    renewal, paid_first = acme.get("/v1/customers/acme/invoices").json()["data"]
    assert paid_first["id"] == first["id"]
    assert (renewal["status"], renewal["amount_due"], renewal["currency"]) == ("open", 2999, "USD")
    assert (renewal["period_start"], renewal["period_end"]) == (
        "2026-02-15T12:00:00Z",
        "2026-03-15T12:00:00Z",  # Tollway's charge; the Stripe invoice matches by overlap
    )
    paid = stripe_invoice(acme, "in_n2", "sub_n", period=(FEB_15, stripe_end))
    settled = deliver(acme, "evt_n4", "invoice.paid", paid)
    assert (settled.status_code, settled.json()["outcome"]) == (200, "handled"), settled.text
    paid_renewal = acme.get(f"/v1/invoices/{renewal['id']}").json()
    assert (paid_renewal["status"], paid_renewal["amount_paid"]) == ("paid", 2999)

    late = deliver(acme, "evt_n3c", "customer.subscription.updated", renewed)
    assert late.status_code == 200
    advance(acme, int((FEB_15 - START) / timedelta(minutes=1)) + 60 * 24)
    assert len(acme.get("/v1/customers/acme/invoices").json()["data"]) == 2
    assert event_types(acme, "subscription.renewed") == ["subscription.renewed"]
    later = acme.get(f"/v1/subscriptions/{sub['id']}").json()
    assert (later["status"], later["current_period_start"], later["current_period_end"]) == period


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
