"""Payment stories on test clocks with the fake provider: cards on file are charged
when invoices are issued; declines are retried on the product's schedule."""

from __future__ import annotations

from typing import Any

from invoices import invoices_of
from story import Story, iso, utc


def _setup(story: Story, token: str, **payments: Any) -> None:
    story.ok("PATCH", "/v1/product/settings", json={"payments": {"provider": "fake", **payments}})
    story.plan("pro", 2999)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    method = story.post("/v1/customers/acme/payment-methods", {"token": token}, 201)
    assert (method["brand"], method["is_default"]) == ("visa", True)


def _attempts(story: Story, invoice_id: str) -> list[tuple[int, str, str, str | None, str | None]]:
    data = story.ok("GET", f"/v1/invoices/{invoice_id}/payment-attempts")["data"]
    return [
        (a["attempt"], a["status"], a["attempted_at"], a["failure_code"], a["next_retry_at"])
        for a in data
    ]


def _payment_events(story: Story) -> list[tuple[str, int, int, bool | None]]:
    return [
        (e["type"], e["data"]["attempt"], e["data"]["amount"], e["data"].get("final"))
        for e in story.events("payment.")
    ]


def test_a_card_on_file_pays_the_first_and_the_renewal_invoice(story: Story) -> None:
    _setup(story, "tok_visa")
    story.subscribe("acme", "pro", billing_cycle="monthly")
    story.advance(utc(2026, 3, 1, 0, 1))
    story.advance(utc(2026, 4, 1, 0, 1))
    first, renewal = invoices_of(story, "acme")
    for invoice in (first, renewal):
        assert (invoice["status"], invoice["amount_paid"], invoice["amount_due"]) == (
            "paid",
            2999,
            0,
        )
    assert _attempts(story, renewal["id"]) == [(1, "succeeded", iso(utc(2026, 4, 1)), None, None)]
    assert _payment_events(story) == [
        ("payment.succeeded", 1, 2999, None),
        ("payment.succeeded", 1, 2999, None),
    ]
    succeeded = story.events("payment.succeeded")[1]["data"]
    assert (succeeded["invoice_id"], succeeded["external_customer_id"], succeeded["provider"]) == (
        renewal["id"],
        "acme",
        "fake",
    )


def test_a_renewal_declined_twice_is_paid_by_the_third_try(story: Story) -> None:
    _setup(story, "tok_visa")
    sub = story.subscribe("acme", "pro", billing_cycle="monthly")
    story.advance(utc(2026, 3, 1, 0, 1))
    # the card starts failing: replace it by one that declines twice, then pays
    card = {"token": "tok_fail_2_then_succeed", "set_as_default": True}
    story.post("/v1/customers/acme/payment-methods", card, 201)
    story.advance(utc(2026, 4, 1, 0, 1))
    renewal = invoices_of(story, "acme")[1]
    assert renewal["status"] == "open"
    story.advance(utc(2026, 4, 2, 0, 1))
    assert invoices_of(story, "acme")[1]["status"] == "open"
    story.advance(utc(2026, 4, 10))
    renewal = invoices_of(story, "acme")[1]
    assert (renewal["status"], renewal["amount_paid"], renewal["amount_due"]) == ("paid", 2999, 0)
    attempts = _attempts(story, renewal["id"])
    assert [(a[0], a[1], a[3]) for a in attempts] == [
        (1, "failed", "card_declined"),
        (2, "failed", "card_declined"),
        (3, "succeeded", None),
    ]
    assert [a[2][:16] for a in attempts] == [
        "2026-04-01T00:00",
        "2026-04-02T00:00",
        "2026-04-04T00:00",
    ]
    assert [a[4] for a in attempts] == [
        "2026-04-02T00:00:00Z",
        "2026-04-04T00:00:00Z",
        None,
    ]
    assert _payment_events(story)[1:] == [
        ("payment.failed", 1, 2999, False),
        ("payment.failed", 2, 2999, False),
        ("payment.succeeded", 3, 2999, None),
    ]
    failed = story.events("payment.failed")[0]["data"]
    assert failed["subscription_id"] == sub["id"]
    assert failed["next_retry_at"] == "2026-04-02T00:00:00+00:00"
    assert story.event_types("invoice.paid") == ["invoice.paid", "invoice.paid"]


def test_the_last_retry_failing_is_final_and_paying_by_hand_ends_retries(story: Story) -> None:
    _setup(story, "tok_chargeDeclined", retry_days=[1, 2])
    story.ok("PATCH", "/v1/product/settings", json={"dunning": {"steps": []}})  # no cancel
    story.subscribe("acme", "pro", billing_cycle="monthly")
    story.advance(utc(2026, 3, 5))
    (invoice,) = invoices_of(story, "acme")
    assert [(e[1], e[3]) for e in _payment_events(story)] == [(1, False), (2, False), (3, True)]
    assert invoice["status"] == "open"
    story.post(f"/v1/invoices/{invoice['id']}/pay")  # before dunning's steps fall due
    story.advance(utc(2026, 4, 1, 0, 1))  # the renewal is declined once, then paid by hand
    renewal = invoices_of(story, "acme")[1]
    story.post(f"/v1/invoices/{renewal['id']}/pay")
    story.advance(utc(2026, 4, 10))
    attempts = _attempts(story, renewal["id"])
    assert [(a[0], a[1], a[4]) for a in attempts] == [(1, "failed", None)]


def test_a_trial_converts_on_a_default_card_added_after_subscribing(story: Story) -> None:
    story.ok("PATCH", "/v1/product/settings", json={"payments": {"provider": "fake"}})
    story.plan("free", 0, is_default=True)
    story.plan("pro", 6000, trial_days=14)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    assert (sub["status"], sub["payment_method_id"]) == ("trialing", None)
    story.advance(utc(2026, 3, 5))
    card = {"token": "tok_mastercard", "set_as_default": True}
    method = story.post("/v1/customers/acme/payment-methods", card, 201)
    story.advance(utc(2026, 3, 15, 0, 1))

    after = story.sub(sub["id"])
    assert (after["status"], after["current_period_end"]) == ("active", "2026-04-15T00:00:00Z")
    warned = story.events("subscription.trial_will_end")[0]["data"]
    assert warned["has_payment_method"] is True
    (first,) = invoices_of(story, "acme")
    assert (first["status"], first["amount_paid"], first["amount_due"]) == ("paid", 6000, 0)
    attempts = story.ok("GET", f"/v1/invoices/{first['id']}/payment-attempts")["data"]
    assert [(a["status"], a["payment_method_id"], a["amount"]) for a in attempts] == [
        ("succeeded", method["id"], 6000)
    ]
    assert _payment_events(story) == [("payment.succeeded", 1, 6000, None)]


def test_a_trial_whose_only_card_was_removed_expires(story: Story) -> None:
    story.ok("PATCH", "/v1/product/settings", json={"payments": {"provider": "fake"}})
    story.plan("free", 0, is_default=True)
    story.plan("pro", 6000, trial_days=14)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    method = story.post("/v1/customers/acme/payment-methods", {"token": "tok_visa"}, 201)
    story.ok("DELETE", f"/v1/customers/acme/payment-methods/{method['id']}")
    story.advance(utc(2026, 3, 15, 0, 1))

    assert story.sub(sub["id"])["status"] == "expired"
    subs = story.subs_of("acme")
    assert [(s["plan_id"], s["status"]) for s in subs] == [("pro", "expired"), ("free", "active")]
    assert invoices_of(story, "acme") == []
    assert _payment_events(story) == []
