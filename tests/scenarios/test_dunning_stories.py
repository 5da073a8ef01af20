"""Dunning stories on test clocks: payment events as tollway.payments publishes them,
a case per unpaid invoice, the grace period, suspension, the free plan, recovery."""

from __future__ import annotations

import pytest
from dunning_kit import MARCH_1, Payments, cases, consume, note_types, redeliver, unpaid_pro
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from story import Story, utc

from tollway import customers, quotas
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work


@pytest.fixture
def payments(
    story: Story, session_factory: sessionmaker[Session], clock: Clock, ctx: Context
) -> Payments:
    return Payments(story, session_factory, clock, ctx.product_id)


def test_first_failure_opens_a_case_past_due_with_a_notification(
    story: Story, payments: Payments
) -> None:
    sub, invoice = unpaid_pro(story)
    assert (invoice["number"], invoice["amount_due"], invoice["status"]) == (
        "INV-2026-0001",
        2999,
        "open",
    )
    story.advance(utc(2026, 3, 2))
    payments.failed(invoice, 1, next_retry_at=utc(2026, 3, 3))
    assert story.sub(sub["id"])["status"] == "past_due"
    (case,) = cases(story)
    assert {k: case[k] for k in ("status", "attempts", "amount", "currency", "invoice_number")} == {
        "status": "past_due",
        "attempts": 1,
        "amount": 2999,
        "currency": "USD",
        "invoice_number": "INV-2026-0001",
    }
    assert (case["first_failed_at"], case["grace_ends"], case["next_retry_at"]) == (
        "2026-03-02T00:00:00Z",
        "2026-03-09T00:00:00Z",
        "2026-03-03T00:00:00Z",
    )
    assert (case["next_action"], case["next_action_at"]) == ("suspend", "2026-03-09T00:00:00Z")
    assert case["last_failure_code"] == "card_declined"
    assert story.event_types("dunning.") == ["dunning.started"]
    assert [e["data"]["status"] for e in story.events("subscription.updated")] == ["past_due"]
    assert note_types(story)[-2:] == ["payment_failed", "dunning_started"]
    body = story.ok("GET", "/v1/customers/acme/notifications", params={"limit": 1})["data"][0]
    assert body["title"] == "Payment overdue: invoice INV-2026-0001"
    assert "29.99 USD" in body["message"]
    assert "before 2026-03-09T00:00:00Z: then your service will be suspended" in body["message"]


def test_a_redelivered_failure_changes_nothing(
    story: Story, payments: Payments, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    sub, invoice = unpaid_pro(story)
    story.advance(utc(2026, 3, 2))
    payments.failed(invoice, 1, next_retry_at=utc(2026, 3, 3))
    before = cases(story)
    events_before = story.event_types("")
    (started,) = story.events("payment.failed")
    redeliver(session_factory, clock, started["id"])  # the same event, handled again
    payments.failed(invoice, 1, next_retry_at=utc(2026, 3, 3))  # a duplicate publication
    assert cases(story) == before
    assert story.event_types("dunning.") == ["dunning.started"]
    assert [t for t in story.event_types("") if t != "payment.failed"] == [
        t for t in events_before if t != "payment.failed"
    ] + ["test_clock.advanced"]
    assert story.sub(sub["id"])["status"] == "past_due"
    story.advance(utc(2026, 3, 3))
    payments.failed(invoice, 2, next_retry_at=utc(2026, 3, 5))
    (case,) = cases(story)
    assert (case["attempts"], case["last_failed_at"], case["grace_ends"]) == (
        2,
        "2026-03-03T00:00:00Z",
        "2026-03-09T00:00:00Z",
    )


def test_never_pays_suspended_on_day_7_then_the_free_plan_on_day_14(
    story: Story, payments: Payments
) -> None:
    sub, invoice = unpaid_pro(story)
    assert consume(story) == 200
    story.advance(utc(2026, 3, 2))
    payments.failed(invoice, 1, next_retry_at=utc(2026, 3, 3))
    for attempt, day, retry in ((2, 3, 5), (3, 5, 7), (4, 7, 9)):
        story.advance(utc(2026, 3, day))
        payments.failed(invoice, attempt, next_retry_at=utc(2026, 3, retry))
    story.advance(utc(2026, 3, 8, 23, 59))
    assert consume(story) == 200  # still in grace
    story.advance(utc(2026, 3, 9))
    payments.failed(invoice, 5, next_retry_at=None)  # the last retry, after the suspension
    refused = story.client.post("/v1/customers/acme/quotas/api_calls/consume", json={})
    assert (refused.status_code, refused.json()["type"].endswith("customer_suspended")) == (
        403,
        True,
    )
    (case,) = cases(story)
    assert (case["status"], case["attempts"], case["next_action"], case["next_action_at"]) == (
        "suspended",
        5,
        "downgrade",
        "2026-03-16T00:00:00Z",
    )
    dunning = story.ok("GET", "/v1/customers/acme/dunning")
    assert (dunning["in_dunning"], dunning["suspended"]) == (True, True)
    assert story.ok("GET", "/v1/customers/acme/quotas")["suspended"] is True
    assert story.sub(sub["id"])["status"] == "past_due"
    story.advance(utc(2026, 3, 16, 0, 1))
    after = story.sub(sub["id"])
    assert (after["plan_id"], after["status"]) == ("free", "past_due")
    assert story.charges(sub["id"]) == [("plan", 2999, "2026-03-01", "2026-04-01")]  # no credit
    assert consume(story) == 200  # the free plan's quotas, not suspended
    assert story.ok("GET", "/v1/customers/acme/quotas")["quotas"]["api_calls"]["limit"] == 100
    (case,) = cases(story)
    assert (case["status"], case["next_action"], case["next_action_at"]) == (
        "downgraded",
        None,
        None,
    )
    assert story.event_types("dunning.") == [
        "dunning.started",
        "dunning.suspended",
        "dunning.downgraded",
    ]
    assert story.event_types("customer.") == [
        "customer.created",
        "customer.suspended",
        "customer.reinstated",
    ]
    assert [n for n in note_types(story) if n.startswith("dunning")] == [
        "dunning_started",
        "dunning_suspended",
        "dunning_downgraded",
    ]
    assert note_types(story).count("payment_failed") == 5


def test_a_renewal_fails_twice_then_the_third_attempt_pays_on_day_4(
    story: Story, payments: Payments
) -> None:
    sub, first = unpaid_pro(story)
    story.post(f"/v1/invoices/{first['id']}/pay")
    story.advance(utc(2026, 4, 1))  # renewal: INV-2026-0002
    renewal = story.ok("GET", "/v1/customers/acme/invoices", params={"limit": 1})["data"][0]
    assert (renewal["number"], renewal["amount_due"]) == ("INV-2026-0002", 2999)
    story.advance(utc(2026, 4, 2))
    payments.failed(renewal, 1, next_retry_at=utc(2026, 4, 3))
    story.advance(utc(2026, 4, 3))
    payments.failed(renewal, 2, next_retry_at=utc(2026, 4, 5))
    story.advance(utc(2026, 4, 5))
    payments.succeeded(renewal, 3, utc(2026, 4, 5))
    assert story.sub(sub["id"])["status"] == "active"
    assert cases(story) == []
    (case,) = cases(story, include_closed=True)
    assert (case["invoice_number"], case["status"], case["attempts"], case["closed_at"]) == (
        "INV-2026-0002",
        "recovered",
        2,
        "2026-04-05T00:00:00Z",
    )
    assert case["next_action"] is None
    story.advance(utc(2026, 4, 20))  # the suspend and downgrade jobs find the case closed
    assert consume(story) == 200
    assert story.sub(sub["id"])["plan_id"] == "pro"
    assert story.event_types("dunning.") == ["dunning.started", "dunning.recovered"]
    assert [e["data"]["status"] for e in story.events("subscription.updated")] == [
        "past_due",
        "active",
    ]
    assert note_types(story)[-5:] == [
        "payment_failed",
        "dunning_started",
        "payment_failed",
        "payment_succeeded",
        "dunning_recovered",
    ]
    assert story.event_types("customer.") == ["customer.created"]


def test_an_admin_payment_of_a_suspended_customer_restores_service(
    story: Story, payments: Payments
) -> None:
    sub, invoice = unpaid_pro(story)
    story.advance(utc(2026, 3, 2))
    payments.failed(invoice, 1, next_retry_at=None)
    story.advance(utc(2026, 3, 10))
    assert consume(story) == 403
    story.post(f"/v1/invoices/{invoice['id']}/pay")
    payments.relay()
    assert consume(story) == 200
    assert story.sub(sub["id"])["status"] == "active"
    (case,) = cases(story, include_closed=True)
    assert case["status"] == "recovered"
    story.advance(utc(2026, 3, 20))
    assert story.sub(sub["id"])["plan_id"] == "pro"
    assert story.event_types("dunning.") == [
        "dunning.started",
        "dunning.suspended",
        "dunning.recovered",
    ]
    recovered = story.events("dunning.recovered")[0]["data"]
    assert (recovered["suspension_lifted"], recovered["amount"]) == (True, 2999)
    assert story.event_types("customer.")[-2:] == ["customer.suspended", "customer.reinstated"]


def test_a_voided_invoice_closes_the_case(story: Story, payments: Payments) -> None:
    sub, invoice = unpaid_pro(story)
    story.advance(utc(2026, 3, 2))
    payments.failed(invoice, 1, next_retry_at=utc(2026, 3, 3))
    story.post(f"/v1/invoices/{invoice['id']}/void")
    payments.relay()
    assert story.sub(sub["id"])["status"] == "active"
    (case,) = cases(story, include_closed=True)
    assert case["status"] == "voided"
    story.advance(utc(2026, 3, 20))
    assert story.event_types("dunning.") == ["dunning.started", "dunning.recovered"]


def test_a_suspension_for_another_reason_is_not_lifted(
    story: Story, payments: Payments, session_factory: sessionmaker[Session], ctx: Context
) -> None:
    _, invoice = unpaid_pro(story)
    with unit_of_work(session_factory) as session:
        admin = Context(session=session, product_id=ctx.product_id, clock=ctx.clock)
        acme = customers.get_customer(admin, "acme")
        assert quotas.suspend_customer(admin, acme, "abuse")
    story.advance(utc(2026, 3, 2))
    payments.failed(invoice, 1, next_retry_at=None)
    story.advance(utc(2026, 3, 10))
    assert cases(story)[0]["status"] == "suspended"
    payments.succeeded(invoice, 2, utc(2026, 3, 10))
    assert consume(story) == 403  # still suspended for abuse
    assert story.event_types("customer.") == ["customer.created", "customer.suspended"]


def test_a_cancel_step_cancels_and_falls_back_to_the_free_plan(
    story: Story, payments: Payments
) -> None:
    story.ok(
        "PATCH",
        "/v1/product/settings",
        json={"dunning": {"grace_days": 3, "steps": [{"after_days": 3, "action": "cancel"}]}},
    )
    sub, invoice = unpaid_pro(story)
    story.advance(utc(2026, 3, 2))
    payments.failed(invoice, 1, next_retry_at=None)
    assert cases(story)[0]["next_action_at"] == "2026-03-05T00:00:00Z"
    story.advance(utc(2026, 3, 5))
    canceled = story.sub(sub["id"])
    assert (canceled["status"], canceled["cancel_reason"]) == ("canceled", "nonpayment")
    assert [(s["plan_id"], s["status"]) for s in story.subs_of("acme")] == [
        ("pro", "canceled"),
        ("free", "active"),
    ]
    assert story.charges(sub["id"]) == [("plan", 2999, "2026-03-01", "2026-04-01")]
    assert story.event_types("dunning.") == ["dunning.started", "dunning.canceled"]
    assert cases(story)[0]["status"] == "canceled"


def test_dunning_settings_are_validated_by_field(client: TestClient) -> None:
    defaults = client.get("/v1/product").json()["settings"]["dunning"]
    assert defaults == {
        "grace_days": 7,
        "steps": [
            {"after_days": 7, "action": "suspend"},
            {"after_days": 14, "action": "downgrade"},
        ],
    }
    for body, field in (
        ({"steps": [{"after_days": 7, "action": "explode"}]}, "dunning.steps.0.action"),
        ({"steps": [{"after_days": -1, "action": "suspend"}]}, "dunning.steps.0.after_days"),
        ({"grace_days": -3}, "dunning.grace_days"),
        ({"steps": [{"after_days": 3, "action": "suspend"}]}, "dunning.steps"),
        (
            {
                "steps": [
                    {"after_days": 7, "action": "cancel"},
                    {"after_days": 9, "action": "suspend"},
                ]
            },
            "dunning.steps",
        ),
    ):
        response = client.patch("/v1/product/settings", json={"dunning": body})
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == [field], response.text
    assert client.get("/v1/product").json()["settings"]["dunning"] == defaults


def test_the_dunning_view_is_scoped_to_the_customer(story: Story) -> None:
    story.starts_at(MARCH_1)
    story.customer("acme")
    story.customer("globex")
    key = story.post("/v1/customers/acme/keys", {"name": "app"}, 201)["key"]
    headers = {"Authorization": f"Bearer {key}"}
    own = story.client.get("/v1/customers/acme/dunning", headers=headers)
    assert own.json() == {
        "customer_id": "acme",
        "in_dunning": False,
        "suspended": False,
        "data": [],
        "has_more": False,
    }
    other = story.client.get("/v1/customers/globex/dunning", headers=headers)
    assert other.status_code == 404
