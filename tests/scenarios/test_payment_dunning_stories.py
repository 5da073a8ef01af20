"""Payments and dunning together, end to end on test clocks (issue #6): the fake
provider's test cards are charged and retried by payments, and dunning reacts to
what payments record; Stripe and Asaas webhooks open and close cases too. No payment
event is published by hand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dunning_kit import MARCH_1, dunning_catalog
from fake_asaas_api import API_KEY as ASAAS_KEY
from fake_asaas_api import TOKENS, AsaasApi
from fake_stripe_api import API_KEY as STRIPE_KEY
from fake_stripe_api import StripeApi
from invoices import invoices_of
from local_api import Answer
from payment_kit import (
    ASAAS_TOKEN,
    PRICE,
    STRIPE_SECRET,
    add_card,
    asaas_delivery,
    attempts,
    notifications,
    stripe_delivery,
    timeline,
    use_fake,
)
from pydantic import SecretStr
from story import Story, utc

from tollway.kernel.settings import Settings

REVIEW = "cc_tok_review"
"""An Asaas card whose payments wait for Asaas's risk analysis (pending)."""


class ReviewingAsaas(AsaasApi):
    def create_payment(self, body: dict[str, Any]) -> Answer:
        if body.get("creditCardToken") != REVIEW:
            return super().create_payment(body)
        status, payment = super().create_payment({**body, "creditCardToken": "cc_tok_visa"})
        payment["status"] = "AWAITING_RISK_ANALYSIS"
        return status, payment


@pytest.fixture
def stripe_api() -> Iterator[StripeApi]:
    with StripeApi() as started:
        assert isinstance(started, StripeApi)
        yield started


@pytest.fixture
def asaas_api() -> Iterator[ReviewingAsaas]:
    TOKENS.setdefault(REVIEW, ("VISA", "1111"))
    with ReviewingAsaas() as started:
        assert isinstance(started, ReviewingAsaas)
        yield started


@pytest.fixture
def settings(settings: Settings, stripe_api: StripeApi, asaas_api: ReviewingAsaas) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(STRIPE_KEY),
            "stripe_webhook_secret": SecretStr(STRIPE_SECRET),
            "stripe_api_base": stripe_api.base_url,
            "asaas_api_key": SecretStr(ASAAS_KEY),
            "asaas_webhook_token": SecretStr(ASAAS_TOKEN),
            "asaas_api_base": asaas_api.base_url + "/v3",
        }
    )


def _cases(story: Story, customer: str = "acme") -> list[dict[str, Any]]:
    path = f"/v1/customers/{customer}/dunning"
    return list(story.ok("GET", path, params={"include_closed": True})["data"])


def _consume(story: Story, customer: str = "acme") -> Any:
    return story.client.post(f"/v1/customers/{customer}/quotas/api_calls/consume", json={})


def _on_pro(story: Story, token: str, **payments: Any) -> dict[str, Any]:
    """Acme on Pro ($29.99) from March 1 with ``token`` as its default card."""
    use_fake(story, **payments)
    dunning_catalog(story)
    story.starts_at(MARCH_1)
    story.customer("acme")
    add_card(story, "acme", token)
    return story.subscribe("acme", "pro", billing_cycle="monthly")


def test_a_card_pays_the_first_invoice_and_opens_no_case(story: Story) -> None:
    sub = _on_pro(story, "tok_visa")
    story.advance(utc(2026, 3, 1, 0, 1))
    (invoice,) = invoices_of(story, "acme")
    assert (invoice["status"], invoice["total"], invoice["amount_paid"]) == ("paid", 2999, 2999)
    assert attempts(story, invoice["id"]) == [(1, "succeeded", "2026-03-01T00:00:00Z", None)]
    assert story.sub(sub["id"])["status"] == "active"
    assert _cases(story) == []
    assert timeline(story, "payment.", "dunning.", "invoice.paid") == [
        ("invoice.paid", "2026-03-01T00:00"),
        ("payment.succeeded", "2026-03-01T00:00"),
    ]


def test_a_renewal_declined_twice_recovers_on_the_day_3_retry(story: Story) -> None:
    sub = _on_pro(story, "tok_visa")
    story.advance(utc(2026, 3, 1, 0, 1))
    add_card(story, "acme", "tok_fail_2_then_succeed", set_as_default=True)
    story.advance(utc(2026, 4, 1, 0, 1))
    renewal = invoices_of(story, "acme")[1]
    assert (renewal["number"], renewal["status"], renewal["amount_due"]) == (
        "INV-2026-0002",
        "open",
        2999,
    )
    assert story.sub(sub["id"])["status"] == "past_due"
    (case,) = _cases(story)
    assert (case["status"], case["attempts"], case["invoice_id"], case["amount"]) == (
        "past_due",
        1,
        renewal["id"],
        2999,
    )
    assert (case["next_retry_at"], case["next_action"], case["next_action_at"]) == (
        "2026-04-02T00:00:00Z",
        "suspend",
        "2026-04-08T00:00:00Z",
    )
    failed, started = notifications(story, "acme")[-2:]
    assert (failed["type"], failed["title"]) == ("payment_failed", "Payment failed")
    assert "29.99 USD for invoice INV-2026-0002" in failed["message"]
    assert (started["type"], started["title"]) == (
        "dunning_started",
        "Payment overdue: invoice INV-2026-0002",
    )
    assert "29.99 USD for invoice INV-2026-0002" in started["message"]
    assert (
        "before 2026-04-08T00:00:00Z: then your service will be suspended" in (started["message"])
    )

    story.advance(utc(2026, 4, 2, 0, 1))
    assert _cases(story)[0]["attempts"] == 2
    story.advance(utc(2026, 4, 20))  # past both steps: they find the case closed
    renewal = invoices_of(story, "acme")[1]
    assert (renewal["status"], renewal["amount_paid"], renewal["amount_due"]) == ("paid", 2999, 0)
    assert attempts(story, renewal["id"]) == [
        (1, "failed", "2026-04-01T00:00:00Z", "card_declined"),
        (2, "failed", "2026-04-02T00:00:00Z", "card_declined"),
        (3, "succeeded", "2026-04-04T00:00:00Z", None),
    ]
    assert (story.sub(sub["id"])["status"], story.sub(sub["id"])["plan_id"]) == ("active", "pro")
    (case,) = _cases(story)
    assert (case["status"], case["open"], case["attempts"], case["closed_at"]) == (
        "recovered",
        False,
        2,
        "2026-04-04T00:00:00Z",
    )
    assert timeline(story, "payment.", "dunning.", "customer.s", "subscription.updated") == [
        ("payment.succeeded", "2026-03-01T00:00"),
        ("payment.failed", "2026-04-01T00:00"),
        ("subscription.updated", "2026-04-01T00:00"),
        ("dunning.started", "2026-04-01T00:00"),
        ("payment.failed", "2026-04-02T00:00"),
        ("payment.succeeded", "2026-04-04T00:00"),
        ("subscription.updated", "2026-04-04T00:00"),
        ("dunning.recovered", "2026-04-04T00:00"),
    ]
    assert _consume(story).status_code == 200
    assert [n["type"] for n in notifications(story, "acme")] == [
        "invoice_issued",
        "payment_succeeded",
        "invoice_issued",
        "payment_failed",
        "dunning_started",
        "payment_failed",
        "payment_succeeded",
        "dunning_recovered",
    ]


def test_a_customer_who_never_pays_is_suspended_then_downgraded(story: Story) -> None:
    sub = _on_pro(story, "tok_chargeDeclined")
    story.advance(utc(2026, 3, 1, 0, 1))
    (invoice,) = invoices_of(story, "acme")
    assert (invoice["status"], invoice["amount_due"]) == ("open", 2999)
    assert story.sub(sub["id"])["status"] == "past_due"
    assert _consume(story).status_code == 200  # grace: nothing is taken away

    story.advance(utc(2026, 3, 8, 0, 1))
    assert [a[:3] for a in attempts(story, invoice["id"])] == [
        (1, "failed", "2026-03-01T00:00:00Z"),
        (2, "failed", "2026-03-02T00:00:00Z"),
        (3, "failed", "2026-03-04T00:00:00Z"),
        (4, "failed", "2026-03-06T00:00:00Z"),
        (5, "failed", "2026-03-08T00:00:00Z"),
    ]
    finals = [(e["data"]["attempt"], e["data"]["final"]) for e in story.events("payment.failed")]
    assert finals == [(1, False), (2, False), (3, False), (4, False), (5, True)]
    refused = _consume(story)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("customer_suspended")
    assert refused.json()["detail"] == (
        "customer 'acme' is suspended (dunning: a subscription invoice is unpaid); every "
        "consume is refused until it is reinstated (POST /v1/customers/acme/reinstate)"
    )
    body = story.ok("GET", "/v1/customers/acme/dunning")
    (case,) = body["data"]
    assert (body["in_dunning"], body["suspended"]) == (True, True)
    assert (case["status"], case["attempts"], case["next_retry_at"]) == ("suspended", 5, None)
    assert (case["next_action"], case["next_action_at"]) == ("downgrade", "2026-03-15T00:00:00Z")

    story.advance(utc(2026, 4, 1, 0, 1))
    after = story.sub(sub["id"])
    assert (after["plan_id"], after["status"]) == ("free", "past_due")
    assert _consume(story).status_code == 200  # the free plan's quota applies
    assert story.ok("GET", "/v1/customers/acme/dunning")["suspended"] is False
    invoice = invoices_of(story, "acme")[0]
    # the unpaid invoice stays open (Stripe's "leave the invoice past due"): still owed
    assert (invoice["status"], invoice["amount_due"], invoice["amount_paid"]) == ("open", 2999, 0)
    assert len(attempts(story, invoice["id"])) == 5
    # the downgrade credits nothing and the free plan renews for nothing: one invoice
    assert [(i["total"], i["status"]) for i in invoices_of(story, "acme")] == [(2999, "open")]
    assert story.charges(sub["id"]) == [("plan", 2999, "2026-03-01", "2026-04-01")]
    assert timeline(story, "payment.failed", "dunning.", "customer.s", "customer.r") == [
        ("payment.failed", "2026-03-01T00:00"),
        ("dunning.started", "2026-03-01T00:00"),
        ("payment.failed", "2026-03-02T00:00"),
        ("payment.failed", "2026-03-04T00:00"),
        ("payment.failed", "2026-03-06T00:00"),
        ("payment.failed", "2026-03-08T00:00"),
        ("customer.suspended", "2026-03-08T00:00"),
        ("dunning.suspended", "2026-03-08T00:00"),
        ("customer.reinstated", "2026-03-15T00:00"),
        ("dunning.downgraded", "2026-03-15T00:00"),
    ]
    (case,) = _cases(story)
    assert (case["status"], case["open"], case["next_action"]) == ("downgraded", True, None)


def test_the_day_7_retry_runs_before_the_day_7_suspension(story: Story) -> None:
    """Both are due on day 7: the retry goes first, so paying then suspends nothing."""
    sub = _on_pro(story, "tok_fail_4_then_succeed")
    story.advance(utc(2026, 3, 20))
    (invoice,) = invoices_of(story, "acme")
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 2999)
    assert attempts(story, invoice["id"])[-1] == (5, "succeeded", "2026-03-08T00:00:00Z", None)
    assert story.sub(sub["id"])["status"] == "active"
    assert timeline(story, "payment.succeeded", "dunning.", "customer.s", "customer.r") == [
        ("dunning.started", "2026-03-01T00:00"),
        ("payment.succeeded", "2026-03-08T00:00"),
        ("dunning.recovered", "2026-03-08T00:00"),
    ]


def _stripe_subscriber(story: Story, stripe_api: StripeApi) -> tuple[str, dict[str, Any]]:
    """Acme subscribed to Pro through Stripe Checkout on March 1: (cus_..., invoice)."""
    dunning_catalog(story)
    plan = {
        "code": "team",
        "name": "Team",
        "prices": [{"interval": "monthly", "amount": 2999, "stripe_price_id": PRICE}],
    }
    story.post("/v1/plans", plan, 201)
    story.starts_at(MARCH_1)
    story.customer("acme")
    checkout = {
        "customer_id": "acme",
        "plan_id": "team",
        "billing_cycle": "monthly",
        "success_url": "https://app.test/ok",
        "cancel_url": "https://app.test/cancel",
    }
    story.post("/v1/checkout-sessions", checkout)
    (customer_ref,) = stripe_api.customers
    completed = {
        "id": "cs_1",
        "object": "checkout.session",
        "customer": customer_ref,
        "subscription": "sub_stripe_1",
        "client_reference_id": story.ok("GET", "/v1/customers/acme")["id"],
        "metadata": {"tollway_plan_id": "team", "tollway_billing_cycle": "monthly"},
    }
    assert stripe_delivery(story, "evt_1", "checkout.session.completed", completed)["outcome"] == (
        "handled"
    )
    story.advance(utc(2026, 3, 1, 0, 1))
    (invoice,) = invoices_of(story, "acme")
    assert (invoice["status"], invoice["amount_due"]) == ("open", 2999)
    assert attempts(story, invoice["id"]) == []  # Stripe collects it, not Tollway
    return customer_ref, invoice


def test_stripe_webhooks_open_and_recover_a_case_once_each(
    story: Story, stripe_api: StripeApi
) -> None:
    customer_ref, invoice = _stripe_subscriber(story, stripe_api)
    (sub,) = story.subs_of("acme")
    stripe_invoice = {
        "id": "in_1",
        "object": "invoice",
        "customer": customer_ref,
        "subscription": "sub_stripe_1",
        "amount_due": 2999,
        "currency": "usd",
        "payment_intent": "pi_1",
        "metadata": {"tollway_invoice_id": invoice["id"]},
    }
    story.advance(utc(2026, 3, 2))
    failed = {**stripe_invoice, "next_payment_attempt": int(utc(2026, 3, 5).timestamp())}
    for _ in range(2):
        stripe_delivery(story, "evt_2", "invoice.payment_failed", failed)
    (case,) = _cases(story)
    assert (case["status"], case["attempts"], case["invoice_id"]) == ("past_due", 1, invoice["id"])
    assert (case["first_failed_at"], case["next_retry_at"], case["grace_ends"]) == (
        "2026-03-02T00:00:00Z",
        "2026-03-05T00:00:00Z",
        "2026-03-09T00:00:00Z",
    )
    assert story.sub(sub["id"])["status"] == "past_due"
    story.advance(utc(2026, 3, 5))
    retried = {**stripe_invoice, "next_payment_attempt": int(utc(2026, 3, 12).timestamp())}
    for _ in range(2):
        stripe_delivery(story, "evt_3", "invoice.payment_failed", retried)
    assert _cases(story)[0]["attempts"] == 2
    story.advance(utc(2026, 3, 6))
    paid = {**stripe_invoice, "amount_paid": 2999}
    first = stripe_delivery(story, "evt_4", "invoice.paid", paid)
    second = stripe_delivery(story, "evt_4", "invoice.paid", paid)
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    invoice = invoices_of(story, "acme")[0]
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 2999)
    assert attempts(story, invoice["id"]) == [
        (1, "failed", "2026-03-02T00:00:00Z", "invoice_payment_failed"),
        (2, "failed", "2026-03-05T00:00:00Z", "invoice_payment_failed"),
        (3, "succeeded", "2026-03-06T00:00:00Z", None),
    ]
    (case,) = _cases(story)
    assert (case["status"], case["attempts"], case["closed_at"]) == (
        "recovered",
        2,
        "2026-03-06T00:00:00Z",
    )
    assert story.sub(sub["id"])["status"] == "active"
    story.advance(utc(2026, 3, 20))  # the steps find the case closed
    assert timeline(story, "payment.", "dunning.", "customer.s", "customer.r") == [
        ("payment.failed", "2026-03-02T00:00"),
        ("dunning.started", "2026-03-02T00:00"),
        ("payment.failed", "2026-03-05T00:00"),
        ("payment.succeeded", "2026-03-06T00:00"),
        ("dunning.recovered", "2026-03-06T00:00"),
    ]


def test_asaas_overdue_opens_a_case_and_the_late_payment_recovers_it(
    story: Story, asaas_api: ReviewingAsaas
) -> None:
    use_fake(story)
    story.plan("pro", 9990, currency="BRL")
    story.starts_at(MARCH_1)
    body = {"external_id": "ana", "currency": "BRL", "tax_id": "24971563792"}
    story.post("/v1/customers", {**body, "test_clock": story.clock_id}, 201)
    add_card(story, "ana", REVIEW, provider="asaas")
    sub = story.subscribe("ana", "pro", billing_cycle="monthly")
    story.advance(utc(2026, 3, 1, 0, 1))
    (invoice,) = invoices_of(story, "ana")
    ((number, status, _, _),) = attempts(story, invoice["id"])
    assert (invoice["total"], invoice["currency"], number, status) == (9990, "BRL", 1, "pending")
    (made,) = asaas_api.items["payments"].values()
    assert (str(made["value"]), made["billingType"]) == ("99.90", "CREDIT_CARD")
    payment = {"id": made["id"], "externalReference": made["externalReference"], "value": 99.9}
    story.advance(utc(2026, 3, 1, 12))
    overdue = {**payment, "status": "OVERDUE"}
    for _ in range(2):
        asaas_delivery(story, "evt_overdue_1", "PAYMENT_OVERDUE", overdue)
    (case,) = _cases(story, "ana")
    assert (case["status"], case["attempts"], case["amount"], case["currency"]) == (
        "past_due",
        1,
        9990,
        "BRL",
    )
    assert (case["last_failure_code"], case["next_retry_at"]) == ("overdue", "2026-03-02T12:00:00Z")
    assert story.sub(sub["id"])["status"] == "past_due"
    story.advance(utc(2026, 3, 2, 6))
    received = {**payment, "status": "RECEIVED"}
    asaas_delivery(story, "evt_received_1", "PAYMENT_RECEIVED", received)
    story.advance(utc(2026, 3, 20))
    invoice = invoices_of(story, "ana")[0]
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 9990)
    assert [a[:2] for a in attempts(story, invoice["id"])] == [(1, "succeeded")]
    (case,) = _cases(story, "ana")
    assert (case["status"], case["closed_at"]) == ("recovered", "2026-03-02T06:00:00Z")
    assert story.sub(sub["id"])["status"] == "active"
    assert timeline(story, "payment.", "dunning.") == [
        ("payment.failed", "2026-03-01T12:00"),
        ("dunning.started", "2026-03-01T12:00"),
        ("payment.succeeded", "2026-03-02T06:00"),
        ("dunning.recovered", "2026-03-02T06:00"),
    ]


def test_the_downgrade_stops_the_retries_still_scheduled(story: Story) -> None:
    sub = _on_pro(story, "tok_chargeDeclined", retry_days=[1, 20])

    def retries(invoice_id: str) -> list[tuple[int, str, str, str | None]]:
        data = story.ok("GET", f"/v1/invoices/{invoice_id}/payment-attempts")["data"]
        return [(a["attempt"], a["status"], a["attempted_at"], a["next_retry_at"]) for a in data]

    story.advance(utc(2026, 3, 2, 0, 1))
    (invoice,) = invoices_of(story, "acme")
    assert retries(invoice["id"]) == [
        (1, "failed", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"),
        (2, "failed", "2026-03-02T00:00:00Z", "2026-03-21T00:00:00Z"),
    ]

    story.advance(utc(2026, 3, 25))
    assert story.sub(sub["id"])["plan_id"] == "free"
    # downgraded on day 14: the day-20 retry is called off, the invoice stays owed
    assert retries(invoice["id"]) == [
        (1, "failed", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"),
        (2, "failed", "2026-03-02T00:00:00Z", None),
    ]
    assert (invoices_of(story, "acme")[0]["status"], len(story.events("payment.failed"))) == (
        "open",
        2,
    )
