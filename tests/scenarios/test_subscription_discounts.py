"""Stories of discounts and retention: coupons follow plan changes, retention offers
stand in for a coupon and hand it back, months-based discounts on long cycles, offers
that the subscription's state allows, and trials in local days."""

from __future__ import annotations

from story import Story, utc


def test_the_event_shows_the_discount_the_charge_was_billed_with(story: Story) -> None:
    story.plan("pro", 3000)
    story.post("/v1/coupons", {"code": "WELCOME", "percent_off": "10", "duration": "once"}, 201)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro", coupon_code="WELCOME")
    assert sub["discount"] is None  # used up by the first period
    billing = story.events("subscription.created")[0]["data"]["billing"]
    assert billing["charges"][0]["discount"]["code"] == "WELCOME"
    assert billing["discount"] == billing["charges"][0]["discount"]


def test_a_coupon_for_other_plans_stops_applying_after_a_change(story: Story) -> None:
    story.plan("pro", 3000)
    story.plan("max", 6000)
    story.post(
        "/v1/coupons",
        {"code": "PROONLY", "percent_off": "20", "duration": "forever", "plan_codes": ["pro"]},
        201,
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro", coupon_code="PROONLY")
    story.advance(utc(2026, 3, 11, 12))
    changed = story.post(f"/v1/subscriptions/{sub['id']}/change", {"new_plan_id": "max"})
    assert changed["subscription"]["discount"] is None
    story.advance(utc(2026, 4, 1))
    assert story.discounts(sub["id"]) == [
        ("plan", 3000, "20"),
        ("proration", -1984, "20"),  # refunds what was paid for pro
        ("proration", 3968, None),
        ("plan", 6000, None),
    ]


def test_a_retention_discount_stands_in_for_the_coupon_then_hands_it_back(
    story: Story,
) -> None:
    story.plan("pro", 6000)
    story.post("/v1/coupons", {"code": "TEN", "percent_off": "10", "duration": "forever"}, 201)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro", coupon_code="TEN")
    path = f"/v1/subscriptions/{sub['id']}"
    story.advance(utc(2026, 3, 20))
    offers = story.post(f"{path}/cancel", {"offer_retention": True})["offers"]
    story.post(f"{path}/offers/{offers[0]['id']}/accept")
    story.advance(utc(2026, 7, 1))
    assert [percent for _, _, percent in story.discounts(sub["id"])] == [
        "10",
        "25",
        "25",
        "25",
        "10",
    ]
    assert story.sub(sub["id"])["discount"]["code"] == "TEN"


def test_accepting_an_offer_withdraws_a_pending_cancellation(story: Story) -> None:
    story.plan("pro", 6000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    path = f"/v1/subscriptions/{sub['id']}"
    story.advance(utc(2026, 3, 20))
    offers = story.post(f"{path}/cancel", {"offer_retention": True})["offers"]
    assert story.post(f"{path}/cancel", {})["cancel_at_period_end"] is True
    kept = story.post(f"{path}/offers/{offers[0]['id']}/accept")
    assert (kept["cancel_at_period_end"], kept["canceled_at"]) == (False, None)
    story.advance(utc(2026, 4, 1))
    assert story.sub(sub["id"])["status"] == "active"
    assert story.discounts(sub["id"])[-1] == ("plan", 6000, "25")


def test_three_months_off_an_annual_plan_is_a_quarter_of_the_year(story: Story) -> None:
    story.plan("pro", annual=60000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro", billing_cycle="annual")
    path = f"/v1/subscriptions/{sub['id']}"
    story.advance(utc(2026, 3, 20))
    offers = story.post(f"{path}/cancel", {"offer_retention": True})["offers"]
    story.post(f"{path}/offers/{offers[0]['id']}/accept")
    story.advance(utc(2028, 3, 1))
    # 25% for 3 of the 12 months: 6.25% of the year (3750 off 60000), then nothing.
    assert story.discounts(sub["id"]) == [
        ("plan", 60000, None),
        ("plan", 60000, "6.25"),
        ("plan", 60000, None),
    ]
    data = story.ok("GET", f"{path}/charges")["data"]
    assert data[1]["discount"]["months_covered"] == 3


def test_only_offers_the_state_allows_are_made(story: Story) -> None:
    story.plan("pro", 3000, trial_days=14)
    story.post(
        "/v1/plans",
        {
            "code": "forever",
            "name": "Forever",
            "prices": [{"interval": "lifetime", "amount": 9900}],
        },
        201,
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("trialer")
    story.customer("lifer")
    trial = story.subscribe("trialer", "pro")
    answer = story.post(f"/v1/subscriptions/{trial['id']}/cancel", {"offer_retention": True})
    assert [o["type"] for o in answer["offers"]] == ["discount"]
    accepted = story.post(
        f"/v1/subscriptions/{trial['id']}/offers/{answer['offers'][0]['id']}/accept"
    )
    assert accepted["status"] == "trialing"

    lifer = story.subscribe("lifer", "forever", billing_cycle="lifetime")
    canceled = story.post(
        f"/v1/subscriptions/{lifer['id']}/cancel",
        {"offer_retention": True, "cancel_immediately": True},
    )
    assert canceled["status"] == "canceled"  # nothing to offer: it just cancels


def test_accepting_the_pause_offer_credits_then_bills_the_new_period(story: Story) -> None:
    story.plan("pro", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    path = f"/v1/subscriptions/{sub['id']}"
    story.advance(utc(2026, 3, 11, 12))
    offers = story.post(f"{path}/cancel", {"offer_retention": True})["offers"]
    story.post(f"{path}/offers/{offers[1]['id']}/accept")
    story.advance(utc(2026, 7, 11, 12))
    assert story.charges(sub["id"]) == [
        ("plan", 3000, "2026-03-01", "2026-04-01"),
        ("pause_credit", -1984, "2026-03-11", "2026-04-01"),
        ("plan", 3000, "2026-06-11", "2026-07-11"),
        ("plan", 3000, "2026-07-11", "2026-08-11"),
    ]


def test_a_trial_counts_local_days_across_dst(story: Story) -> None:
    story.plan("pro", 3000, trial_days=14)
    story.starts_at(utc(2026, 3, 20, 8))  # 09:00 in Berlin, winter time
    story.customer("berlin", timezone="Europe/Berlin")
    sub = story.subscribe("berlin", "pro", payment_method_id="pm_1")
    assert sub["trial_end"] == "2026-04-03T07:00:00Z"  # 09:00 summer time
    extended = story.post(f"/v1/subscriptions/{sub['id']}/extend-trial", {"days": 1})
    assert extended["trial_end"] == "2026-04-04T07:00:00Z"
    story.advance(utc(2026, 4, 4, 7))
    converted = story.events("subscription.updated")[-1]["data"]
    assert converted["closed_period"] == {
        "period_start": "2026-03-20T08:00:00+00:00",
        "period_end": "2026-04-04T07:00:00+00:00",
    }
    assert story.charges(sub["id"]) == [("plan", 3000, "2026-04-04", "2026-05-04")]
