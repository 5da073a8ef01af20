"""The rules around the stories: one live subscription, coupons, overrides, illegal
transitions (409, nothing changes), scoping, audit, settings."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from story import Story, utc

from tollway import subscriptions
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.errors import InvalidTransition
from tollway.migrations.models import metadata


def _counts(story: Story) -> dict[str, int]:
    engine = story.client.app.state.tollway.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return {
            t.name: connection.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }


def _problem(story: Story, path: str, body: dict[str, Any] | None, status: int) -> Any:
    response = story.client.post(path, json=body if body is not None else {})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


def test_illegal_transitions_are_409_and_change_nothing(story: Story) -> None:
    story.plan("pro", 3000, trial_days=7)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    trial = story.subscribe("acme", "pro")
    path = f"/v1/subscriptions/{trial['id']}"
    before = _counts(story)
    for action, body in [
        ("pause", {"pause_months": 1}),
        ("resume", None),
        ("reactivate", None),
    ]:
        problem = _problem(story, f"{path}/{action}", body, 409)
        assert problem["type"] == "https://tollway.dev/problems/invalid_transition"
        assert "trialing" in problem["detail"]
    assert _counts(story) == before

    story.post(f"{path}/cancel", {"cancel_immediately": True})
    before = _counts(story)
    for action, body in [
        ("cancel", {}),
        ("pause", {"pause_months": 1}),
        ("extend-trial", {"days": 3}),
        ("change", {"new_plan_id": "pro", "billing_cycle": "monthly", "price_override": 1}),
        ("addons", {"addon_id": "x"}),
    ]:
        _problem(story, f"{path}/{action}", body, 409)
    assert _counts(story) == before


def test_one_live_subscription_per_customer_unless_allowed(story: Story) -> None:
    story.plan("pro", 3000)
    story.plan("extra", 1000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "pro")
    problem = _problem(story, "/v1/subscriptions", {"customer_id": "acme", "plan_id": "extra"}, 409)
    assert "already has a live subscription" in problem["detail"]
    story.settings(allow_multiple_subscriptions=True)
    story.subscribe("acme", "extra")
    assert len(story.subs_of("acme")) == 2


def test_a_paid_subscription_replaces_the_free_fallback(story: Story) -> None:
    story.plan("free", 0, is_default=True)
    story.plan("pro", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    free = story.subscribe("acme", "free")
    story.advance(utc(2026, 3, 5))
    story.subscribe("acme", "pro")
    assert story.sub(free["id"])["status"] == "canceled"
    assert story.sub(free["id"])["cancel_reason"] == "replaced"
    canceled = story.events("subscription.canceled")[-1]["data"]
    assert canceled["closed_period"] == {
        "period_start": "2026-03-01T00:00:00+00:00",
        "period_end": "2026-03-05T00:00:00+00:00",
    }


def test_create_validates_plan_cycle_customer_and_coupons(story: Story) -> None:
    story.plan("pro", 3000)
    story.plan("other", 1000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.post(
        "/v1/coupons",
        {"code": "ONCE", "percent_off": "10", "duration": "once", "max_redemptions": 1},
        201,
    )
    story.post(
        "/v1/coupons",
        {"code": "OTHERONLY", "percent_off": "10", "duration": "forever", "plan_codes": ["other"]},
        201,
    )
    story.post(
        "/v1/coupons",
        {
            "code": "SOON",
            "amount_off": 500,
            "currency": "USD",
            "duration": "repeating",
            "duration_months": 2,
            "expires_at": "2026-02-01T00:00:00Z",
        },
        201,
    )
    before = _counts(story)
    cases = [
        ({"customer_id": "nobody", "plan_id": "pro"}, 404, None),
        ({"customer_id": "acme", "plan_id": "nope"}, 422, "plan_id"),
        ({"customer_id": "acme", "plan_id": "pro", "billing_cycle": "annual"}, 422, "plan_id"),
        ({"customer_id": "acme", "plan_id": "pro", "coupon_code": "NOPE"}, 422, "coupon_code"),
        ({"customer_id": "acme", "plan_id": "pro", "coupon_code": "OTHERONLY"}, 422, "coupon_code"),
        ({"customer_id": "acme", "plan_id": "pro", "coupon_code": "SOON"}, 422, "coupon_code"),
        (
            {"customer_id": "acme", "plan_id": "pro", "billing_cycle": "weekly"},
            422,
            "billing_cycle",
        ),
    ]
    for body, status, field in cases:
        problem = _problem(story, "/v1/subscriptions", body, status)
        if field:
            assert [e["field"] for e in problem["errors"]] == [field], body
    assert _counts(story) == before

    sub = story.subscribe("acme", "pro", coupon_code="ONCE")
    assert sub["coupon_code"] == "ONCE"
    assert sub["discount"] is None  # used up by the first period
    charges = story.ok("GET", f"/v1/subscriptions/{sub['id']}/charges")["data"]
    assert charges[0]["discount"]["percent_off"] == "10"
    assert story.ok("GET", "/v1/coupons/ONCE")["times_redeemed"] == 1
    story.customer("beta")
    exhausted = _problem(
        story,
        "/v1/subscriptions",
        {"customer_id": "beta", "plan_id": "pro", "coupon_code": "ONCE"},
        422,
    )
    assert "maximum redemptions" in exhausted["detail"]


def test_price_override_for_custom_priced_plans(story: Story) -> None:
    story.post(
        "/v1/plans", {"code": "enterprise", "name": "Enterprise", "custom_pricing": True}, 201
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("bigco")
    _problem(story, "/v1/subscriptions", {"customer_id": "bigco", "plan_id": "enterprise"}, 422)
    sub = story.subscribe("bigco", "enterprise", price_override=250000, billing_cycle="annual")
    assert (sub["amount"], sub["price_override"]) == (250000, 250000)
    assert sub["current_period_end"] == "2027-03-01T00:00:00Z"
    assert story.charges(sub["id"]) == [("plan", 250000, "2026-03-01", "2027-03-01")]


def test_a_usage_plan_is_sold_only_in_its_charges_currencies(story: Story) -> None:
    story.post("/v1/metrics", {"code": "calls", "name": "Calls", "aggregation": "count"}, 201)
    charge = {"metric": "calls", "model": "standard", "unit_amount": "5"}
    usage_only = {
        "code": "usage",
        "name": "Usage",
        "currency": "USD",
        "charges": [charge],
        "minimum_commitment": [{"amount": 5000}],
    }
    story.post("/v1/plans", usage_only, 201)
    story.post(
        "/v1/plans",
        {**usage_only, "code": "custom", "custom_pricing": True, "minimum_commitment": []},
        201,
    )
    story.post("/v1/plans", {"code": "free", "name": "Free"}, 201)
    story.starts_at(utc(2026, 3, 1))
    story.customer("eurco", currency="EUR")
    story.customer("usco")
    before = _counts(story)
    for plan, extra in [("usage", {}), ("custom", {"price_override": 90000})]:
        problem = _problem(
            story, "/v1/subscriptions", {"customer_id": "eurco", "plan_id": plan, **extra}, 422
        )
        assert problem["errors"] == [
            {
                "field": "plan_id",
                "message": f"plan {plan!r} is not sold in EUR: "
                "its usage is priced in other currencies",
            }
        ]
    assert _counts(story) == before
    assert story.subscribe("usco", "usage")["currency"] == "USD"
    free = story.subscribe("eurco", "free")  # no usage pricing: sold in any currency
    assert free["currency"] == "EUR"
    change = {"new_plan_id": "usage", "billing_cycle": "monthly"}
    problem = _problem(story, f"/v1/subscriptions/{free['id']}/change", change, 422)
    assert [e["field"] for e in problem["errors"]] == ["new_plan_id"]


def test_lifetime_subscriptions_never_renew(story: Story) -> None:
    story.post(
        "/v1/plans",
        {
            "code": "forever",
            "name": "Forever",
            "prices": [{"interval": "lifetime", "amount": 99900}],
        },
        201,
    )
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "forever", billing_cycle="lifetime")
    assert sub["current_period_end"] is None
    story.advance(utc(2030, 1, 1))
    assert story.charges(sub["id"]) == [("plan", 99900, "2026-03-01", None)]
    assert story.event_types() == ["subscription.created"]


def test_customer_keys_see_only_their_own_subscriptions(story: Story) -> None:
    story.plan("pro", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.customer("beta")
    mine = story.subscribe("acme", "pro")
    theirs = story.subscribe("beta", "pro")
    key = story.post("/v1/customers/acme/keys", {"name": "billing page"}, 201)["key"]
    headers = {"Authorization": f"Bearer {key}"}
    client = story.client
    assert client.get(f"/v1/subscriptions/{mine['id']}", headers=headers).status_code == 200
    assert client.get(f"/v1/subscriptions/{theirs['id']}", headers=headers).status_code == 404
    assert client.get("/v1/customers/beta/subscriptions", headers=headers).status_code == 404
    denied = client.post(f"/v1/subscriptions/{mine['id']}/cancel", json={}, headers=headers)
    assert denied.status_code == 403


def test_every_transition_is_audited_with_before_and_after(story: Story) -> None:
    story.plan("pro", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    story.post(f"/v1/subscriptions/{sub['id']}/pause", {"pause_months": 1})
    records = story.ok("GET", "/v1/audit-log", params={"subject_id": sub["id"]})["data"]
    assert [r["action"] for r in records] == ["subscription.pause", "subscription.create"]
    assert records[0]["before"]["status"] == "active"
    assert records[0]["after"]["status"] == "paused"
    assert records[0]["actor"]


def test_settings_section_validates_and_has_defaults(story: Story) -> None:
    section = story.ok("GET", "/v1/product")["settings"]["subscriptions"]
    assert section["billing_mode"] == "anniversary"
    assert section["retention_offers"] == [
        {"type": "discount", "discount_percent": "25", "duration_months": 3, "pause_months": None},
        {"type": "pause", "discount_percent": None, "duration_months": None, "pause_months": 3},
    ]
    response = story.client.patch(
        "/v1/product/settings", json={"subscriptions": {"billing_day": 29}}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["subscriptions.billing_day"]


def test_current_subscription_for_later_domains(story: Story) -> None:
    story.plan("pro", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.customer("idle")
    sub = story.subscribe("acme", "pro")
    state = story.client.app.state.tollway  # type: ignore[attr-defined]
    with unit_of_work(state.session_factory) as session:
        ctx = Context(session=session, product_id=state.default_product_id, clock=state.clock)
        customer_id = story.ok("GET", "/v1/customers/acme")["id"]
        idle_id = story.ok("GET", "/v1/customers/idle")["id"]
        current = subscriptions.current_subscription(ctx, customer_id)
        assert current is not None
        assert current.id == sub["id"]
        assert subscriptions.current_subscription(ctx, idle_id) is None
        charges = subscriptions.subscription_charges(ctx, customer_id=customer_id)
        assert [c.amount for c in charges] == [3000]
        subscriptions.mark_charges_invoiced(ctx, {"inv_1": charges})
        assert subscriptions.subscription_charges(ctx, customer_id=customer_id) == []
        assert subscriptions.paused_quota_policy(ctx) == "block"


def test_offers_expire_and_products_without_offers_just_cancel(story: Story) -> None:
    story.plan("pro", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    path = f"/v1/subscriptions/{sub['id']}"
    offers = story.post(f"{path}/cancel", {"offer_retention": True})["offers"]
    story.advance(utc(2026, 3, 8))
    late = _problem(story, f"{path}/offers/{offers[0]['id']}/accept", None, 409)
    assert "expired" in late["detail"]
    _problem(story, f"{path}/offers/offer_missing/accept", None, 404)

    story.settings(retention_offers=[])
    canceled = story.post(f"{path}/cancel", {"offer_retention": True, "reason": "bye"})
    assert canceled["cancel_at_period_end"] is True
    assert canceled["cancel_reason"] == "bye"
    again = _problem(story, f"{path}/cancel", {}, 409)
    assert "already set to cancel" in again["detail"]


def test_quarterly_subscription_renews_every_three_months(story: Story) -> None:
    story.post(
        "/v1/plans",
        {"code": "q", "name": "Q", "prices": [{"interval": "quarterly", "amount": 8100}]},
        201,
    )
    story.starts_at(utc(2026, 11, 30, 8))
    story.customer("acme")
    sub = story.subscribe("acme", "q", billing_cycle="quarterly")
    story.advance(utc(2027, 6, 1))
    assert story.charges(sub["id"]) == [
        ("plan", 8100, "2026-11-30", "2027-02-28"),
        ("plan", 8100, "2027-02-28", "2027-05-30"),
        ("plan", 8100, "2027-05-30", "2027-08-30"),
    ]


def test_past_due_renews_and_recovers(story: Story) -> None:
    story.plan("pro", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    state = story.client.app.state.tollway  # type: ignore[attr-defined]

    def act(action: Any) -> str:
        with unit_of_work(state.session_factory) as session:
            ctx = Context(session=session, product_id=state.default_product_id, clock=state.clock)
            return str(action(ctx, sub["id"]).status)

    assert act(subscriptions.mark_past_due) == "past_due"
    story.advance(utc(2026, 4, 1))
    assert story.sub(sub["id"])["status"] == "past_due"
    assert story.charges(sub["id"])[-1] == ("plan", 3000, "2026-04-01", "2026-05-01")
    assert act(subscriptions.mark_recovered) == "active"
    with pytest.raises(InvalidTransition, match="cannot recover a subscription that is active"):
        act(subscriptions.mark_recovered)
    assert story.sub(sub["id"])["status"] == "active"


def test_create_replays_with_an_idempotency_key(story: Story) -> None:
    story.plan("pro", 3000)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    body = {"customer_id": "acme", "plan_id": "pro"}
    headers = {"Idempotency-Key": "sub-acme-1"}
    first = story.client.post("/v1/subscriptions", json=body, headers=headers)
    second = story.client.post("/v1/subscriptions", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(story.subs_of("acme")) == 1


def test_the_fallback_is_only_a_default_plan_sold_in_the_customers_currency(
    story: Story,
) -> None:
    story.plan("basic", 900, is_default=True)  # a paid default, priced in USD only
    story.plan("pro", 3000, currency="EUR")
    story.starts_at(utc(2026, 3, 1))
    story.customer("eu", currency="EUR")
    sub = story.subscribe("eu", "pro")
    story.post(f"/v1/subscriptions/{sub['id']}/cancel", {"cancel_immediately": True})
    # never "basic" for free in EUR: no fallback at all
    assert [(s["plan_id"], s["status"]) for s in story.subs_of("eu")] == [("pro", "canceled")]


def test_a_free_default_plan_is_the_fallback_in_any_currency(story: Story) -> None:
    story.plan("free", 0, is_default=True)
    story.plan("pro", 3000, currency="EUR")
    story.starts_at(utc(2026, 3, 1))
    story.customer("eu", currency="EUR")
    sub = story.subscribe("eu", "pro")
    story.post(f"/v1/subscriptions/{sub['id']}/cancel", {"cancel_immediately": True})
    subs = [(s["plan_id"], s["status"], s["amount"]) for s in story.subs_of("eu")]
    assert subs == [("pro", "canceled", 3000), ("free", "active", 0)]
