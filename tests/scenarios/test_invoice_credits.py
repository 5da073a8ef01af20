"""Invoice stories with credits: plan allocations cover usage, paying credits pay
invoices at finalization, voids give them back, credit notes and downgrades credit
the balance."""

from __future__ import annotations

from typing import Any

from invoices import amounts, invoices_of, lines, metric, tax, usage_plan, use
from story import Story, utc

MONTHLY = {"billing_cycle": "monthly"}


def balance(story: Story, customer: str = "acme") -> int:
    result: int = story.ok("GET", f"/v1/customers/{customer}/credits")["balance"]
    return result


def grant(story: Story, amount: int, customer: str = "acme") -> dict[str, Any]:
    body = {"amount": amount, "reason": "goodwill"}
    result: dict[str, Any] = story.post(f"/v1/customers/{customer}/credits", body, 201)
    return result


def cloud(story: Story) -> None:
    """20 core-hours at 5 and 40 GB-hours at 1 in March: a 140 invoice on April 1."""
    metric(story, "core_hours")
    metric(story, "gb_hours")
    usage_plan(
        story,
        "cloud",
        [
            {"metric": "core_hours", "model": "standard", "unit_amount": "5"},
            {"metric": "gb_hours", "model": "standard", "unit_amount": "1"},
        ],
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "cloud", **MONTHLY)
    story.advance(utc(2026, 3, 10))
    use(story, "acme", "core_hours", 20, "2026-03-05T08:00:00Z")
    use(story, "acme", "gb_hours", 40, "2026-03-05T08:00:00Z")


def test_a_2000_credit_plan_covers_1500_of_usage_and_starts_again_at_2000(story: Story) -> None:
    metric(story, "compute")
    usage_plan(
        story,
        "credits",
        [{"metric": "compute", "model": "standard", "unit_amount": "1"}],
        included_credits=2000,
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "credits", **MONTHLY)
    story.advance(utc(2026, 3, 10))
    assert balance(story) == 2000
    use(story, "acme", "compute", 1500, "2026-03-09T12:00:00Z")
    assert balance(story) == 500
    preview = story.ok("GET", "/v1/customers/acme/upcoming-invoice")
    assert (lines(preview), preview["total"]) == (
        [("usage", 1500, 0), ("included_credits", -1500, 0)],
        0,
    )
    story.advance(utc(2026, 4, 1))
    (invoice,) = invoices_of(story, "acme")
    assert lines(invoice) == [("usage", 1500, 0), ("included_credits", -1500, 0)]
    assert (invoice["total"], invoice["amount_due"], invoice["status"]) == (0, 0, "paid")
    assert balance(story) == 2000  # the new period's allocation; the rest expired


def test_overage_beyond_the_allocation_is_billed(story: Story) -> None:
    metric(story, "compute")
    usage_plan(
        story,
        "credits",
        [{"metric": "compute", "model": "standard", "unit_amount": "1"}],
        included_credits=2000,
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "credits", **MONTHLY)
    story.advance(utc(2026, 3, 10))
    use(story, "acme", "compute", 2600, "2026-03-09T12:00:00Z")
    story.advance(utc(2026, 4, 1))
    (invoice,) = invoices_of(story, "acme")
    assert lines(invoice) == [("usage", 2600, 0), ("included_credits", -2000, 0)]
    assert (invoice["total"], invoice["amount_due"]) == (600, 600)


def test_a_5000_admin_credit_pays_a_140_invoice(story: Story) -> None:
    cloud(story)
    grant(story, 5000)
    story.advance(utc(2026, 4, 1))
    (invoice,) = invoices_of(story, "acme")
    assert amounts(invoice) == {
        "subtotal": 140,
        "discount": 0,
        "tax": 0,
        "total": 140,
        "credits_applied": 140,
        "amount_due": 0,
        "amount_paid": 0,
    }
    assert invoice["status"] == "paid"
    assert balance(story) == 4860
    assert story.event_types("invoice.") == ["invoice.created", "invoice.finalized", "invoice.paid"]


def test_voiding_gives_the_credits_back(story: Story) -> None:
    cloud(story)
    grant(story, 100)
    story.advance(utc(2026, 4, 1))
    (invoice,) = invoices_of(story, "acme")
    assert (invoice["credits_applied"], invoice["amount_due"], balance(story)) == (100, 40, 0)
    voided = story.post(f"/v1/invoices/{invoice['id']}/void")
    assert (voided["status"], voided["credits_applied"], voided["amount_due"]) == ("void", 0, 0)
    assert balance(story) == 100


def test_a_credit_note_to_the_balance_and_a_refund(story: Story) -> None:
    cloud(story)
    story.advance(utc(2026, 4, 1))
    (invoice,) = invoices_of(story, "acme")
    story.post(f"/v1/invoices/{invoice['id']}/pay")
    path = f"/v1/invoices/{invoice['id']}/credit-notes"
    note = story.post(path, {"amount": 40, "reason": "memory overbilled", "refund": False}, 201)
    assert (note["outcome"], note["returned"], note["number"]) == (
        "credited",
        40,
        "INV-2026-0001-CN1",
    )
    assert balance(story) == 40
    refund = story.post(path, {"reason": "unhappy", "refund": True}, 201)
    assert (refund["amount"], refund["outcome"]) == (100, "refunded")
    assert balance(story) == 40
    after = story.ok("GET", f"/v1/invoices/{invoice['id']}")
    assert (after["status"], after["amount_credited"]) == ("paid", 140)
    assert story.event_types("credit_note.") == ["credit_note.created", "credit_note.created"]


def test_a_month_with_an_upgrade_a_coupon_credits_and_tax(story: Story) -> None:
    """$30 → $60 on Mar 11 12:00, 50 % forever, 10 % tax, a 2,000 credit."""
    story.plan("pro", 3000)
    story.plan("max", 6000)
    tax(story, tax_rates=[{"rate": "10", "label": "Sales tax"}])
    story.post("/v1/coupons", {"code": "HALF", "percent_off": "50", "duration": "forever"}, 201)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    grant(story, 2000)
    sub = story.subscribe("acme", "pro", coupon_code="HALF", **MONTHLY)
    story.advance(utc(2026, 3, 11, 12))
    first = invoices_of(story, "acme")[0]
    assert amounts(first) == {
        "subtotal": 3000,
        "discount": 1500,
        "tax": 150,
        "total": 1650,
        "credits_applied": 1650,
        "amount_due": 0,
        "amount_paid": 0,
    }
    story.post(f"/v1/subscriptions/{sub['id']}/change", {"new_plan_id": "max"})
    story.advance(utc(2026, 3, 11, 12))
    upgrade = invoices_of(story, "acme")[1]
    assert lines(upgrade) == [("proration", -1984, -992), ("proration", 3968, 1984)]
    assert amounts(upgrade) == {
        "subtotal": 1984,
        "discount": 992,
        "tax": 99,
        "total": 1091,
        "credits_applied": 350,  # what was left of 2,000
        "amount_due": 741,
        "amount_paid": 0,
    }
    assert (upgrade["status"], balance(story)) == ("open", 0)


def test_a_cancel_credit_larger_than_the_bill_goes_to_the_balance(story: Story) -> None:
    story.plan("pro", 3100)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro", **MONTHLY)
    story.advance(utc(2026, 3, 21))
    story.post(f"/v1/subscriptions/{sub['id']}/cancel", {"cancel_immediately": True})
    story.advance(utc(2026, 3, 21))
    first, cancel = invoices_of(story, "acme")
    assert first["total"] == 3100
    assert lines(cancel) == [("cancel_credit", -1100, 0)]  # 11 of 31 days unused
    assert (cancel["total"], cancel["amount_due"], cancel["status"]) == (-1100, 0, "paid")
    assert balance(story) == 1100


def one_off(story: Story, amount: int, customer: str = "acme") -> dict[str, Any]:
    body = {
        "customer_id": customer,
        "auto_finalize": True,
        "items": [{"description": "Consulting", "unit_amount": amount}],
    }
    result: dict[str, Any] = story.post("/v1/invoices", body, 201)
    return result


def note_parts(note: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("amount", "due_reduction", "refunded", "credited_to_balance", "outcome")
    return tuple(note[k] for k in keys)


def test_a_fully_credited_uncollectible_invoice_is_settled_and_gives_credits_back_once(
    story: Story,
) -> None:
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    grant(story, 300)
    invoice = one_off(story, 1000)
    assert (invoice["credits_applied"], invoice["amount_due"], balance(story)) == (300, 700, 0)
    story.post(f"/v1/invoices/{invoice['id']}/mark-uncollectible")
    note = story.post(f"/v1/invoices/{invoice['id']}/credit-notes", {"reason": "sorry"}, 201)
    assert note_parts(note) == (1000, 700, 0, 300, "credited")
    after = story.ok("GET", f"/v1/invoices/{invoice['id']}")
    assert (after["status"], after["amount_due"], balance(story)) == ("paid", 0, 300)
    refused = story.client.post(f"/v1/invoices/{invoice['id']}/void", json={})
    assert refused.status_code == 409, refused.text
    assert balance(story) == 300


def test_an_invoice_with_a_credit_note_cannot_be_voided(story: Story) -> None:
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    grant(story, 300)
    invoice = one_off(story, 1000)
    path = f"/v1/invoices/{invoice['id']}"
    note = story.post(f"{path}/credit-notes", {"amount": 200, "reason": "discount"}, 201)
    assert note_parts(note) == (200, 200, 0, 0, "due_reduced")
    refused = story.client.post(f"{path}/void", json={})
    assert refused.status_code == 409, refused.text
    assert "credit notes" in refused.json()["detail"]
    after = story.ok("GET", path)
    assert (after["status"], after["amount_due"], balance(story)) == ("open", 500, 0)


def test_a_refund_gives_back_cash_and_what_credits_paid_goes_to_the_balance(
    story: Story,
) -> None:
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    grant(story, 5000)
    by_credits = one_off(story, 140)
    assert (by_credits["status"], by_credits["amount_paid"], balance(story)) == ("paid", 0, 4860)
    path = f"/v1/invoices/{by_credits['id']}/credit-notes"
    note = story.post(path, {"reason": "sorry", "refund": True}, 201)
    assert note_parts(note) == (140, 0, 0, 140, "credited")
    assert balance(story) == 5000
    story.customer("bolt")
    grant(story, 100, "bolt")
    mixed = one_off(story, 140, "bolt")  # 100 by credits, 40 in cash
    story.post(f"/v1/invoices/{mixed['id']}/pay")
    path = f"/v1/invoices/{mixed['id']}/credit-notes"
    first = story.post(path, {"amount": 30, "reason": "part", "refund": True}, 201)
    assert note_parts(first) == (30, 0, 30, 0, "refunded")
    rest = story.post(path, {"reason": "rest", "refund": True}, 201)
    assert note_parts(rest) == (110, 0, 10, 100, "split")
    assert balance(story, "bolt") == 100
