"""``/v1/customers/{id}/quotas``: status, check, consume, overrides, 429 problems, scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tollway.api import create_app
from tollway.kernel.clock import FixedClock
from tollway.kernel.settings import Settings

ROOT_KEY = "sk_test_root"


def _setup(
    client: TestClient,
    quotas: list[dict[str, Any]],
    *,
    subscribe: bool = True,
    features: dict[str, Any] | None = None,
) -> None:
    for code, aggregation in (("api_calls", "count"), ("storage", "sum")):
        response = client.post(
            "/v1/metrics", json={"code": code, "name": code, "aggregation": aggregation}
        )
        assert response.status_code == 201, response.text
    plan = {
        "code": "pro",
        "name": "Pro",
        "prices": [{"interval": "monthly", "amount": 4900}],
        "quotas": quotas,
        "features": features or {},
    }
    assert client.post("/v1/plans", json=plan).status_code == 201
    assert client.post("/v1/customers", json={"external_id": "acme"}).status_code == 201
    if subscribe:
        response = client.post("/v1/subscriptions", json={"customer_id": "acme", "plan_id": "pro"})
        assert response.status_code == 201, response.text


def _consume(client: TestClient, metric: str = "api_calls", **body: Any) -> Any:
    return client.post(f"/v1/customers/acme/quotas/{metric}/consume", json=body)


def _events(client: TestClient, prefix: str) -> list[dict[str, Any]]:
    data = client.get("/v1/events", params={"limit": 100}).json()["data"]
    return [e for e in reversed(data) if e["type"].startswith(prefix)]


def test_hard_quota_admits_exactly_the_limit_then_429(client: TestClient) -> None:
    _setup(client, [{"metric": "api_calls", "limit": 3, "period": "monthly"}])
    for used in (1, 2, 3):
        response = _consume(client)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "allowed": True,
            "used": str(used),
            "limit": 3,
            "remaining": str(3 - used),
            "enforcement": "hard",
            "resets_at": "2026-02-01T00:00:00Z",
            "duplicate": False,
        }
    refused = _consume(client)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert "Retry-After" not in refused.headers
    problem = refused.json()
    assert problem["type"].endswith("quota_exceeded")
    assert problem["status"] == 429
    assert (problem["used"], problem["limit"], problem["resets_at"]) == (
        "3",
        3,
        "2026-02-01T00:00:00Z",
    )
    # The refused consume wrote nothing: usage still says 3.
    usage = client.get(
        "/v1/customers/acme/usage", params={"metric": "api_calls", "start_date": "2026-01-01"}
    ).json()
    assert usage["total"] == "3"
    check = client.post("/v1/customers/acme/quotas/api_calls/check", json={"quantity": 1})
    assert check.json()["allowed"] is False
    assert check.json()["remaining"] == "0"


def test_check_has_no_side_effects(client: TestClient) -> None:
    _setup(client, [{"metric": "storage", "limit": 10, "period": "monthly"}])
    for _ in range(3):
        response = client.post("/v1/customers/acme/quotas/storage/check", json={"quantity": 9})
        assert response.json() == {
            "allowed": True,
            "used": "0",
            "limit": 10,
            "remaining": "10",
            "enforcement": "hard",
            "resets_at": "2026-02-01T00:00:00Z",
            "duplicate": False,
        }
    too_much = client.post("/v1/customers/acme/quotas/storage/check", json={"quantity": "10.5"})
    assert too_much.json()["allowed"] is False
    assert client.get("/v1/customers/acme/quotas").json()["quotas"]["storage"]["used"] == "0"
    assert _events(client, "quota.") == []


def test_sum_quota_counts_decimal_quantities(client: TestClient) -> None:
    _setup(client, [{"metric": "storage", "limit": 10, "period": "monthly"}])
    assert _consume(client, "storage", quantity="7.5").json()["remaining"] == "2.5"
    refused = _consume(client, "storage", quantity="2.6")
    assert refused.status_code == 429
    assert refused.json()["used"] == "7.5"
    assert _consume(client, "storage", quantity="2.5").json()["used"] == "10.0"


def test_rate_limit_refuses_with_retry_after_until_the_window_resets(
    client: TestClient, clock: Any
) -> None:
    quota = {"metric": "api_calls", "limit": 2, "period": "hourly", "enforcement": "rate_limit"}
    _setup(client, [quota])
    clock.advance(timedelta(minutes=45, seconds=10))  # 12:45:10
    assert _consume(client).status_code == 200
    assert _consume(client).status_code == 200
    refused = _consume(client)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "890"  # until 13:00:00
    assert refused.json()["retry_after"] == 890
    assert refused.json()["resets_at"] == "2026-01-15T13:00:00Z"
    clock.advance(timedelta(seconds=890))
    assert _consume(client).json()["used"] == "1"


def test_soft_quota_allows_beyond_the_limit(client: TestClient) -> None:
    _setup(client, [{"metric": "api_calls", "limit": 2, "period": "daily", "enforcement": "soft"}])
    answers = [_consume(client).json() for _ in range(4)]
    assert [a["used"] for a in answers] == ["1", "2", "3", "4"]
    assert all(a["allowed"] for a in answers)
    assert answers[-1]["remaining"] == "0"
    fired = [
        (e["type"], e["data"]["threshold"], e["data"]["used"]) for e in _events(client, "quota.")
    ]
    assert fired == [
        ("quota.warning", 80, "2"),
        ("quota.warning", 90, "2"),
        ("quota.exceeded", 100, "2"),
    ]
    (grace,) = _events(client, "grace_period.")
    assert grace["data"] == {
        "metric": "api_calls",
        "used": "3",
        "limit": 2,
        "grace_started": "2026-01-15T12:00:00+00:00",
        "grace_ends": "2026-01-22T12:00:00+00:00",
        "period_start": "2026-01-15T00:00:00+00:00",
    }
    assert client.get("/v1/customers/acme/grace-period").json() == {
        "in_grace_period": True,
        "exceeded_quotas": ["api_calls"],
        "grace_started": "2026-01-15T12:00:00Z",
        "grace_ends": "2026-01-22T12:00:00Z",
        "overage_percent": "100.00",
        "recommended_action": "upgrade_plan",
        "suspended": False,
    }


def test_idempotent_consume_by_event_id(client: TestClient) -> None:
    _setup(client, [{"metric": "api_calls", "limit": 5, "period": "monthly"}])
    first = _consume(client, event_id="req-1").json()
    again = _consume(client, event_id="req-1").json()
    assert (first["used"], first["duplicate"]) == ("1", False)
    assert (again["used"], again["duplicate"], again["allowed"]) == ("1", True, True)
    usage = client.get(
        "/v1/customers/acme/usage", params={"metric": "api_calls", "start_date": "2026-01-15"}
    ).json()
    assert usage["total"] == "1"


def test_override_replaces_the_plan_quota_and_delete_restores_it(client: TestClient) -> None:
    _setup(client, [{"metric": "api_calls", "limit": 1, "period": "monthly"}])
    assert _consume(client).status_code == 200
    assert _consume(client).status_code == 429
    put = client.put(
        "/v1/customers/acme/quotas/api_calls",
        json={"limit": 3, "period": "daily", "enforcement": "hard", "thresholds": [50, 100]},
    )
    assert put.status_code == 200, put.text
    assert put.json()["thresholds"] == [50, 100]
    status = client.get("/v1/customers/acme/quotas").json()
    assert status["plan_id"] == "pro"
    assert status["quotas"]["api_calls"] == {
        "used": "1",
        "limit": 3,
        "percent": "33.33",
        "resets_at": "2026-01-16T00:00:00Z",
        "enforcement": "hard",
        "period": "daily",
        "period_start": "2026-01-15T00:00:00Z",
        "source": "override",
    }
    assert _consume(client).json()["used"] == "2"
    assert client.delete("/v1/customers/acme/quotas/api_calls").status_code == 204
    assert _consume(client).status_code == 429
    assert client.delete("/v1/customers/acme/quotas/api_calls").status_code == 404


def test_unlimited_and_unquoted_metrics_always_allow(client: TestClient) -> None:
    _setup(client, [{"metric": "api_calls", "limit": -1, "period": "monthly"}])
    for _ in range(3):
        answer = _consume(client).json()
    assert answer == {
        "allowed": True,
        "used": "3",
        "limit": -1,
        "remaining": None,
        "enforcement": "hard",
        "resets_at": "2026-02-01T00:00:00Z",
        "duplicate": False,
    }
    free = _consume(client, "storage", quantity=1000).json()
    assert (free["allowed"], free["limit"], free["used"]) == (True, -1, "1000")
    status = client.get("/v1/customers/acme/quotas").json()
    assert status["quotas"]["api_calls"]["percent"] is None
    assert "storage" not in status["quotas"]
    assert _events(client, "quota.") == []


def test_usage_through_v1_usage_counts_against_the_quota(client: TestClient) -> None:
    _setup(client, [{"metric": "api_calls", "limit": 4, "period": "monthly"}])
    assert _consume(client).json()["used"] == "1"  # the counter now holds 1
    batch = {"events": [{"customer_id": "acme", "metric": "api_calls"} for _ in range(2)]}
    assert client.post("/v1/usage/batch", json=batch).json()["accepted"] == 2
    single = {"customer_id": "acme", "metric": "api_calls", "event_id": "one"}
    assert client.post("/v1/usage", json=single).status_code == 202
    check = client.post("/v1/customers/acme/quotas/api_calls/check", json={}).json()
    assert (check["used"], check["remaining"]) == ("4", "0")
    refused = _consume(client)
    assert refused.status_code == 429
    assert refused.json()["used"] == "4"


def test_customer_keys_use_their_own_quotas_but_cannot_override(
    client: TestClient, anonymous: TestClient
) -> None:
    _setup(client, [{"metric": "api_calls", "limit": 2, "period": "monthly"}])
    assert client.post("/v1/customers", json={"external_id": "other"}).status_code == 201
    key = client.post("/v1/customers/acme/keys", json={"name": "app"})
    assert key.status_code == 201, key.text
    headers = {"Authorization": f"Bearer {key.json()['key']}"}
    mine = anonymous.post("/v1/customers/acme/quotas/api_calls/consume", json={}, headers=headers)
    assert mine.status_code == 200, mine.text
    assert (
        anonymous.get("/v1/customers/acme/quotas", headers=headers).json()["quotas"]["api_calls"][
            "used"
        ]
        == "1"
    )
    assert (
        anonymous.post(
            "/v1/customers/acme/quotas/api_calls/check", json={}, headers=headers
        ).json()["remaining"]
        == "1"
    )
    other = anonymous.post("/v1/customers/other/quotas/api_calls/consume", json={}, headers=headers)
    assert other.status_code == 404
    override = anonymous.put(
        "/v1/customers/acme/quotas/api_calls",
        json={"limit": 100, "period": "monthly"},
        headers=headers,
    )
    assert override.status_code == 403
    delete = anonymous.delete("/v1/customers/acme/quotas/api_calls", headers=headers)
    assert delete.status_code == 403
    reinstate = anonymous.post("/v1/customers/acme/reinstate", json={}, headers=headers)
    assert reinstate.status_code == 403


def test_bad_inputs_are_422(client: TestClient) -> None:
    _setup(client, [{"metric": "api_calls", "limit": 2, "period": "monthly"}])
    assert _consume(client, quantity=0).status_code == 422
    assert _consume(client, quantity="NaN").status_code == 422
    assert _consume(client, quantity=2).status_code == 422  # count metrics consume one event
    assert _consume(client, unknown=1).status_code == 422
    assert _consume(client, "nope").status_code == 404
    bad = client.put("/v1/customers/acme/quotas/api_calls", json={"limit": -2, "period": "weekly"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"limit", "period"}


def test_a_plan_feature_overrides_the_grace_period_length(client: TestClient) -> None:
    quota = {"metric": "api_calls", "limit": 1, "period": "monthly", "enforcement": "soft"}
    _setup(client, [quota], features={"grace_period_days": 2})
    _consume(client)
    _consume(client)
    grace = client.get("/v1/customers/acme/grace-period").json()
    assert (grace["grace_started"], grace["grace_ends"]) == (
        "2026-01-15T12:00:00Z",
        "2026-01-17T12:00:00Z",
    )
    assert grace["overage_percent"] == "100.00"


def test_no_live_subscription_uses_the_default_plan(client: TestClient) -> None:
    _setup(client, [{"metric": "api_calls", "limit": 1, "period": "monthly"}], subscribe=False)
    assert _consume(client).json()["limit"] == -1  # no plan at all: unlimited
    assert client.patch("/v1/plans/pro", json={"is_default": True}).status_code == 200
    status = client.get("/v1/customers/acme/quotas").json()
    assert (status["plan_id"], status["quotas"]["api_calls"]["used"]) == ("pro", "1")
    assert _consume(client).status_code == 429


def test_a_canceled_subscription_no_longer_sets_the_quota(client: TestClient) -> None:
    _setup(client, [{"metric": "api_calls", "limit": 1, "period": "monthly"}])
    assert _consume(client).json()["limit"] == 1
    [sub] = client.get("/v1/customers/acme/subscriptions").json()["data"]
    canceled = client.post(
        f"/v1/subscriptions/{sub['id']}/cancel", json={"cancel_immediately": True}
    )
    assert canceled.json()["status"] == "canceled", canceled.text
    # no live subscription and no default plan: unlimited, on check and consume alike
    check = client.post("/v1/customers/acme/quotas/api_calls/check", json={"quantity": 5})
    assert (check.json()["allowed"], check.json()["limit"]) == (True, -1)
    assert _consume(client).json()["limit"] == -1
    assert client.get("/v1/customers/acme/quotas").json()["plan_id"] is None


def test_a_plan_change_or_override_in_another_instance_applies_on_the_next_call(
    client: TestClient, settings: Settings, clock: FixedClock
) -> None:
    """Two app instances on one database (as two server processes): what one writes,
    the other's next check or consume judges by, whatever either has already read."""
    _setup(client, [{"metric": "api_calls", "limit": 100, "period": "monthly"}])
    plan = {
        "code": "mini",
        "name": "Mini",
        "prices": [{"interval": "monthly", "amount": 900}],
        "quotas": [{"metric": "api_calls", "limit": 2, "period": "monthly"}],
    }
    assert client.post("/v1/plans", json=plan).status_code == 201
    subscription = client.get("/v1/customers/acme/subscriptions").json()["data"][0]["id"]
    other_app = create_app(settings, clock=clock)
    with TestClient(other_app, headers={"Authorization": f"Bearer {ROOT_KEY}"}) as other:
        for used in ("1", "2", "3"):  # the fast path, warmed in this instance
            assert _consume(client).json()["used"] == used
        put = other.put(
            "/v1/customers/acme/quotas/api_calls",
            json={"limit": 3, "period": "monthly", "enforcement": "hard"},
        )
        assert put.status_code == 200, put.text
        refused = _consume(client)
        assert refused.status_code == 429, refused.text
        assert (refused.json()["used"], refused.json()["limit"]) == ("3", 3)
        assert other.delete("/v1/customers/acme/quotas/api_calls").status_code == 204
        assert _consume(client).json()["limit"] == 100
        change = other.post(
            f"/v1/subscriptions/{subscription}/change",
            json={"new_plan_id": "mini", "immediate": True, "prorate": False},
        )
        assert change.status_code == 200, change.text
        check = client.post("/v1/customers/acme/quotas/api_calls/check", json={"quantity": 1})
        assert (check.json()["allowed"], check.json()["limit"]) == (False, 2)
        assert _consume(client).status_code == 429
        assert (
            other.post("/v1/customers/acme/quotas/api_calls/check", json={}).json()["used"] == "4"
        )


def test_a_consume_makes_one_trip_to_the_thread_pool_two_with_an_idempotency_key(
    client: TestClient, thread_pool_trips: list[str]
) -> None:
    """Without a key, the endpoint's work and the commit share one trip; with one, the
    response is stored under the key and committed on a second. FastAPI would validate
    a plain endpoint's response on the thread pool too (another trip) if the route did
    not make the endpoint a coroutine (``tollway.api.routing``)."""
    _setup(client, [{"metric": "api_calls", "limit": 10, "period": "monthly"}])
    trips = thread_pool_trips
    trips.clear()  # the setup's requests made trips too
    assert _consume(client, quantity=1).status_code == 200
    assert trips == ["run"], trips

    trips.clear()
    keyed = client.post(
        "/v1/customers/acme/quotas/api_calls/consume",
        json={"quantity": 1},
        headers={"Idempotency-Key": "one-more"},
    )
    assert keyed.status_code == 200
    assert trips == ["_lookup", "run", "commit_and_close"], trips
    checked = client.post("/v1/customers/acme/quotas/api_calls/check", json={"quantity": 1})
    assert checked.json()["used"] == "2"  # both consumes committed
