"""Quota stories on test clocks: periods that reset, renewals, grace, suspension."""

from __future__ import annotations

from typing import Any

from story import Story, utc


def _catalog(story: Story, *quotas: dict[str, Any]) -> None:
    for code, aggregation in (("api_calls", "count"), ("storage", "sum")):
        story.post("/v1/metrics", {"code": code, "name": code, "aggregation": aggregation}, 201)
    story.post(
        "/v1/plans",
        {
            "code": "pro",
            "name": "Pro",
            "prices": [{"interval": "monthly", "amount": 4900}],
            "quotas": list(quotas),
        },
        201,
    )


def _consume(story: Story, metric: str = "api_calls", status: int = 200, **body: Any) -> Any:
    return story.post(f"/v1/customers/acme/quotas/{metric}/consume", body, status)


def _quotas_settings(story: Story, **section: Any) -> None:
    story.ok("PATCH", "/v1/product/settings", json={"quotas": section})


def test_a_daily_quota_resets_at_the_customers_local_midnight(story: Story) -> None:
    story.starts_at(utc(2026, 3, 2, 20, 0))  # 15:00 in New York
    _catalog(story, {"metric": "api_calls", "limit": 2, "period": "daily"})
    story.customer("acme", timezone="America/New_York")
    story.subscribe("acme", "pro")
    _consume(story)
    assert _consume(story)["remaining"] == "0"
    refused = _consume(story, status=429)
    assert refused["resets_at"] == "2026-03-03T05:00:00Z"  # local midnight, EST
    story.advance(utc(2026, 3, 3, 4, 59, 59))
    _consume(story, status=429)
    story.advance(utc(2026, 3, 3, 5, 0))
    answer = _consume(story)
    assert (answer["used"], answer["resets_at"]) == ("1", "2026-03-04T05:00:00Z")
    # Daylight saving starts on 8 March: that local day is 23 hours long.
    story.advance(utc(2026, 3, 8, 12, 0))
    assert _consume(story)["resets_at"] == "2026-03-09T04:00:00Z"


def test_a_billing_period_quota_follows_the_subscription_renewal(story: Story) -> None:
    story.starts_at(utc(2026, 1, 10, 9, 30))
    _catalog(story, {"metric": "storage", "limit": 5, "period": "billing_period"})
    story.customer("acme")
    story.subscribe("acme", "pro")
    _consume(story, "storage", quantity="4.5")
    refused = _consume(story, "storage", status=429, quantity=1)
    assert (refused["used"], refused["resets_at"]) == ("4.5", "2026-02-10T09:30:00Z")
    status = story.ok("GET", "/v1/customers/acme/quotas")["quotas"]["storage"]
    assert (status["percent"], status["period_start"]) == ("90.00", "2026-01-10T09:30:00Z")
    story.advance(utc(2026, 2, 10, 9, 30))  # the renewal runs: a new billing period
    answer = _consume(story, "storage", quantity=5)
    assert (answer["used"], answer["remaining"], answer["resets_at"]) == (
        "5",
        "0",
        "2026-03-10T09:30:00Z",
    )


def test_a_soft_quota_gets_a_grace_period_then_is_enforced_until_the_period_resets(
    story: Story,
) -> None:
    story.starts_at(utc(2026, 1, 15, 12, 0))
    _catalog(story, {"metric": "api_calls", "limit": 2, "period": "monthly", "enforcement": "soft"})
    _quotas_settings(story, grace_period_days=3)
    story.customer("acme")
    story.subscribe("acme", "pro")
    for _ in range(3):
        _consume(story)
    grace = story.ok("GET", "/v1/customers/acme/grace-period")
    assert grace == {
        "in_grace_period": True,
        "exceeded_quotas": ["api_calls"],
        "grace_started": "2026-01-15T12:00:00Z",
        "grace_ends": "2026-01-18T12:00:00Z",
        "overage_percent": "50.00",
        "recommended_action": "upgrade_plan",
        "suspended": False,
    }
    story.advance(utc(2026, 1, 18, 11, 59))
    assert _consume(story)["used"] == "4"  # still in grace: allowed
    story.advance(utc(2026, 1, 18, 12, 0))
    refused = _consume(story, status=429)
    assert (refused["used"], refused["enforcement"]) == ("4", "hard")
    grace = story.ok("GET", "/v1/customers/acme/grace-period")
    assert (grace["in_grace_period"], grace["recommended_action"]) == (False, "upgrade_required")
    assert story.event_types("grace_period.") == ["grace_period.started", "grace_period.ended"]
    (ended,) = story.events("grace_period.ended")
    assert ended["data"]["still_exceeded"] is True
    assert ended["created"] == "2026-01-18T12:00:00Z"
    story.advance(utc(2026, 2, 1, 0, 0))  # a new period: soft again
    assert _consume(story)["enforcement"] == "soft"
    assert story.ok("GET", "/v1/customers/acme/grace-period")["recommended_action"] == "none"


def test_auto_suspend_refuses_every_consume_until_reinstated(story: Story) -> None:
    story.starts_at(utc(2026, 1, 15, 12, 0))
    _catalog(
        story,
        {"metric": "api_calls", "limit": 1, "period": "monthly", "enforcement": "soft"},
        {"metric": "storage", "limit": 100, "period": "monthly"},
    )
    _quotas_settings(story, grace_period_days=1, auto_suspend=True)
    story.customer("acme")
    story.subscribe("acme", "pro")
    _consume(story)
    _consume(story)  # exceeds: grace starts
    story.advance(utc(2026, 1, 16, 12, 0))  # grace ends, still exceeded: suspended
    assert story.event_types("customer.s") == ["customer.suspended"]
    refused = story.client.post("/v1/customers/acme/quotas/storage/consume", json={})
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("customer_suspended")
    check = story.post("/v1/customers/acme/quotas/storage/check", {})
    assert check["allowed"] is False
    assert story.ok("GET", "/v1/customers/acme/grace-period")["recommended_action"] == (
        "contact_support"
    )
    assert story.post("/v1/customers/acme/reinstate") == {"reinstated": True, "suspended": False}
    assert _consume(story, "storage")["used"] == "1"
    _consume(story, status=429)  # the exceeded soft quota stays enforced this period
    assert story.event_types("customer.") == [
        "customer.created",
        "customer.suspended",
        "customer.reinstated",
    ]


def test_thresholds_fire_from_usage_sent_to_v1_usage(story: Story) -> None:
    story.starts_at(utc(2026, 1, 15, 12, 0, 30))
    _catalog(story, {"metric": "api_calls", "limit": 10, "period": "monthly"})
    story.customer("acme")
    story.subscribe("acme", "pro")
    batch = {"events": [{"customer_id": "acme", "metric": "api_calls"} for _ in range(9)]}
    assert story.post("/v1/usage/batch", batch)["accepted"] == 9
    assert story.events("quota.") == []
    story.advance(utc(2026, 1, 15, 12, 1))  # the evaluation job at the end of the minute
    fired = [(e["type"], e["data"]["threshold"], e["data"]["used"]) for e in story.events("quota.")]
    assert fired == [("quota.warning", 80, "9"), ("quota.warning", 90, "9")]
    _consume(story)
    story.advance(utc(2026, 1, 15, 12, 5))
    assert [e["data"]["threshold"] for e in story.events("quota.")] == [80, 90, 100]


def test_a_paused_subscription_blocks_consumes_by_default(story: Story) -> None:
    story.starts_at(utc(2026, 1, 15, 12, 0))
    _catalog(story, {"metric": "api_calls", "limit": 10, "period": "monthly"})
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    _consume(story)
    story.post(f"/v1/subscriptions/{sub['id']}/pause", {"pause_months": 1})
    refused = _consume(story, status=429)
    assert refused["limit"] == 0
    assert story.ok("GET", "/v1/customers/acme/quotas")["quotas"] == {}
    story.settings(paused_quota_policy="keep")
    assert _consume(story)["used"] == "2"


def test_a_plan_change_ends_an_expired_grace(story: Story) -> None:
    story.starts_at(utc(2026, 1, 15, 12, 0))
    _catalog(story, {"metric": "api_calls", "limit": 1, "period": "monthly", "enforcement": "soft"})
    story.post(
        "/v1/plans",
        {
            "code": "team",
            "name": "Team",
            "prices": [{"interval": "monthly", "amount": 9900}],
            "quotas": [
                {"metric": "api_calls", "limit": 3, "period": "monthly", "enforcement": "soft"}
            ],
        },
        201,
    )
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    _consume(story)
    _consume(story)  # 2 of 1: grace starts, 7 days
    story.advance(utc(2026, 1, 22, 12, 0))
    assert _consume(story, status=429)["enforcement"] == "hard"
    story.post(f"/v1/subscriptions/{sub['id']}/change", {"new_plan_id": "team", "immediate": True})
    answer = _consume(story)  # a new plan: soft again, 3 of 3
    assert (answer["used"], answer["limit"], answer["enforcement"]) == ("3", 3, "soft")
    _consume(story)  # 4 of 3: a new grace period under the new plan
    grace = story.ok("GET", "/v1/customers/acme/grace-period")
    assert (grace["grace_started"], grace["grace_ends"], grace["recommended_action"]) == (
        "2026-01-22T12:00:00Z",
        "2026-01-29T12:00:00Z",
        "upgrade_plan",
    )
    assert story.event_types("grace_period.") == [
        "grace_period.started",
        "grace_period.ended",
        "grace_period.started",
    ]


def _quota_notifications(story: Story) -> list[dict[str, Any]]:
    """The customer's in-app quota notifications (its invoices notify too), newest first."""
    inbox = story.ok("GET", "/v1/customers/acme/notifications")["data"]
    return [n for n in inbox if n["type"].startswith("quota_")]


def test_crossing_80_percent_reaches_the_customer_in_app_once_per_period(story: Story) -> None:
    """quota.warning travels from quotas through the relay to notifications."""
    story.starts_at(utc(2026, 3, 2, 9, 0))
    _catalog(story, {"metric": "api_calls", "limit": 10, "period": "monthly"})
    story.customer("acme")
    story.subscribe("acme", "pro")
    for _ in range(9):
        _consume(story)
    story.advance(utc(2026, 3, 2, 9, 0))  # relays the clock's events at its time
    inbox = _quota_notifications(story)
    assert [(n["type"], n["data"]["threshold"]) for n in inbox] == [
        ("quota_warning", 90),
        ("quota_warning", 80),
    ]
    story.advance(utc(2026, 3, 20, 9, 0))
    _consume(story)  # 10 of 10: exceeded, once; 80 and 90 do not fire again
    story.advance(utc(2026, 3, 20, 9, 0))
    inbox = _quota_notifications(story)
    assert [n["type"] for n in inbox] == ["quota_exceeded", "quota_warning", "quota_warning"]
