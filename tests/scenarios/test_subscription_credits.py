"""Stories of credits: what a change, cancel or pause gives back is what was paid for the
rest of the period: calendar stubs, periods not started yet, lifetime, add-ons,
discounts, the subscription's currency, and the usage window each transition closes."""

from __future__ import annotations

from story import Story, utc


def test_a_calendar_stub_is_credited_as_it_was_charged(story: Story) -> None:
    story.settings(billing_mode="calendar", billing_day=1)
    story.plan("starter", 3000)
    story.plan("pro", 6000)
    story.starts_at(utc(2026, 3, 21))
    for name in ("upgrader", "canceler", "pauser"):
        story.customer(name)
    upgrader = story.subscribe("upgrader", "starter")
    canceler = story.subscribe("canceler", "starter")
    pauser = story.subscribe("pauser", "starter")
    # 11 of March's 31 days: 3000 x 11/31 = 1064.52
    assert story.charges(upgrader["id"]) == [("plan", 1065, "2026-03-21", "2026-04-01")]

    story.advance(utc(2026, 3, 21, 0, 0, 1))
    changed = story.post(
        f"/v1/subscriptions/{upgrader['id']}/change", {"new_plan_id": "pro", "immediate": True}
    )
    # (11 days - 1 s) of 31 days: the credit is what was paid, less one second.
    assert [line["amount"] for line in changed["proration"]["lines"]] == [-1065, 2129]

    story.advance(utc(2026, 3, 26))
    story.post(f"/v1/subscriptions/{canceler['id']}/cancel", {"cancel_immediately": True})
    story.post(f"/v1/subscriptions/{pauser['id']}/pause", {"pause_months": 1})
    # 6 days left of the 31-day month the stub was priced on: 3000 x 6/31 = 580.65
    assert story.charges(canceler["id"]) == [
        ("plan", 1065, "2026-03-21", "2026-04-01"),
        ("cancel_credit", -581, "2026-03-26", "2026-04-01"),
    ]
    assert story.charges(pauser["id"]) == [
        ("plan", 1065, "2026-03-21", "2026-04-01"),
        ("pause_credit", -581, "2026-03-26", "2026-04-01"),
    ]
    # Every event that closes a period says which usage window to bill in arrears.
    canceled = story.events("subscription.canceled")[-1]["data"]
    paused = story.events("subscription.paused")[-1]["data"]
    for data in (canceled, paused):
        assert data["closed_period"] == {
            "period_start": "2026-03-21T00:00:00+00:00",
            "period_end": "2026-03-26T00:00:00+00:00",
        }


def test_a_subscription_that_has_not_started_credits_its_whole_fee(story: Story) -> None:
    story.plan("starter", 3000)
    story.plan("pro", 6000)
    story.starts_at(utc(2026, 3, 1))
    for name in ("early", "quitter", "instant"):
        story.customer(name)
    early = story.subscribe("early", "starter", start_at="2026-03-10T00:00:00Z")
    quitter = story.subscribe("quitter", "starter", start_at="2026-03-10T00:00:00Z")
    instant = story.subscribe("instant", "starter")

    changed = story.post(
        f"/v1/subscriptions/{early['id']}/change", {"new_plan_id": "pro", "immediate": True}
    )
    assert [
        (line["amount"], line["period_start"], line["period_end"])
        for line in changed["proration"]["lines"]
    ] == [
        (-3000, "2026-03-10T00:00:00Z", "2026-04-10T00:00:00Z"),
        (6000, "2026-03-10T00:00:00Z", "2026-04-10T00:00:00Z"),
    ]

    canceled = story.post(f"/v1/subscriptions/{quitter['id']}/cancel", {"cancel_immediately": True})
    assert canceled["status"] == "canceled"
    # Never an inverted period: it ends where it would have started.
    assert (
        canceled["current_period_start"],
        canceled["current_period_end"],
        canceled["ended_at"],
    ) == ("2026-03-10T00:00:00Z", "2026-03-10T00:00:00Z", "2026-03-10T00:00:00Z")
    assert story.charges(quitter["id"]) == [
        ("plan", 3000, "2026-03-10", "2026-04-10"),
        ("cancel_credit", -3000, "2026-03-10", "2026-04-10"),
    ]

    story.post(f"/v1/subscriptions/{instant['id']}/cancel", {"cancel_immediately": True})
    assert story.charges(instant["id"]) == [
        ("plan", 3000, "2026-03-01", "2026-04-01"),
        ("cancel_credit", -3000, "2026-03-01", "2026-04-01"),
    ]


def test_lifetime_upgrades_pay_the_difference_and_cannot_pause(story: Story) -> None:
    for code, amount in (("lite", 49900), ("forever", 99900), ("plus", 149900)):
        story.post(
            "/v1/plans",
            {
                "code": code,
                "name": code.title(),
                "prices": [{"interval": "lifetime", "amount": amount}],
            },
            201,
        )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "forever", billing_cycle="lifetime")
    path = f"/v1/subscriptions/{sub['id']}"

    story.advance(utc(2026, 5, 1))
    refused = story.client.post(f"{path}/pause", json={"pause_months": 1})
    assert refused.status_code == 409, refused.text
    assert story.sub(sub["id"])["status"] == "active"

    upgraded = story.post(f"{path}/change", {"new_plan_id": "plus"})
    assert [(line["amount"], line["period_end"]) for line in upgraded["proration"]["lines"]] == [
        (50000, None)
    ]
    # A cheaper lifetime plan applies now (there is no period end) and credits nothing.
    downgraded = story.post(f"{path}/change", {"new_plan_id": "lite"})
    assert downgraded["proration"] == {"lines": [], "net": 0}
    assert downgraded["subscription"]["plan_id"] == "lite"
    story.advance(utc(2030, 1, 1))
    assert story.charges(sub["id"]) == [
        ("plan", 99900, "2026-03-01", None),
        ("proration", 50000, "2026-05-01", None),
    ]


def _seat_story(story: Story) -> dict[str, dict[str, object]]:
    story.post("/v1/plans", {
        "code": "pro",
        "name": "Pro",
        "prices": [
            {"interval": "monthly", "amount": 3000},
            {"interval": "annual", "amount": 30000},
        ],
    }, 201)  # fmt: skip
    story.post(
        "/v1/addons", {"code": "seat", "name": "Seat", "amount": 1000, "interval": "monthly"}, 201
    )
    story.starts_at(utc(2026, 3, 1))
    subs = {}
    for name in ("switcher", "pauser", "canceler"):
        story.customer(name)
        subs[name] = story.subscribe(name, "pro")
        story.post(
            f"/v1/subscriptions/{subs[name]['id']}/addons", {"addon_id": "seat", "quantity": 2}
        )
    story.advance(utc(2026, 3, 11, 12))
    return subs


def test_recurring_addons_are_credited_on_interval_change_pause_and_cancel(
    story: Story,
) -> None:
    subs = _seat_story(story)
    changed = story.post(
        f"/v1/subscriptions/{subs['switcher']['id']}/change",
        {"new_plan_id": "pro", "billing_cycle": "annual"},
    )
    story.post(f"/v1/subscriptions/{subs['pauser']['id']}/pause", {"pause_months": 1})
    story.post(f"/v1/subscriptions/{subs['canceler']['id']}/cancel", {"cancel_immediately": True})

    # 20.5 of 31 days unused: plan 3000 -> 1983.87, two seats 2000 -> 1322.58
    assert [(line["kind"], line["amount"]) for line in changed["proration"]["lines"]] == [
        ("proration", -1984),
        ("addon_proration", -1323),
        ("plan", 30000),
        ("addon", 24000),
    ]
    assert story.charges(subs["pauser"]["id"])[2:] == [
        ("pause_credit", -1984, "2026-03-11", "2026-04-01"),
        ("pause_credit", -1323, "2026-03-11", "2026-04-01"),
    ]
    assert story.charges(subs["canceler"]["id"])[2:] == [
        ("cancel_credit", -1984, "2026-03-11", "2026-04-01"),
        ("cancel_credit", -1323, "2026-03-11", "2026-04-01"),
    ]
    updated = story.events("subscription.updated")[-1]["data"]
    assert updated["closed_period"] == {
        "period_start": "2026-03-01T00:00:00+00:00",
        "period_end": "2026-03-11T12:00:00+00:00",
    }


def test_credits_carry_the_discount_their_charge_was_billed_with(story: Story) -> None:
    story.plan("starter", 3000)
    story.plan("pro", 6000)
    story.post("/v1/coupons", {"code": "HALF", "percent_off": "50", "duration": "forever"}, 201)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "starter", coupon_code="HALF")
    story.advance(utc(2026, 3, 11, 12))
    story.post(f"/v1/subscriptions/{sub['id']}/change", {"new_plan_id": "pro"})
    story.advance(utc(2026, 4, 16))
    story.post(f"/v1/subscriptions/{sub['id']}/cancel", {"cancel_immediately": True})

    # Every line is at 50%: the customer is refunded what they paid, not the list price.
    assert story.discounts(sub["id"]) == [
        ("plan", 3000, "50"),
        ("proration", -1984, "50"),
        ("proration", 3968, "50"),
        ("plan", 6000, "50"),
        ("cancel_credit", -3000, "50"),  # 15 of April's 30 days
    ]


def test_a_change_prices_in_the_subscription_currency(story: Story) -> None:
    for code, usd, brl in (("pro", 3000, 15000), ("max", 6000, 30000)):
        story.post("/v1/plans", {
            "code": code,
            "name": code.title(),
            "currency": "USD",
            "prices": [
                {"interval": "monthly", "amount": usd},
                {"interval": "monthly", "amount": brl, "currency": "BRL"},
            ],
        }, 201)  # fmt: skip
    story.post("/v1/plans", {
        "code": "local",
        "name": "Local",
        "currency": "BRL",
        "prices": [{"interval": "monthly", "amount": 9000}],
    }, 201)  # fmt: skip
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    # the subscription locked the customer's currency: it stays USD
    story.ok("PATCH", "/v1/customers/acme", 409, json={"currency": "BRL"})
    story.advance(utc(2026, 3, 11, 12))

    refused = story.client.post(
        f"/v1/subscriptions/{sub['id']}/change", json={"new_plan_id": "local"}
    )
    assert refused.status_code == 422, refused.text
    changed = story.post(f"/v1/subscriptions/{sub['id']}/change", {"new_plan_id": "max"})
    assert (changed["subscription"]["amount"], changed["subscription"]["currency"]) == (
        6000,
        "USD",
    )
    data = story.ok("GET", f"/v1/subscriptions/{sub['id']}/charges")["data"]
    assert [(c["kind"], c["amount"], c["currency"]) for c in data] == [
        ("plan", 3000, "USD"),
        ("proration", -1984, "USD"),
        ("proration", 3968, "USD"),
    ]
