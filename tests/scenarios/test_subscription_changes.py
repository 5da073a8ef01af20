"""Stories of plan changes: the worked proration example, downgrades that wait, interval
changes, add-ons."""

from __future__ import annotations

from story import Story, utc


def test_upgrade_mid_period_is_prorated_to_the_second(story: Story) -> None:
    story.plan("starter", 3000)
    story.plan("pro", 6000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "starter")
    assert sub["status"] == "active"
    assert (sub["current_period_start"], sub["current_period_end"]) == (
        "2026-03-01T00:00:00Z",
        "2026-04-01T00:00:00Z",
    )

    story.advance(utc(2026, 3, 11, 12))
    changed = story.post(
        f"/v1/subscriptions/{sub['id']}/change",
        {"new_plan_id": "pro", "prorate": True, "immediate": True},
    )

    lines = changed["proration"]["lines"]
    assert [line["amount"] for line in lines] == [-1984, 3968]
    assert changed["proration"]["net"] == 1984
    assert [line["description"] for line in lines] == [
        "Unused time on starter (monthly)",
        "Remaining time on pro (monthly)",
    ]
    assert {(line["period_start"], line["period_end"]) for line in lines} == {
        ("2026-03-11T12:00:00Z", "2026-04-01T00:00:00Z")
    }
    assert changed["subscription"]["plan_id"] == "pro"
    assert changed["subscription"]["current_period_end"] == "2026-04-01T00:00:00Z"
    # The billable record invoicing reads, and the event it consumes.
    assert story.charges(sub["id"]) == [
        ("plan", 3000, "2026-03-01", "2026-04-01"),
        ("proration", -1984, "2026-03-11", "2026-04-01"),
        ("proration", 3968, "2026-03-11", "2026-04-01"),
    ]
    updated = story.events("subscription.updated")[-1]
    assert updated["data"]["previous_attributes"]["plan_id"] == "starter"
    billing = updated["data"]["billing"]
    assert [c["amount"] for c in billing["charges"]] == [-1984, 3968]
    assert (billing["plan_code"], billing["amount"], billing["currency"]) == ("pro", 6000, "USD")

    # The next period bills the new price in advance.
    story.advance(utc(2026, 4, 1))
    assert story.charges(sub["id"])[-1] == ("plan", 6000, "2026-04-01", "2026-05-01")
    renewed = story.events("subscription.renewed")
    assert len(renewed) == 1
    assert renewed[0]["data"]["billing"]["period_start"] == "2026-04-01T00:00:00+00:00"
    assert renewed[0]["data"]["closed_period"]["period_start"] == "2026-03-01T00:00:00+00:00"


def test_a_downgrade_waits_for_period_end(story: Story) -> None:
    story.plan("pro", 6000)
    story.plan("starter", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    story.advance(utc(2026, 3, 20))

    changed = story.post(f"/v1/subscriptions/{sub['id']}/change", {"new_plan_id": "starter"})

    assert changed["proration"] == {"lines": [], "net": 0}
    assert changed["subscription"]["plan_id"] == "pro"
    assert changed["subscription"]["pending_change"] == {
        "plan_id": "starter",
        "billing_cycle": "monthly",
        "amount": 3000,
        "effective_at": "2026-04-01T00:00:00Z",
    }
    story.advance(utc(2026, 3, 31, 23, 59))
    assert story.sub(sub["id"])["plan_id"] == "pro"

    story.advance(utc(2026, 4, 1))
    after = story.sub(sub["id"])
    assert (after["plan_id"], after["amount"], after["pending_change"]) == ("starter", 3000, None)
    assert story.charges(sub["id"]) == [
        ("plan", 6000, "2026-03-01", "2026-04-01"),
        ("plan", 3000, "2026-04-01", "2026-05-01"),
    ]
    assert story.event_types() == [
        "subscription.created",
        "subscription.updated",
        "subscription.renewed",
    ]


def test_an_explicit_immediate_downgrade_credits_the_difference(story: Story) -> None:
    story.plan("pro", 6000)
    story.plan("starter", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    story.advance(utc(2026, 3, 11, 12))
    changed = story.post(
        f"/v1/subscriptions/{sub['id']}/change", {"new_plan_id": "starter", "immediate": True}
    )
    assert [line["amount"] for line in changed["proration"]["lines"]] == [-3968, 1984]
    assert changed["proration"]["net"] == -1984


def test_prorate_false_changes_without_lines(story: Story) -> None:
    story.plan("starter", 3000)
    story.plan("pro", 6000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "starter")
    story.advance(utc(2026, 3, 11, 12))
    changed = story.post(
        f"/v1/subscriptions/{sub['id']}/change", {"new_plan_id": "pro", "prorate": False}
    )
    assert changed["proration"] == {"lines": [], "net": 0}
    assert changed["subscription"]["plan_id"] == "pro"
    assert story.charges(sub["id"]) == [("plan", 3000, "2026-03-01", "2026-04-01")]


def test_monthly_to_annual_restarts_the_period_and_prorates(story: Story) -> None:
    story.plan("pro", 6000, annual=60000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    story.advance(utc(2026, 3, 11, 12))
    changed = story.post(
        f"/v1/subscriptions/{sub['id']}/change",
        {"new_plan_id": "pro", "billing_cycle": "annual"},
    )
    assert [(line["kind"], line["amount"]) for line in changed["proration"]["lines"]] == [
        ("proration", -3968),
        ("plan", 60000),
    ]
    assert changed["proration"]["net"] == 56032
    now = changed["subscription"]
    assert (now["billing_cycle"], now["current_period_start"], now["current_period_end"]) == (
        "annual",
        "2026-03-11T12:00:00Z",
        "2027-03-11T12:00:00Z",
    )
    # The old renewal at 2026-04-01 no longer applies.
    story.advance(utc(2026, 12, 31))
    assert story.event_types("subscription.renewed") == []
    story.advance(utc(2027, 3, 11, 12))
    assert story.charges(sub["id"])[-1] == ("plan", 60000, "2027-03-11", "2028-03-11")


def test_invalid_changes_are_refused_and_change_nothing(story: Story) -> None:
    story.plan("starter", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "starter")
    before = story.sub(sub["id"])
    cases = [
        ({"new_plan_id": "nope"}, 422, "new_plan_id"),
        ({"new_plan_id": "starter"}, 422, "new_plan_id"),
        ({"new_plan_id": "starter", "billing_cycle": "annual"}, 422, "new_plan_id"),
    ]
    for body, status, field in cases:
        response = story.client.post(f"/v1/subscriptions/{sub['id']}/change", json=body)
        assert response.status_code == status, response.text
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert story.sub(sub["id"]) == before
    assert (
        story.client.post(
            "/v1/subscriptions/sub_missing/change", json={"new_plan_id": "x"}
        ).status_code
        == 404
    )


def test_recurring_addons_are_prorated_and_renew_one_offs_bill_once(story: Story) -> None:
    story.plan("starter", 3000)
    story.post(
        "/v1/addons", {"code": "seat", "name": "Seat", "amount": 1000, "interval": "monthly"}, 201
    )
    story.post(
        "/v1/addons",
        {"code": "setup", "name": "Setup", "amount": 5000, "interval": "one_time"},
        201,
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "starter")
    story.advance(utc(2026, 3, 11, 12))

    added = story.post(f"/v1/subscriptions/{sub['id']}/addons", {"addon_id": "seat", "quantity": 2})
    assert [(a["addon_id"], a["quantity"]) for a in added["addons"]] == [("seat", 2)]
    story.post(f"/v1/subscriptions/{sub['id']}/addons", {"addon_id": "setup", "quantity": 1})
    story.advance(utc(2026, 4, 1))
    story.advance(utc(2026, 4, 16))
    story.ok("DELETE", f"/v1/subscriptions/{sub['id']}/addons/seat")
    story.advance(utc(2026, 5, 1))

    assert story.charges(sub["id"]) == [
        ("plan", 3000, "2026-03-01", "2026-04-01"),
        ("addon_proration", 1323, "2026-03-11", "2026-04-01"),  # 2000 x 20.5/31
        ("addon_one_time", 5000, "2026-03-11", None),
        ("plan", 3000, "2026-04-01", "2026-05-01"),
        ("addon", 2000, "2026-04-01", "2026-05-01"),
        ("addon_proration", -1000, "2026-04-16", "2026-05-01"),  # 2000 x 15/30
        ("plan", 3000, "2026-05-01", "2026-06-01"),
    ]
    assert story.sub(sub["id"])["addons"] == []
