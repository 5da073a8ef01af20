"""Invoice stories on test clocks: statuses, overdue, coupons, upgrades and tax."""

from __future__ import annotations

from invoices import amounts, invoices_of, lines, tax
from story import Story, utc


def test_an_unpaid_invoice_becomes_overdue_on_the_customers_clock(story: Story) -> None:
    story.plan("pro", 2999)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "pro", billing_cycle="monthly")
    story.advance(utc(2026, 3, 1))
    (invoice,) = invoices_of(story, "acme")
    assert (invoice["status"], invoice["due_date"][:10], invoice["overdue"]) == (
        "open",
        "2026-03-31",
        False,
    )
    story.advance(utc(2026, 3, 30, 23))
    assert story.event_types("invoice.") == ["invoice.created", "invoice.finalized"]
    story.advance(utc(2026, 3, 31, 1))
    assert story.event_types("invoice.") == [
        "invoice.created",
        "invoice.finalized",
        "invoice.overdue",
    ]
    assert story.ok("GET", f"/v1/invoices/{invoice['id']}")["overdue"] is True
    paid = story.post(f"/v1/invoices/{invoice['id']}/pay")
    assert (paid["status"], paid["overdue"]) == ("paid", False)


def test_a_paid_invoice_never_becomes_overdue(story: Story) -> None:
    story.plan("pro", 2999)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "pro", billing_cycle="monthly")
    story.advance(utc(2026, 3, 1))
    (invoice,) = invoices_of(story, "acme")
    story.post(f"/v1/invoices/{invoice['id']}/pay")
    story.advance(utc(2026, 3, 31, 13))
    assert "invoice.overdue" not in story.event_types("invoice.")


def test_nothing_to_pay_is_issued_and_paid_at_once(story: Story) -> None:
    story.plan("pro", 2999)
    story.post("/v1/coupons", {"code": "FIRSTFREE", "percent_off": "100", "duration": "once"}, 201)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "pro", billing_cycle="monthly", coupon_code="FIRSTFREE")
    story.advance(utc(2026, 4, 1))
    first, second = invoices_of(story, "acme")
    assert (first["number"], first["status"], first["total"], first["paid_at"] is not None) == (
        "INV-2026-0001",
        "paid",
        0,
        True,
    )
    assert lines(first) == [("plan", 2999, 2999)]
    assert (second["status"], second["total"], lines(second)) == ("open", 2999, [("plan", 2999, 0)])
    assert story.event_types("invoice.paid") == ["invoice.paid"]


def test_an_upgrade_with_a_coupon_and_tax(story: Story) -> None:
    """$30 → $60 on Mar 11 12:00 with 50 % forever and 10 % tax: the proration lines carry
    the coupon, the tax applies to what is left."""
    story.plan("pro", 3000)
    story.plan("max", 6000)
    tax(story, tax_rates=[{"rate": "10", "label": "Sales tax"}])
    story.post("/v1/coupons", {"code": "HALF", "percent_off": "50", "duration": "forever"}, 201)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro", billing_cycle="monthly", coupon_code="HALF")
    story.advance(utc(2026, 3, 11, 12))
    story.post(f"/v1/subscriptions/{sub['id']}/change", {"new_plan_id": "max"})
    story.advance(utc(2026, 3, 11, 12))
    first, upgrade = invoices_of(story, "acme")
    assert lines(first) == [("plan", 3000, 1500)]
    assert amounts(first) == {
        "subtotal": 3000,
        "discount": 1500,
        "tax": 150,
        "total": 1650,
        "credits_applied": 0,
        "amount_due": 1650,
        "amount_paid": 0,
    }
    assert lines(upgrade) == [("proration", -1984, -992), ("proration", 3968, 1984)]
    assert (upgrade["tax_label"], upgrade["tax_rate"]) == ("Sales tax", "10")
    assert amounts(upgrade) == {
        "subtotal": 1984,
        "discount": 992,
        "tax": 99,  # 99.2
        "total": 1091,
        "credits_applied": 0,
        "amount_due": 1091,
        "amount_paid": 0,
    }
    story.advance(utc(2026, 4, 1))
    renewal = invoices_of(story, "acme")[-1]
    assert (lines(renewal), renewal["total"]) == ([("plan", 6000, 3000)], 3300)
    assert [i["number"] for i in invoices_of(story, "acme")] == [
        "INV-2026-0001",
        "INV-2026-0002",
        "INV-2026-0003",
    ]


def test_a_voided_run_invoice_is_not_billed_again(story: Story) -> None:
    story.plan("pro", 2999)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "pro", billing_cycle="monthly")
    story.advance(utc(2026, 3, 1))
    (invoice,) = invoices_of(story, "acme")
    voided = story.post(f"/v1/invoices/{invoice['id']}/void")
    assert (voided["status"], voided["amount_due"]) == ("void", 0)
    story.advance(utc(2026, 3, 2))
    assert [i["status"] for i in invoices_of(story, "acme")] == ["void"]
    assert story.event_types("invoice.") == [
        "invoice.created",
        "invoice.finalized",
        "invoice.voided",
    ]


def test_the_upcoming_invoice_is_the_next_run_computed_now(story: Story) -> None:
    story.plan("pro", 3000)
    story.plan("basic", 1000)
    story.post(
        "/v1/coupons",
        {"code": "HALF3", "percent_off": "50", "duration": "repeating", "duration_months": 2},
        201,
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro", billing_cycle="monthly", coupon_code="HALF3")
    story.advance(utc(2026, 3, 20))
    preview = story.ok("GET", "/v1/customers/acme/upcoming-invoice")
    assert (preview["status"], preview["number"], preview["id"].startswith("inv_")) == (
        "draft",
        None,
        True,
    )
    assert lines(preview) == [("plan", 3000, 1500)]  # April, second month of the coupon
    assert preview["period_start"][:10] == "2026-04-01"
    # A downgrade scheduled for period end shows in the preview; nothing was written.
    story.post(f"/v1/subscriptions/{sub['id']}/change", {"new_plan_id": "basic"})
    preview = story.ok("GET", "/v1/customers/acme/upcoming-invoice")
    assert lines(preview) == [("plan", 1000, 500)]
    assert len(invoices_of(story, "acme")) == 1
    assert story.sub(sub["id"])["plan_id"] == "pro"
    story.advance(utc(2026, 4, 1))
    renewal = invoices_of(story, "acme")[-1]
    assert (lines(renewal), renewal["total"]) == (lines(preview), preview["total"])
    missing = story.client.get("/v1/customers/nobody/upcoming-invoice")
    assert missing.status_code == 404
    key = story.post("/v1/customers/acme/keys", {"name": "app"}, 201)["key"]
    own = story.client.get(
        "/v1/customers/acme/upcoming-invoice", headers={"Authorization": f"Bearer {key}"}
    )
    assert (own.status_code, own.json()["total"]) == (200, 1000), own.text


def test_numbers_take_the_utc_year_and_due_dates_the_customers_clock(story: Story) -> None:
    """Net terms are days on the customer's clock at the same local time of day (30
    days from Mar 1 12:00 PST is Mar 31 12:00 PDT, 19:00Z across the DST change);
    the number's year is the UTC year of issue (Jan 1 03:00Z is still Dec 31 in Los
    Angeles, and the number is of 2027)."""
    story.starts_at(utc(2026, 3, 1, 20))
    story.customer("acme", timezone="America/Los_Angeles")
    body = {
        "customer_id": "acme",
        "auto_finalize": True,
        "items": [{"description": "Setup", "unit_amount": 100}],
    }
    march = story.post("/v1/invoices", body, 201)
    assert (march["issued_at"], march["due_date"]) == (
        "2026-03-01T20:00:00Z",
        "2026-03-31T19:00:00Z",
    )
    story.advance(utc(2027, 1, 1, 3))
    new_year = story.post("/v1/invoices", body, 201)
    assert (new_year["number"], new_year["due_date"]) == (
        "INV-2027-0001",
        "2027-01-31T03:00:00Z",
    )


def test_an_amount_off_coupon_on_proportional_lines_takes_their_share(story: Story) -> None:
    """A 1000-off forever coupon on a 3000 plan: half a period's credit gives back half
    of the 2000 paid (-1500 with -500 off); an upgrade to 6000 at mid-period credits
    -1500 (-500 off) and charges 3000 with 500 off (half of the new period's 5000)."""
    story.plan("pro", 3000)
    story.plan("max", 6000)
    coupon = {"code": "OFF10", "amount_off": 1000, "currency": "USD", "duration": "forever"}
    story.post("/v1/coupons", coupon, 201)
    story.starts_at(utc(2026, 4, 1))
    story.customer("acme")
    story.customer("bolt")
    canceled = story.subscribe("acme", "pro", coupon_code="OFF10", billing_cycle="monthly")
    upgraded = story.subscribe("bolt", "pro", coupon_code="OFF10", billing_cycle="monthly")
    story.advance(utc(2026, 4, 16))
    story.post(f"/v1/subscriptions/{canceled['id']}/cancel", {"cancel_immediately": True})
    story.post(f"/v1/subscriptions/{upgraded['id']}/change", {"new_plan_id": "max"})
    story.advance(utc(2026, 4, 16, 1))
    first, cancel = invoices_of(story, "acme")
    assert (lines(first), first["total"]) == ([("plan", 3000, 1000)], 2000)
    assert (lines(cancel), cancel["total"]) == ([("cancel_credit", -1500, -500)], -1000)
    _, upgrade = invoices_of(story, "bolt")
    assert lines(upgrade) == [("proration", -1500, -500), ("proration", 3000, 500)]
    assert upgrade["total"] == 1500  # 2500 for half of max at 5000, less 1000 unused of pro
