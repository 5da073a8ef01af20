"""``/v1/usage`` and ``/v1/customers/{id}/usage`` over HTTP: ingestion, dedup, refusals, queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.metering.models import UsageEvent, UsageRejection


def _setup(client: TestClient, *metrics: dict[str, Any], timezone: str = "UTC") -> None:
    assert (
        client.post("/v1/customers", json={"external_id": "acme", "timezone": timezone}).status_code
        == 201
    )
    for metric in metrics:
        response = client.post("/v1/metrics", json={"name": metric["code"], **metric})
        assert response.status_code == 201, response.text


def _count(client: TestClient, model: type[Any]) -> int:
    engine = client.app.state.tollway.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


API_CALLS = {"code": "api_calls", "aggregation": "count"}
STORAGE = {"code": "storage", "aggregation": "sum", "group_by": ["region"]}


def test_single_event_is_accepted_once_and_shows_in_usage(client: TestClient) -> None:
    _setup(client, STORAGE)
    event = {"customer_id": "acme", "metric": "storage", "quantity": "2.5", "event_id": "e1"}
    first = client.post("/v1/usage", json={**event, "properties": {"region": "eu"}})
    assert first.status_code == 202, first.text
    assert first.json() == {
        "event_id": "e1",
        "timestamp": "2026-01-15T12:00:00Z",
        "duplicate": False,
    }
    again = client.post("/v1/usage", json={**event, "properties": {"region": "eu"}})
    assert again.status_code == 202
    assert again.json()["duplicate"] is True
    client.post("/v1/usage", json={**event, "event_id": "e2", "quantity": 1.25})
    usage = client.get(
        "/v1/customers/acme/usage",
        params={"metric": "storage", "start_date": "2026-01-14", "end_date": "2026-01-15"},
    )
    assert usage.status_code == 200, usage.text
    body = usage.json()
    assert body["total"] == "3.75"
    assert body["period"] == {"start": "2026-01-14T00:00:00Z", "end": "2026-01-16T00:00:00Z"}
    assert body["data_points"] == [
        {"date": "2026-01-14", "value": "0"},
        {"date": "2026-01-15", "value": "3.75"},
    ]
    grouped = client.get(
        "/v1/customers/acme/usage",
        params={"metric": "storage", "start_date": "2026-01-15", "group_by": "region"},
    ).json()
    assert [(g["group"], g["total"]) for g in grouped["groups"]] == [
        ({"region": "eu"}, "2.5"),
        ({"region": None}, "1.25"),
    ]
    filtered = client.get(
        "/v1/customers/acme/usage",
        params={"metric": "storage", "start_date": "2026-01-15", "filter": "region:eu"},
    ).json()
    assert filtered["total"] == "2.5"


def test_batch_counts_accepted_duplicates_and_refusals_with_reasons(
    client: TestClient,
) -> None:
    _setup(client, API_CALLS)
    events: list[Any] = [
        {"customer_id": "acme", "metric": "api_calls", "event_id": "a"},
        {"customer_id": "acme", "metric": "api_calls", "event_id": "a"},
        {"customer_id": "ghost", "metric": "api_calls"},
        {"customer_id": "acme", "metric": "nope"},
        {"customer_id": "acme", "metric": "api_calls", "quantity": "NaN"},
        {"customer_id": "acme", "metric": "api_calls", "quantity": "1234567890.123456789"},
        {"customer_id": "acme", "metric": "api_calls", "timestamp": "2025-12-01T00:00:00Z"},
        {"customer_id": "acme", "metric": "api_calls", "timestamp": "2026-01-15T12:06:00Z"},
        "not an object",
        {"customer_id": "acme", "metric": "api_calls", "colour": "red"},
        {"customer_id": "acme", "metric": "api_calls", "quantity": 7},
    ]
    response = client.post("/v1/usage/batch", json={"events": events})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2
    assert body["duplicates"] == 1
    reasons = {r["index"]: r["errors"] for r in body["rejected"]}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8, 9]
    unknown = {"field": "customer_id", "message": "no customer with external id 'ghost'"}
    assert reasons[2] == [unknown]
    assert reasons[3][0]["field"] == "metric"
    assert "finite" in reasons[4][0]["message"]
    assert "18 significant digits" in reasons[5][0]["message"]
    assert "35 days" in reasons[6][0]["message"]
    assert "backfill" in reasons[6][0]["message"]
    assert "300 s" in reasons[7][0]["message"]
    assert reasons[9] == [{"field": "colour", "message": "unknown field"}]
    # Well-formed refusals are recorded; malformed ones are only answered.
    listed = client.get("/v1/usage/rejections").json()["data"]
    assert [r["reason"] for r in listed] == [
        "in_the_future",
        "too_old",
        "unknown_metric",
        "unknown_customer",
    ]
    assert listed[-1]["customer_id"] == "ghost"
    usage = client.get(
        "/v1/customers/acme/usage", params={"metric": "api_calls", "start_date": "2026-01-15"}
    ).json()
    assert usage["total"] == "2"  # count counts events, whatever their quantity


def test_same_events_in_two_batches_count_once(client: TestClient) -> None:
    _setup(client, {"code": "gb", "aggregation": "sum"})
    events = [
        {"customer_id": "acme", "metric": "gb", "quantity": i, "event_id": f"e{i}"}
        for i in range(1, 101)
    ]
    assert client.post("/v1/usage/batch", json={"events": events}).json()["accepted"] == 100
    new = {"customer_id": "acme", "metric": "gb", "quantity": 1000, "event_id": "new"}
    second = client.post("/v1/usage/batch", json={"events": [*events[50:], new]}).json()
    assert second == {"accepted": 1, "duplicates": 50, "rejected": []}
    usage = client.get(
        "/v1/customers/acme/usage", params={"metric": "gb", "start_date": "2026-01-15"}
    ).json()
    assert usage["total"] == str(5050 + 1000)
    assert _count(client, UsageEvent) == 101


def test_refused_single_event_is_422_and_recorded(client: TestClient) -> None:
    _setup(client, API_CALLS)
    response = client.post("/v1/usage", json={"customer_id": "ghost", "metric": "api_calls"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/usage_rejected")
    assert _count(client, UsageRejection) == 1
    malformed = client.post(
        "/v1/usage", json={"customer_id": "acme", "metric": "api_calls", "quantity": "Infinity"}
    )
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "quantity"
    assert _count(client, UsageRejection) == 1
    assert _count(client, UsageEvent) == 0


def test_window_is_a_product_setting_and_backfill_accepts_old_events(
    client: TestClient,
) -> None:
    _setup(client, API_CALLS)
    old = {"customer_id": "acme", "metric": "api_calls", "timestamp": "2026-01-05T10:00:00Z"}
    patched = client.patch("/v1/product/settings", json={"metering": {"max_past_days": 5}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["settings"]["metering"] == {"max_past_days": 5, "max_future_seconds": 300}
    refused = client.post("/v1/usage/batch", json={"events": [old]}).json()
    assert refused["accepted"] == 0
    assert "5 days" in refused["rejected"][0]["errors"][0]["message"]
    missing_time = client.post(
        "/v1/usage/backfill", json={"events": [{"customer_id": "acme", "metric": "api_calls"}]}
    ).json()
    assert missing_time["rejected"][0]["errors"][0]["field"] == "timestamp"
    backfilled = client.post("/v1/usage/backfill", json={"events": [old]})
    assert backfilled.status_code == 200
    assert backfilled.json()["accepted"] == 1
    usage = client.get(
        "/v1/customers/acme/usage",
        params={"metric": "api_calls", "start_date": "2026-01-01", "granularity": "week"},
    ).json()
    assert usage["data_points"] == [
        {"date": "2025-12-29", "value": "0"},
        {"date": "2026-01-05", "value": "1"},
        {"date": "2026-01-12", "value": "0"},
    ]
    audit = client.get("/v1/audit-log").json()["data"]
    assert audit[0]["action"] == "usage.backfill"


def test_customer_keys_cannot_send_usage_but_read_their_own(client: TestClient) -> None:
    _setup(client, API_CALLS)
    client.post("/v1/customers", json={"external_id": "other"})
    client.post("/v1/usage", json={"customer_id": "acme", "metric": "api_calls"})
    key = client.post("/v1/customers/acme/keys", json={"name": "billing page"}).json()["key"]
    headers = {"Authorization": f"Bearer {key}"}
    sent = client.post(
        "/v1/usage", json={"customer_id": "acme", "metric": "api_calls"}, headers=headers
    )
    assert sent.status_code == 403
    own = client.get(
        "/v1/customers/acme/usage",
        params={"metric": "api_calls", "start_date": "2026-01-15"},
        headers=headers,
    )
    assert own.json()["total"] == "1"
    other = client.get("/v1/customers/other/usage", params={"metric": "api_calls"}, headers=headers)
    assert other.status_code == 404


def test_days_follow_the_customer_time_zone(client: TestClient, clock: Any) -> None:
    _setup(client, API_CALLS, timezone="America/New_York")
    # 2026-01-15 03:00 UTC is still the 14th in New York (UTC-5).
    for stamp in ("2026-01-15T03:00:00Z", "2026-01-15T06:00:00Z", "2026-01-15T11:00:00Z"):
        client.post(
            "/v1/usage", json={"customer_id": "acme", "metric": "api_calls", "timestamp": stamp}
        )
    usage = client.get(
        "/v1/customers/acme/usage",
        params={"metric": "api_calls", "start_date": "2026-01-14", "end_date": "2026-01-15"},
    ).json()
    assert usage["period"]["start"] == "2026-01-14T05:00:00Z"
    assert usage["data_points"] == [
        {"date": "2026-01-14", "value": "1"},
        {"date": "2026-01-15", "value": "2"},
    ]
    hourly = client.get(
        "/v1/customers/acme/usage",
        params={"metric": "api_calls", "start_date": "2026-01-15", "granularity": "hour"},
    ).json()
    assert hourly["data_points"][1] == {"date": "2026-01-15T01:00:00-05:00", "value": "1"}
    assert len(hourly["data_points"]) == 24


def test_timestamps_default_to_the_customers_test_clock(client: TestClient, clock: Any) -> None:
    client.post("/v1/metrics", json={"code": "api_calls", "name": "Calls", "aggregation": "count"})
    test_clock = client.post("/v1/test-clocks", json={"frozen_time": "2026-03-01T09:30:00Z"}).json()
    client.post("/v1/customers", json={"external_id": "acme", "test_clock": test_clock["id"]})
    sent = client.post("/v1/usage", json={"customer_id": "acme", "metric": "api_calls"})
    assert sent.json()["timestamp"] == "2026-03-01T09:30:00Z"
    clock.advance(timedelta(days=400))  # the system clock does not matter to this customer
    recent = client.post(
        "/v1/usage",
        json={"customer_id": "acme", "metric": "api_calls", "timestamp": "2026-02-01T00:00:00Z"},
    )
    assert recent.status_code == 202, recent.text


def test_statistics_count_events_and_sum_quantities(client: TestClient) -> None:
    _setup(client, API_CALLS, {"code": "gb", "aggregation": "sum"})
    client.post(
        "/v1/usage/batch",
        json={
            "events": [
                {"customer_id": "acme", "metric": "api_calls", "quantity": 3},
                {"customer_id": "acme", "metric": "api_calls", "quantity": 4},
                {"customer_id": "acme", "metric": "gb", "quantity": "0.5"},
            ]
        },
    )
    stats = client.get("/v1/customers/acme/usage/statistics").json()
    assert stats["metrics"] == [
        {"metric": "api_calls", "event_count": 2, "total_quantity": "7"},
        {"metric": "gb", "event_count": 1, "total_quantity": "0.5"},
    ]
    product = client.get("/v1/usage/statistics", params={"start_date": "2026-01-15"}).json()
    assert product["metrics"] == stats["metrics"]


def test_unknown_dimension_and_oversized_batch_are_refused(client: TestClient) -> None:
    _setup(client, STORAGE)
    bad = client.get("/v1/customers/acme/usage", params={"metric": "storage", "group_by": "colour"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "group_by"
    too_many = client.post(
        "/v1/usage/batch",
        json={"events": [{"customer_id": "acme", "metric": "storage"}] * 10_001},
    )
    assert too_many.status_code == 422
    assert _count(client, UsageEvent) == 0


def test_weighted_sum_is_in_value_hours_as_a_decimal_string(client: TestClient) -> None:
    _setup(client, {"code": "disk", "aggregation": "weighted_sum", "unit": "GB"})
    for stamp, gb in (("2026-01-15T00:00:00Z", "10"), ("2026-01-15T00:20:00Z", "0")):
        client.post(
            "/v1/usage",
            json={"customer_id": "acme", "metric": "disk", "quantity": gb, "timestamp": stamp},
        )
    client.post(
        "/v1/usage",
        json={
            "customer_id": "acme",
            "metric": "disk",
            "quantity": "1",
            "timestamp": "2026-01-15T00:20:01Z",
        },
    )
    usage = client.get(
        "/v1/customers/acme/usage",
        params={"metric": "disk", "start_date": "2026-01-15", "granularity": "day"},
    ).json()
    # 10 GB for 20 minutes, 0 for one second, then 1 GB for the rest of the day.
    one_gb = Decimal(24 * 3600 - 20 * 60 - 1) / 3600
    expected = (Decimal(10) / 3 + one_gb).quantize(Decimal("1e-18"))
    assert usage["total"] == str(expected)
    assert usage["data_points"] == [{"date": "2026-01-15", "value": str(expected)}]


def test_refusals_are_forgotten_after_30_days(client: TestClient, clock: Any) -> None:
    _setup(client, API_CALLS)
    client.post("/v1/usage", json={"customer_id": "ghost", "metric": "api_calls"})
    clock.advance(timedelta(days=29))
    client.post("/v1/usage", json={"customer_id": "phantom", "metric": "api_calls"})
    clock.advance(timedelta(days=2))
    state = client.app.state.tollway  # type: ignore[attr-defined]
    handler = state.registry.handlers["metering.prune_rejections"]
    with unit_of_work(state.session_factory) as session:
        handler(Context(session=session, product_id="any", clock=clock), {})
    listed = client.get("/v1/usage/rejections").json()["data"]
    assert [r["customer_id"] for r in listed] == ["phantom"]
    assert any(p.kind == "metering.prune_rejections" for p in state.registry.periodic)


def test_an_event_is_stored_and_committed_in_one_trip_to_the_thread_pool(
    client: TestClient, thread_pool_trips: list[str]
) -> None:
    """Ingesting and committing share one hop; with an Idempotency-Key the response is
    stored and committed on a second."""
    _setup(client, API_CALLS)
    trips = thread_pool_trips
    trips.clear()  # the setup's requests made trips too
    event = {"customer_id": "acme", "metric": "api_calls"}
    assert client.post("/v1/usage", json={**event, "event_id": "a"}).status_code == 202
    assert trips == ["then_commit"], trips
    trips.clear()
    refused = client.post("/v1/usage", json={**event, "metric": "nope", "event_id": "b"})
    assert refused.status_code == 422  # well-formed: the refusal is recorded, committed
    assert trips == ["then_commit"], trips
    trips.clear()
    keyed = client.post(
        "/v1/usage/batch",
        json={"events": [{**event, "event_id": "c"}]},
        headers={"Idempotency-Key": "k"},
    )
    assert keyed.status_code == 200
    assert trips == ["_lookup", "then_commit", "commit_and_close"], trips

    assert _count(client, UsageEvent) == 2
    assert _count(client, UsageRejection) == 1
