"""Credit stories on test clocks: plan allocations that burn live and reset each
period, grants that expire on time, and blocked overage."""

from __future__ import annotations

from typing import Any

from story import Story, iso, utc

START = utc(2026, 3, 1, 9, 0)


def _catalog(story: Story, included_credits: int = 2000) -> None:
    for code in ("compute", "storage"):
        story.post("/v1/metrics", {"code": code, "name": code, "aggregation": "sum"}, 201)
    plan = {
        "code": "usage",
        "name": "Usage",
        "prices": [{"interval": "monthly", "amount": 4900}],
        "included_credits": included_credits,
        "charges": [{"metric": "compute", "model": "standard", "unit_amount": "1"}],
    }
    story.post("/v1/plans", plan, 201)


def _use(story: Story, quantity: int, metric: str = "compute") -> None:
    story.post("/v1/usage", {"customer_id": "acme", "metric": metric, "quantity": quantity}, 202)


def _credits(story: Story, **params: str) -> dict[str, Any]:
    result: dict[str, Any] = story.ok("GET", "/v1/customers/acme/credits", params=params)
    return result


def _entries_of(credits: dict[str, Any], grant_id: str) -> list[tuple[str, int]]:
    return sorted((e["kind"], e["amount"]) for e in credits["entries"] if e["grant_id"] == grant_id)


def _subscribed(story: Story) -> None:
    story.starts_at(START)
    _catalog(story)
    story.customer("acme")
    story.subscribe("acme", "usage")
    story.advance(START)  # relays subscription.created to the ledger


def test_a_2000_credit_plan_burns_live_and_starts_again_at_2000(story: Story) -> None:
    _subscribed(story)
    credits = _credits(story)
    assert (credits["balance"], credits["currency"]) == (2000, "USD")
    [allocation] = credits["grants"]
    assert (allocation["source"], allocation["amount"], allocation["expires_at"]) == (
        "plan_allocation",
        2000,
        "2026-04-01T09:00:00Z",
    )
    story.advance(utc(2026, 3, 10))
    _use(story, 1500)
    assert _credits(story)["balance"] == 500
    _use(story, 100, metric="storage")  # not a charge of the plan: burns nothing
    assert _credits(story)["balance"] == 500

    story.advance(utc(2026, 4, 1, 9, 0))
    credits = _credits(story)
    assert credits["balance"] == 2000
    new, old = credits["grants"]
    assert (new["remaining"], new["period_start"]) == (2000, "2026-04-01T09:00:00Z")
    assert (old["remaining"], old["amount"]) == (0, 2000)
    assert _entries_of(credits, old["id"]) == [
        ("consume", -1500),
        ("expire", -500),
        ("grant", 2000),
    ]
    expired = story.events("credits.expired")
    assert [(e["data"]["amount"], e["data"]["source"]) for e in expired] == [
        (500, "plan_allocation")
    ]
    assert len(story.events("credits.granted")) == 2
    # the balance as it stood in the middle of March
    assert _credits(story, at=iso(utc(2026, 3, 20)))["balance"] == 500


def test_an_allocation_never_pays_more_than_it_holds(story: Story) -> None:
    _subscribed(story)
    _use(story, 2600)
    assert _credits(story)["balance"] == 0
    story.advance(utc(2026, 4, 1, 9, 0))
    credits = _credits(story)
    assert _entries_of(credits, credits["grants"][1]["id"]) == [
        ("consume", -2000),
        ("expire", 0),
        ("grant", 2000),
    ]


def test_an_admin_grant_expires_on_time(story: Story) -> None:
    story.starts_at(START)
    story.customer("acme")
    expires = utc(2026, 3, 11, 9, 0)
    grant = story.post(
        "/v1/customers/acme/credits",
        {"amount": 5000, "reason": "promo", "expires_at": iso(expires), "source": "promotion"},
        201,
    )
    assert (grant["remaining"], grant["source"], grant["currency"]) == (5000, "promotion", "USD")
    story.advance(utc(2026, 3, 11, 8, 59, 59))
    assert _credits(story)["balance"] == 5000
    assert story.events("credits.expired") == []
    story.advance(expires)
    credits = _credits(story)
    assert credits["balance"] == 0
    assert credits["entries"][0]["kind"] == "expire"
    assert (credits["entries"][0]["amount"], credits["entries"][0]["at"]) == (-5000, iso(expires))
    [expired] = story.events("credits.expired")
    assert expired["data"]["amount"] == 5000


def test_blocked_overage_refuses_consumes_the_allocation_pays_once_it_is_used_up(
    story: Story,
) -> None:
    _subscribed(story)
    story.ok("PATCH", "/v1/product/settings", json={"credits": {"overage": "block"}})
    consume = "/v1/customers/acme/quotas/{}/consume"
    story.post(consume.format("compute"), {"quantity": 1999})
    story.post(consume.format("compute"), {"quantity": 1})
    refused = story.post(consume.format("compute"), {"quantity": 1}, 429)
    assert refused["type"].endswith("credits_exhausted")
    assert refused["metric"] == "compute"
    story.post(consume.format("storage"), {"quantity": 5})  # the allocation does not pay it
    story.ok("PATCH", "/v1/product/settings", json={"credits": {"overage": "bill"}})
    story.post(consume.format("compute"), {"quantity": 1})
    story.advance(utc(2026, 4, 1, 9, 0))  # a new period: a fresh allocation
    story.ok("PATCH", "/v1/product/settings", json={"credits": {"overage": "block"}})
    story.post(consume.format("compute"), {"quantity": 1})


def test_a_trial_gets_its_allocation_and_the_first_period_a_fresh_one(story: Story) -> None:
    story.starts_at(START)
    _catalog(story)
    story.customer("acme")
    story.ok("PATCH", "/v1/product/settings", json={"subscriptions": {"payments_enabled": False}})
    story.subscribe("acme", "usage", trial_days=7)
    story.advance(utc(2026, 3, 3))
    _use(story, 400)
    credits = _credits(story)
    assert credits["balance"] == 1600
    assert credits["grants"][0]["expires_at"] == "2026-03-08T09:00:00Z"
    story.advance(utc(2026, 3, 8, 9, 0))
    credits = _credits(story)
    assert credits["balance"] == 2000
    assert [g["period_start"] for g in credits["grants"]] == [
        "2026-03-08T09:00:00Z",
        "2026-03-01T09:00:00Z",
    ]
    assert _entries_of(credits, credits["grants"][1]["id"]) == [
        ("consume", -400),
        ("expire", -1600),
        ("grant", 2000),
    ]


def test_a_pause_settles_the_allocation_and_the_resume_grants_a_new_one(story: Story) -> None:
    _subscribed(story)
    sub_id = story.subs_of("acme")[0]["id"]
    story.advance(utc(2026, 3, 4))
    _use(story, 250)
    story.advance(utc(2026, 3, 5))
    story.post(f"/v1/subscriptions/{sub_id}/pause", {"pause_months": 1})
    story.advance(utc(2026, 3, 5))
    # The allocation is settled; the balance holds only the unused paid time of the
    # 4900 fee, which the pause credited on an invoice (4900 x 27.375 / 31 days).
    credits = _credits(story)
    assert credits["balance"] == 4327
    assert sorted((g["source"], g["remaining"]) for g in credits["grants"]) == [
        ("plan_allocation", 0),
        ("refund", 4327),
    ]
    story.post(f"/v1/subscriptions/{sub_id}/resume")
    story.advance(utc(2026, 3, 6))
    credits = _credits(story)
    assert credits["balance"] == 2000  # the resumed period's fee used the 4327
    allocations = [g for g in credits["grants"] if g["source"] == "plan_allocation"]
    assert _entries_of(credits, allocations[1]["id"]) == [
        ("consume", -250),
        ("expire", -1750),
        ("grant", 2000),
    ]


def test_with_blocked_overage_a_retried_consume_is_a_duplicate_not_a_refusal(
    story: Story,
) -> None:
    _subscribed(story)
    story.ok("PATCH", "/v1/product/settings", json={"credits": {"overage": "block"}})
    consume = "/v1/customers/acme/quotas/compute/consume"
    first = story.post(consume, {"quantity": 2000, "event_id": "e1"})
    again = story.post(consume, {"quantity": 2000, "event_id": "e1"})
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    refused = story.post(consume, {"quantity": 1, "event_id": "e2"}, 429)
    assert refused["type"].endswith("credits_exhausted")
    assert _credits(story)["balance"] == 0
    assert story.post(consume, {"quantity": 1, "event_id": "e2"}, 429)["metric"] == "compute"


def test_blocked_overage_refuses_a_consume_the_allocation_cannot_cover_in_full(
    story: Story,
) -> None:
    _subscribed(story)
    story.ok("PATCH", "/v1/product/settings", json={"credits": {"overage": "block"}})
    consume = "/v1/customers/acme/quotas/compute/consume"
    story.post(consume, {"quantity": 1999})
    story.post(consume, {"quantity": 1000000}, 429)
    story.post(consume, {"quantity": 2}, 429)
    story.post(consume, {"quantity": 1})
    assert _credits(story)["balance"] == 0


def _plan(story: Story, code: str, metric: str, amount: int, credits: int = 1000) -> None:
    plan = {
        "code": code,
        "name": code,
        "prices": [{"interval": "monthly", "amount": amount}],
        "included_credits": credits,
        "charges": [{"metric": metric, "model": "standard", "unit_amount": "1"}],
    }
    story.post("/v1/plans", plan, 201)


def _conflict(story: Story, path: str, body: dict[str, Any], field: str, metric: str) -> None:
    refused = story.post(path, body, 409)
    assert (refused["param"], refused["metric"]) == (field, metric), refused


def test_a_metric_is_charged_by_one_live_subscription_per_customer(story: Story) -> None:
    story.starts_at(START)
    story.settings(allow_multiple_subscriptions=True)
    _catalog(story)
    story.post("/v1/metrics", {"code": "gpu", "name": "gpu", "aggregation": "sum"}, 201)
    _plan(story, "usage2", "compute", 4900)
    _plan(story, "disk", "storage", 900)
    _plan(story, "gpu", "gpu", 900)
    _plan(story, "gpu-lite", "gpu", 100)
    story.customer("acme")
    first = story.subscribe("acme", "usage")["id"]
    new = {"customer_id": "acme", "plan_id": "usage2"}
    _conflict(story, "/v1/subscriptions", new, "plan_id", "compute")
    disk = story.subscribe("acme", "disk")["id"]
    for immediate in (True, False):
        change = {"new_plan_id": "usage2", "immediate": immediate}
        _conflict(story, f"/v1/subscriptions/{disk}/change", change, "new_plan_id", "compute")
    story.post(f"/v1/subscriptions/{disk}/change", {"new_plan_id": "gpu-lite"})  # at period end
    gpu = {"customer_id": "acme", "plan_id": "gpu"}
    _conflict(story, "/v1/subscriptions", gpu, "plan_id", "gpu")

    story.advance(utc(2026, 3, 2))
    _use(story, 1500)
    _use(story, 100, metric="storage")
    assert _credits(story)["balance"] == (2000 - 1500) + (1000 - 100)

    story.post(f"/v1/subscriptions/{first}/cancel", {"cancel_immediately": True})
    story.subscribe("acme", "usage2")
    _conflict(story, f"/v1/subscriptions/{first}/reactivate", {}, "plan_id", "compute")
