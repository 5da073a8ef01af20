"""Invoice stories with usage in arrears: resource rates, hybrid plans, tiers and
minimum commitments, to the cent."""

from __future__ import annotations

from invoices import invoices_of, lines, metric, redeliver, usage_lines, usage_plan, use
from sqlalchemy.orm import Session, sessionmaker
from story import Story, utc

from tollway.kernel.clock import Clock

MONTHLY = {"billing_cycle": "monthly"}


def test_resource_rates_make_one_invoice_of_140_with_two_lines(
    story: Story, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    """2 cores for 10 hours at 5 per core-hour, 4 GB for 10 hours at 1 per GB-hour."""
    metric(story, "cpu_cores", "weighted_sum")
    metric(story, "memory_gb", "weighted_sum")
    usage_plan(
        story,
        "cloud",
        [
            {"metric": "cpu_cores", "model": "standard", "unit_amount": "5"},
            {"metric": "memory_gb", "model": "standard", "unit_amount": "1"},
        ],
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "cloud", **MONTHLY)
    story.advance(utc(2026, 3, 10))
    use(story, "acme", "cpu_cores", 2, "2026-03-05T08:00:00Z")
    use(story, "acme", "cpu_cores", 0, "2026-03-05T18:00:00Z")
    use(story, "acme", "memory_gb", 4, "2026-03-05T08:00:00Z")
    use(story, "acme", "memory_gb", 0, "2026-03-05T18:00:00Z")
    assert invoices_of(story, "acme") == []  # a usage-only plan bills nothing in advance
    story.advance(utc(2026, 4, 1))
    (invoice,) = invoices_of(story, "acme")
    assert usage_lines(invoice) == [("cpu_cores", "20", "5", 100), ("memory_gb", "40", "1", 40)]
    assert [line["description"] for line in invoice["line_items"]] == [
        "cpu cores: 20 \u00d7 5",
        "memory gb: 40 \u00d7 1",
    ]
    assert (invoice["total"], invoice["amount_due"], invoice["status"]) == (140, 140, "open")
    assert (invoice["period_start"][:10], invoice["period_end"][:10]) == (
        "2026-03-01",
        "2026-04-01",
    )
    redeliver(story, session_factory, clock, "subscription.renewed")
    assert len(invoices_of(story, "acme")) == 1  # the period's usage is billed once


def test_hybrid_base_in_advance_then_overage_with_the_next_base(story: Story) -> None:
    metric(story, "core_hours")
    usage_plan(
        story,
        "hybrid",
        [{"metric": "core_hours", "model": "standard", "unit_amount": "5", "included_units": 100}],
        prices=[{"interval": "monthly", "amount": 2999}],
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "hybrid", **MONTHLY)
    story.advance(utc(2026, 3, 15))
    use(story, "acme", "core_hours", 120, "2026-03-14T10:00:00Z")
    (first,) = invoices_of(story, "acme")
    assert (lines(first), first["total"]) == ([("plan", 2999, 0)], 2999)
    preview = story.ok("GET", "/v1/customers/acme/upcoming-invoice")
    assert [(line["kind"], line["amount"]) for line in preview["line_items"]] == [
        ("plan", 2999),
        ("usage", 100),
    ]
    story.advance(utc(2026, 4, 1))
    first, renewal = invoices_of(story, "acme")
    assert [
        (line["kind"], line["amount"], line["period_start"][:10]) for line in renewal["line_items"]
    ] == [
        ("plan", 2999, "2026-04-01"),
        ("usage", 100, "2026-03-01"),
    ]
    assert usage_lines(renewal) == [("core_hours", "20", "5", 100)]
    assert (renewal["total"], renewal["number"]) == (3099, "INV-2026-0002")
    assert (preview["total"], preview["line_items"][1]["amount"]) == (3099, 100)


def test_graduated_and_volume_tiers_on_1500_units(story: Story) -> None:
    tiers = [
        {"up_to": 100, "unit_amount": "10"},
        {"up_to": 1000, "unit_amount": "5"},
        {"up_to": None, "unit_amount": "1"},
    ]
    metric(story, "api_calls")
    usage_plan(story, "graduated", [{"metric": "api_calls", "model": "graduated", "tiers": tiers}])
    usage_plan(story, "volume", [{"metric": "api_calls", "model": "volume", "tiers": tiers}])
    story.starts_at(utc(2026, 3, 1))
    story.customer("grad")
    story.customer("vol")
    story.subscribe("grad", "graduated", **MONTHLY)
    story.subscribe("vol", "volume", **MONTHLY)
    story.advance(utc(2026, 3, 2))
    for customer in ("grad", "vol"):
        use(story, customer, "api_calls", 1500, "2026-03-01T12:00:00Z")
    story.advance(utc(2026, 4, 1))
    (graduated,) = invoices_of(story, "grad")
    (volume,) = invoices_of(story, "vol")
    assert [(q, u, a) for _, q, u, a in usage_lines(graduated)] == [
        ("100", "10", 1000),
        ("900", "5", 4500),
        ("500", "1", 500),
    ]
    assert graduated["total"] == 6000
    assert [(q, u, a) for _, q, u, a in usage_lines(volume)] == [("1500", "1", 1500)]
    assert volume["total"] == 1500


def test_a_minimum_commitment_tops_up_a_quiet_period(story: Story) -> None:
    metric(story, "api_calls")
    usage_plan(
        story,
        "committed",
        [{"metric": "api_calls", "model": "standard", "unit_amount": "2"}],
        minimum_commitment=[{"amount": 1000}],
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "committed", **MONTHLY)
    story.advance(utc(2026, 3, 2))
    use(story, "acme", "api_calls", 150, "2026-03-01T12:00:00Z")
    story.advance(utc(2026, 4, 1))
    (invoice,) = invoices_of(story, "acme")
    assert [(line["kind"], line["amount"]) for line in invoice["line_items"]] == [
        ("usage", 300),
        ("minimum_commitment", 700),
    ]
    assert invoice["total"] == 1000


def test_a_manual_invoice_of_a_period_bills_its_usage_once(story: Story) -> None:
    metric(story, "core_hours")
    usage_plan(
        story,
        "hybrid",
        [{"metric": "core_hours", "model": "standard", "unit_amount": "5"}],
        prices=[{"interval": "monthly", "amount": 2999}],
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "hybrid", **MONTHLY)
    story.advance(utc(2026, 3, 20))
    use(story, "acme", "core_hours", 30, "2026-03-10T10:00:00Z")
    body = {
        "customer_id": "acme",
        "subscription_id": sub["id"],
        "period_start": "2026-03-01T00:00:00Z",
        "period_end": "2026-03-20T00:00:00Z",
    }
    draft = story.post("/v1/invoices", body, 201)
    assert (draft["status"], draft["billing_reason"], lines(draft)) == (
        "draft",
        "manual",
        [("usage", 150, 0)],
    )
    again = story.client.post("/v1/invoices", json=body)
    assert again.status_code == 409, again.text
    story.post(f"/v1/invoices/{draft['id']}/finalize")
    story.advance(utc(2026, 4, 1))
    first, manual, renewal = invoices_of(story, "acme")
    assert lines(renewal) == [("plan", 2999, 0)]  # March's usage was billed by hand
    assert [i["number"] for i in (first, manual, renewal)] == [
        "INV-2026-0001",
        "INV-2026-0002",
        "INV-2026-0003",
    ]
    elsewhere = story.client.post(
        "/v1/invoices",
        json={**body, "period_start": "2026-02-01T00:00:00Z", "period_end": "2026-02-02T00:00:00Z"},
    )
    assert elsewhere.status_code == 409, elsewhere.text  # usage is billed until April 1
    nothing = story.client.post(
        "/v1/invoices",
        json={**body, "period_start": "2026-04-01T00:00:00Z", "period_end": "2026-04-01T00:00:01Z"},
    )
    assert nothing.status_code == 422, nothing.text


def test_usage_during_a_trial_is_free(story: Story) -> None:
    metric(story, "core_hours")
    usage_plan(
        story,
        "hybrid",
        [{"metric": "core_hours", "model": "standard", "unit_amount": "5"}],
        prices=[{"interval": "monthly", "amount": 2999}],
        trial_days=14,
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "hybrid", payment_method_id="pm_card", **MONTHLY)
    story.advance(utc(2026, 3, 5))
    use(story, "acme", "core_hours", 30, "2026-03-04T10:00:00Z")
    assert invoices_of(story, "acme") == []
    story.advance(utc(2026, 3, 16))
    use(story, "acme", "core_hours", 10, "2026-03-15T10:00:00Z")
    (first,) = invoices_of(story, "acme")
    assert (lines(first), first["period_start"][:10]) == ([("plan", 2999, 0)], "2026-03-15")
    story.advance(utc(2026, 4, 15))
    renewal = invoices_of(story, "acme")[-1]
    assert [(line["kind"], line["amount"]) for line in renewal["line_items"]] == [
        ("plan", 2999),
        ("usage", 50),  # the 10 core-hours after the trial
    ]


def calls_in_march(story: Story) -> str:
    """100 calls on Mar 5 and 10 on Mar 20 at 1 each; returns the subscription's id."""
    metric(story, "calls")
    usage_plan(story, "metered", [{"metric": "calls", "model": "standard", "unit_amount": "1"}])
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub_id: str = story.subscribe("acme", "metered", **MONTHLY)["id"]
    story.advance(utc(2026, 3, 25))
    use(story, "acme", "calls", 100, "2026-03-05T08:00:00Z")
    use(story, "acme", "calls", 10, "2026-03-20T08:00:00Z")
    return sub_id


def test_a_manual_invoice_of_part_of_a_period_leaves_the_rest_to_the_run(story: Story) -> None:
    """Billed usage never overlaps and leaves no gap: the run bills the period from
    where the manual invoice stopped."""
    sub_id = calls_in_march(story)
    body = {
        "customer_id": "acme",
        "subscription_id": sub_id,
        "period_start": "2026-03-01T00:00:00Z",
        "period_end": "2026-03-10T00:00:00Z",
        "auto_finalize": True,
    }
    manual = story.post("/v1/invoices", body, 201)
    assert (manual["total"], manual["period_end"][:10]) == (100, "2026-03-10")
    story.advance(utc(2026, 4, 1, 1))
    _, run = invoices_of(story, "acme")
    assert (run["total"], run["period_start"][:10], run["period_end"][:10]) == (
        10,
        "2026-03-10",
        "2026-04-01",
    )


def test_a_manual_period_that_would_overlap_or_leave_a_gap_is_refused(story: Story) -> None:
    sub_id = calls_in_march(story)
    body = {"customer_id": "acme", "subscription_id": sub_id, "auto_finalize": True}
    for start, end in (("2026-03-15", "2026-03-25"), ("2026-02-01", "2026-03-10")):
        period = {"period_start": f"{start}T00:00:00Z", "period_end": f"{end}T00:00:00Z"}
        refused = story.client.post("/v1/invoices", json={**body, **period})
        assert refused.status_code == 409, refused.text
        assert refused.json()["param"] == "period_start"
    future = {"period_start": "2026-03-01T00:00:00Z", "period_end": "2026-04-01T00:00:00Z"}
    refused = story.client.post("/v1/invoices", json={**body, **future})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "period_end"
    story.advance(utc(2026, 4, 1, 1))
    (run,) = invoices_of(story, "acme")
    assert run["total"] == 110
