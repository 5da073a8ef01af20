"""Stories of a subscription's life: trials, renewals over a year, cancellation,
retention offers, pauses, reactivation and expiry to the free plan."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from story import Story, parse, utc


def test_month_end_anchor_renews_on_the_last_day_and_recovers_over_a_year(story: Story) -> None:
    story.plan("pro", 6000)
    story.starts_at(utc(2026, 1, 31, 15))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")

    story.advance(utc(2027, 1, 31, 15))

    starts = [c[2] for c in story.charges(sub["id"])]
    assert starts == [
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30",
        "2026-07-31", "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31",
        "2027-01-31",
    ]  # fmt: skip
    assert all(c[1] == 6000 for c in story.charges(sub["id"]))
    assert story.event_types() == ["subscription.created"] + ["subscription.renewed"] * 12
    now = story.sub(sub["id"])
    assert (now["current_period_start"], now["current_period_end"]) == (
        "2027-01-31T15:00:00Z",
        "2027-02-28T15:00:00Z",
    )


def test_a_customer_in_sao_paulo_renews_at_nine_local_across_dst(story: Story) -> None:
    # Brazil's last DST ran from 2018-11-04 to 2019-02-17 (UTC-2).
    sp = ZoneInfo("America/Sao_Paulo")
    story.plan("pro", 6000)
    story.starts_at(datetime(2018, 10, 10, 9, tzinfo=sp))
    story.customer("loja", timezone="America/Sao_Paulo")
    sub = story.subscribe("loja", "pro")

    story.advance(utc(2019, 3, 31))

    renewals = story.events("subscription.renewed")
    starts = [parse(e["data"]["billing"]["period_start"]) for e in renewals]
    assert [s.astimezone(sp).strftime("%m-%d %H:%M") for s in starts] == [
        "11-10 09:00", "12-10 09:00", "01-10 09:00", "02-10 09:00", "03-10 09:00"
    ]  # fmt: skip
    assert [s.hour for s in starts] == [11, 11, 11, 11, 12]  # UTC moves with the offset
    assert [parse(e["created"]) for e in renewals] == starts
    assert story.sub(sub["id"])["current_period_end"] == "2019-04-10T12:00:00Z"


def test_calendar_billing_prorates_the_first_stub_then_bills_on_the_billing_day(
    story: Story,
) -> None:
    story.settings(billing_mode="calendar", billing_day=1)
    story.plan("pro", 3100)
    story.starts_at(utc(2026, 3, 11, 12))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    assert sub["current_period_end"] == "2026-04-01T00:00:00Z"
    assert sub["billing_mode"] == "calendar"
    story.advance(utc(2026, 5, 1))
    assert story.charges(sub["id"]) == [
        ("plan", 2050, "2026-03-11", "2026-04-01"),  # 3100 x 20.5 / 31
        ("plan", 3100, "2026-04-01", "2026-05-01"),
        ("plan", 3100, "2026-05-01", "2026-06-01"),
    ]


def test_trial_with_a_payment_method_converts_and_bills(story: Story) -> None:
    story.plan("pro", 6000, trial_days=14)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro", payment_method_id="pm_card_visa")
    assert sub["status"] == "trialing"
    assert sub["trial_end"] == "2026-03-15T00:00:00Z"
    assert story.charges(sub["id"]) == []

    story.advance(utc(2026, 3, 12))
    warned = story.events("subscription.trial_will_end")
    assert [parse(e["created"]) for e in warned] == [utc(2026, 3, 12)]
    assert warned[0]["data"]["has_payment_method"] is True

    story.advance(utc(2026, 3, 15))
    after = story.sub(sub["id"])
    assert after["status"] == "active"
    assert (after["current_period_start"], after["current_period_end"]) == (
        "2026-03-15T00:00:00Z",
        "2026-04-15T00:00:00Z",
    )
    assert story.charges(sub["id"]) == [("plan", 6000, "2026-03-15", "2026-04-15")]
    assert story.event_types() == [
        "subscription.created",
        "subscription.trial_will_end",
        "subscription.updated",
    ]
    updated = story.events("subscription.updated")[0]["data"]
    assert updated["previous_attributes"]["status"] == "trialing"


def test_trial_without_a_payment_method_expires_to_the_free_plan(story: Story) -> None:
    story.plan("free", 0, is_default=True)
    story.plan("pro", 6000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro", trial_days=7)
    story.post(f"/v1/subscriptions/{sub['id']}/extend-trial", {"days": 3})
    assert story.sub(sub["id"])["trial_end"] == "2026-03-11T00:00:00Z"

    story.advance(utc(2026, 3, 10))
    assert story.sub(sub["id"])["status"] == "trialing"  # the original end no longer applies
    story.advance(utc(2026, 3, 11))

    expired = story.sub(sub["id"])
    assert (expired["status"], expired["ended_at"]) == ("expired", "2026-03-11T00:00:00Z")
    subs = story.subs_of("acme")
    assert [(s["plan_id"], s["status"]) for s in subs] == [("pro", "expired"), ("free", "active")]
    assert story.charges(sub["id"]) == []
    assert story.event_types() == [
        "subscription.created",
        "subscription.updated",
        "subscription.trial_will_end",
        "subscription.expired",
        "subscription.created",
    ]


def test_trial_without_a_payment_method_converts_when_payments_are_disabled(
    story: Story,
) -> None:
    story.settings(payments_enabled=False)
    story.plan("pro", 6000, trial_days=7)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    story.advance(utc(2026, 3, 8))
    assert story.sub(sub["id"])["status"] == "active"


def test_cancel_at_period_end_then_reactivate_then_expire_to_free(story: Story) -> None:
    story.plan("free", 0, is_default=True)
    story.plan("pro", 6000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    path = f"/v1/subscriptions/{sub['id']}"

    story.advance(utc(2026, 3, 10))
    canceling = story.post(f"{path}/cancel", {"reason": "too_expensive", "feedback": "pricey"})
    assert (canceling["status"], canceling["cancel_at_period_end"]) == ("active", True)
    assert canceling["cancel_reason"] == "too_expensive"
    assert story.post(f"{path}/reactivate")["cancel_at_period_end"] is False

    story.advance(utc(2026, 4, 1))
    assert story.sub(sub["id"])["status"] == "active"  # renewed: the cancellation was undone
    story.post(f"{path}/cancel", {"reason": "switching"})
    story.advance(utc(2026, 5, 1))

    ended = story.sub(sub["id"])
    assert (ended["status"], ended["ended_at"]) == ("canceled", "2026-05-01T00:00:00Z")
    assert [(s["plan_id"], s["status"]) for s in story.subs_of("acme")] == [
        ("pro", "canceled"),
        ("free", "active"),
    ]
    assert story.charges(sub["id"]) == [
        ("plan", 6000, "2026-03-01", "2026-04-01"),
        ("plan", 6000, "2026-04-01", "2026-05-01"),
    ]
    assert story.event_types() == [
        "subscription.created",
        "subscription.updated",
        "subscription.updated",
        "subscription.renewed",
        "subscription.updated",
        "subscription.canceled",
        "subscription.created",
    ]

    # After cancellation, reactivating starts a new period and replaces the fallback.
    story.advance(utc(2026, 5, 20))
    back = story.post(f"{path}/reactivate")
    assert (back["status"], back["current_period_start"]) == ("active", "2026-05-20T00:00:00Z")
    assert [s["status"] for s in story.subs_of("acme")] == ["active", "canceled"]
    assert story.event_types()[-2:] == ["subscription.canceled", "subscription.reactivated"]


def test_cancel_immediately_credits_unused_time_when_the_product_says_so(story: Story) -> None:
    story.plan("pro", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    story.advance(utc(2026, 3, 11, 12))
    canceled = story.post(
        f"/v1/subscriptions/{sub['id']}/cancel", {"cancel_immediately": True, "reason": "done"}
    )
    assert (canceled["status"], canceled["ended_at"]) == ("canceled", "2026-03-11T12:00:00Z")
    assert story.charges(sub["id"])[-1] == ("cancel_credit", -1984, "2026-03-11", "2026-04-01")
    story.advance(utc(2026, 6, 1))
    assert story.event_types() == ["subscription.created", "subscription.canceled"]

    story.settings(prorate_on_immediate_cancel=False)
    story.customer("beta")
    other = story.subscribe("beta", "pro")
    story.post(f"/v1/subscriptions/{other['id']}/cancel", {"cancel_immediately": True})
    assert [c[0] for c in story.charges(other["id"])] == ["plan"]


def test_cancel_with_retention_offers_and_accept_the_discount(story: Story) -> None:
    story.plan("pro", 6000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    path = f"/v1/subscriptions/{sub['id']}"
    story.advance(utc(2026, 3, 20))
    before = story.sub(sub["id"])

    answer = story.post(
        f"{path}/cancel",
        {"reason": "too_expensive", "feedback": "half the price?", "offer_retention": True},
    )

    assert answer["status"] == "pending_retention"
    offers = answer["offers"]
    terms = [
        (o["type"], o.get("discount_percent"), o.get("duration_months"), o.get("pause_months"))
        for o in offers
    ]
    assert terms == [
        ("discount", "25", 3, None),
        ("pause", None, None, 3),
    ]  # fmt: skip
    assert offers[0]["expires_at"] == "2026-03-27T00:00:00Z"
    assert story.sub(sub["id"]) == before  # nothing changed yet

    kept = story.post(f"{path}/offers/{offers[0]['id']}/accept")
    assert kept["status"] == "active"
    assert kept["cancel_at_period_end"] is False
    assert kept["discount"]["percent_off"] == "25"
    assert kept["discount"]["months_remaining"] == 3
    assert kept["cancel_reason"] == "too_expensive"
    # The other offer can no longer be taken.
    second = story.client.post(f"{path}/offers/{offers[1]['id']}/accept")
    assert second.status_code == 409

    story.advance(utc(2026, 7, 1))
    plan_charges = story.ok("GET", f"{path}/charges")["data"]
    assert [c["amount"] for c in plan_charges] == [6000] * 5
    discounts = [c["discount"] for c in plan_charges]
    assert discounts[0] is None
    assert discounts[4] is None
    assert [(d["source"], d["percent_off"], d["months_remaining"]) for d in discounts[1:4]] == [
        ("retention_offer", "25", 3),
        ("retention_offer", "25", 2),
        ("retention_offer", "25", 1),
    ]
    assert story.sub(sub["id"])["discount"] is None
    renewed = story.events("subscription.renewed")
    assert [e["data"]["billing"]["charges"][0]["discount"] is not None for e in renewed] == [
        True,
        True,
        True,
        False,
    ]


def test_accepting_the_pause_offer_pauses_for_three_months(story: Story) -> None:
    story.plan("pro", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    path = f"/v1/subscriptions/{sub['id']}"
    story.advance(utc(2026, 3, 11, 12))
    offers = story.post(f"{path}/cancel", {"offer_retention": True})["offers"]
    paused = story.post(f"{path}/offers/{offers[1]['id']}/accept")
    assert (paused["status"], paused["resumes_at"]) == ("paused", "2026-06-11T12:00:00Z")
    story.advance(utc(2026, 6, 11, 12))
    assert story.sub(sub["id"])["status"] == "active"
    assert story.event_types() == [
        "subscription.created",
        "subscription.paused",
        "subscription.resumed",
    ]


def test_pause_three_months_resumes_by_itself_with_a_new_period(story: Story) -> None:
    story.plan("pro", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    path = f"/v1/subscriptions/{sub['id']}"
    story.advance(utc(2026, 3, 11, 12))

    paused = story.post(f"{path}/pause", {"pause_months": 3})
    assert (paused["status"], paused["paused_at"], paused["resumes_at"]) == (
        "paused",
        "2026-03-11T12:00:00Z",
        "2026-06-11T12:00:00Z",
    )
    story.advance(utc(2026, 6, 11, 11))
    assert story.sub(sub["id"])["status"] == "paused"
    assert story.event_types("subscription.renewed") == []  # nothing billed while paused

    story.advance(utc(2026, 7, 11, 12))
    resumed = story.sub(sub["id"])
    assert resumed["status"] == "active"
    assert resumed["current_period_start"] == "2026-07-11T12:00:00Z"
    assert story.charges(sub["id"]) == [
        ("plan", 3000, "2026-03-01", "2026-04-01"),
        ("pause_credit", -1984, "2026-03-11", "2026-04-01"),
        ("plan", 3000, "2026-06-11", "2026-07-11"),
        ("plan", 3000, "2026-07-11", "2026-08-11"),
    ]
    assert story.event_types() == [
        "subscription.created",
        "subscription.paused",
        "subscription.resumed",
        "subscription.renewed",
    ]


def test_resume_early_starts_a_new_period_now(story: Story) -> None:
    story.plan("pro", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    path = f"/v1/subscriptions/{sub['id']}"
    story.post(f"{path}/pause", {"pause_months": 3})
    story.advance(utc(2026, 4, 5))
    resumed = story.post(f"{path}/resume")
    assert (resumed["status"], resumed["current_period_end"]) == (
        "active",
        "2026-05-05T00:00:00Z",
    )
    story.advance(utc(2026, 6, 2))  # the automatic resume no longer applies
    assert story.event_types().count("subscription.resumed") == 1


def test_a_change_scheduled_during_a_trial_applies_when_it_converts(story: Story) -> None:
    story.plan("pro", 6000, trial_days=14)
    story.plan("starter", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro", payment_method_id="pm_1")
    changed = story.post(
        f"/v1/subscriptions/{sub['id']}/change", {"new_plan_id": "starter", "immediate": False}
    )
    assert changed["subscription"]["pending_change"]["effective_at"] == "2026-03-15T00:00:00Z"
    story.advance(utc(2026, 3, 15))
    after = story.sub(sub["id"])
    assert (after["status"], after["plan_id"], after["pending_change"]) == (
        "active",
        "starter",
        None,
    )
    assert story.charges(sub["id"]) == [("plan", 3000, "2026-03-15", "2026-04-15")]


def test_a_start_in_new_yorks_repeated_hour_bills_a_full_first_period(story: Story) -> None:
    story.plan("pro", 6000)
    story.starts_at(utc(2026, 11, 1, 6, 30))  # 01:30 EST, the second 01:30 of the night
    story.customer("ny", timezone="America/New_York")
    sub = story.subscribe("ny", "pro")
    assert (sub["current_period_start"], sub["current_period_end"]) == (
        "2026-11-01T06:30:00Z",
        "2026-12-01T06:30:00Z",
    )
    story.advance(utc(2026, 12, 1, 6, 30))
    assert story.charges(sub["id"]) == [
        ("plan", 6000, "2026-11-01", "2026-12-01"),
        ("plan", 6000, "2026-12-01", "2027-01-01"),
    ]
