"""Test clocks over HTTP: the time machine every later capability's tests use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tollway import customers
from tollway.api import create_app
from tollway.api.state import AppState
from tollway.jobs import run_due
from tollway.kernel.clock import FixedClock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import DONE, FAILED, PENDING, Job, enqueue
from tollway.kernel.outbox import Event, record_event
from tollway.kernel.settings import Settings

ROOT_KEY = "sk_test_root"
T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CHAIN = "test.monthly_chain"


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def add_month(at: datetime) -> datetime:
    month = at.month % 12 + 1
    return at.replace(year=at.year + (at.month == 12), month=month)


class Runs:
    """Handlers registered on the app's registry, and what they saw."""

    def __init__(self, app: FastAPI) -> None:
        self.state: AppState = app.state.tollway
        self.seen: list[dict[str, Any]] = []
        self.failures_left: dict[str, int] = {}
        registry = self.state.registry
        registry.register(CHAIN, self.monthly_chain)
        registry.register("test.note", self.note)
        registry.register("test.flaky", self.flaky)

    def _see(self, ctx: Context, payload: dict[str, Any], clock_id: str | None) -> None:
        self.seen.append(
            {
                "kind": payload.get("kind"),
                "due": payload.get("due"),
                "clock_now": ctx.now(clock_id),
                "system_now": ctx.now(),
                "tag": payload.get("tag"),
            }
        )

    def monthly_chain(self, ctx: Context, payload: dict[str, Any]) -> None:
        """A renewal-like job: does its work, then schedules itself a month later."""
        customer = customers.get_customer_by_id(ctx, payload["customer_id"])
        clock_id = customer.test_clock_id
        self._see(ctx, {**payload, "kind": CHAIN}, clock_id)
        now = ctx.now(clock_id)
        record_event(
            ctx,
            "test.chain_ran",
            {"due": payload["due"]},
            customer_id=customer.id,
            test_clock_id=clock_id,
        )
        following = add_month(now)
        enqueue(
            ctx,
            CHAIN,
            {"customer_id": customer.id, "due": iso(following)},
            due_at=following,
            test_clock_id=clock_id,
        )

    def note(self, ctx: Context, payload: dict[str, Any]) -> None:
        self._see(ctx, {**payload, "kind": "note"}, payload.get("clock_id"))

    def flaky(self, ctx: Context, payload: dict[str, Any]) -> None:
        self._see(ctx, {**payload, "kind": "flaky"}, payload.get("clock_id"))
        tag = payload["tag"]
        if self.failures_left.get(tag, 0) > 0:
            self.failures_left[tag] -= 1
            raise RuntimeError(f"{tag} is not ready yet")

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        clock_id: str | None,
        due_at: datetime | None = None,
        max_attempts: int = 8,
    ) -> str:
        with unit_of_work(self.state.session_factory) as session:
            ctx = Context(
                session=session, product_id=self.state.default_product_id, clock=self.state.clock
            )
            return enqueue(
                ctx,
                kind,
                payload,
                due_at=due_at,
                test_clock_id=clock_id,
                max_attempts=max_attempts,
            ).id

    def job(self, job_id: str) -> Job:
        with unit_of_work(self.state.session_factory) as session:
            return session.get_one(Job, job_id)

    def jobs(self, kind: str) -> list[Job]:
        with unit_of_work(self.state.session_factory) as session:
            return list(session.scalars(select(Job).where(Job.kind == kind).order_by(Job.due_at)))


@pytest.fixture
def runs(app: FastAPI) -> Runs:
    return Runs(app)


def new_clock(client: TestClient, at: datetime = T0, name: str = "annual plan") -> str:
    response = client.post("/v1/test-clocks", json={"frozen_time": iso(at), "name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def advance(client: TestClient, clock_id: str, to: datetime) -> Any:
    return client.post(f"/v1/test-clocks/{clock_id}/advance", json={"frozen_time": iso(to)})


def customer_on(client: TestClient, clock_id: str, external_id: str = "org_1") -> dict[str, Any]:
    response = client.post(
        "/v1/customers", json={"external_id": external_id, "test_clock": clock_id}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def start_chain(runs: Runs, customer: dict[str, Any], first_due: datetime) -> str:
    return runs.enqueue(
        CHAIN,
        {"customer_id": customer["id"], "due": iso(first_due)},
        clock_id=customer["test_clock"],
        due_at=first_due,
    )


def test_create_and_read_a_clock(client: TestClient, clock: Any) -> None:
    created = client.post(
        "/v1/test-clocks", json={"frozen_time": "2026-03-01T09:30:00-03:00", "name": "renewals"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("clock_")
    assert parse(body["frozen_time"]) == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert body["name"] == "renewals"
    assert body["status"] == "ready"
    assert parse(body["created_at"]) == clock.now()

    fetched = client.get(f"/v1/test-clocks/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert [e["type"] for e in client.get("/v1/events").json()["data"]] == ["test_clock.created"]


def test_create_validates_input(client: TestClient) -> None:
    naive = client.post("/v1/test-clocks", json={"frozen_time": "2026-01-01T00:00:00"})
    assert naive.status_code == 422
    assert naive.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in naive.json()["errors"]] == ["frozen_time"]
    assert client.post("/v1/test-clocks", json={}).status_code == 422
    unknown = client.post("/v1/test-clocks", json={"frozen_time": iso(T0), "name": "x", "speed": 2})
    assert unknown.status_code == 422


def test_unknown_clock_is_404(client: TestClient) -> None:
    for response in (
        client.get("/v1/test-clocks/clock_nope"),
        advance(client, "clock_nope", T0),
        client.post("/v1/customers", json={"external_id": "x", "test_clock": "clock_nope"}),
    ):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"


def test_customer_lives_on_its_clock(client: TestClient) -> None:
    clock_id = new_clock(client, T0 - timedelta(days=400))
    customer = customer_on(client, clock_id)
    assert customer["test_clock"] == clock_id
    assert parse(customer["created_at"]) == T0 - timedelta(days=400)
    assert client.get("/v1/customers/org_1").json()["test_clock"] == clock_id


def test_advancing_a_year_runs_twelve_monthly_jobs_each_at_its_due_time(
    client: TestClient, runs: Runs, clock: Any
) -> None:
    clock_id = new_clock(client)
    customer = customer_on(client, clock_id)
    start_chain(runs, customer, add_month(T0))

    target = T0.replace(year=2027)
    response = advance(client, clock_id, target)

    assert response.status_code == 200, response.text
    assert parse(response.json()["frozen_time"]) == target
    assert parse(client.get(f"/v1/test-clocks/{clock_id}").json()["frozen_time"]) == target
    expected = [T0.replace(month=m) for m in range(2, 13)] + [target]
    assert len(runs.seen) == 12
    assert [parse(run["due"]) for run in runs.seen] == expected
    # Each run sees its own due time, on the customer's clock and as "now".
    assert [run["clock_now"] for run in runs.seen] == expected
    assert [run["system_now"] for run in runs.seen] == expected
    # Their writes committed, stamped with the clock's time.
    ran = client.get("/v1/events", params={"type": "test.chain_ran", "limit": 100}).json()
    assert [parse(e["created"]) for e in reversed(ran["data"])] == expected
    # The 13th renewal waits for the next advance; the system clock never moved.
    chain = runs.jobs(CHAIN)
    assert [job.status for job in chain] == [DONE] * 12 + [PENDING]
    assert chain[-1].due_at == T0.replace(year=2027, month=2)
    assert {job.attempts for job in chain[:12]} == {1}
    assert clock.now() == T0


def test_advancing_in_steps_gives_the_same_result(client: TestClient, runs: Runs) -> None:
    clock_id = new_clock(client)
    customer = customer_on(client, clock_id)
    start_chain(runs, customer, add_month(T0))
    at = T0
    for days in (1, 30, 45, 0, 100, 189):
        at += timedelta(days=days)
        assert advance(client, clock_id, at).status_code == 200
    assert at == T0.replace(year=2027)
    assert [run["clock_now"] for run in runs.seen] == [
        T0.replace(month=m) for m in range(2, 13)
    ] + [at]


def test_moving_backwards_is_409_and_changes_nothing(client: TestClient, runs: Runs) -> None:
    clock_id = new_clock(client)
    customer = customer_on(client, clock_id)
    start_chain(runs, customer, add_month(T0))
    assert advance(client, clock_id, add_month(T0)).status_code == 200
    assert len(runs.seen) == 1
    events_before = client.get("/v1/events", params={"limit": 100}).json()["data"]

    backwards = advance(client, clock_id, add_month(T0) - timedelta(microseconds=1))

    assert backwards.status_code == 409
    assert backwards.headers["content-type"] == "application/problem+json"
    problem = backwards.json()
    assert problem["type"].endswith("/conflict")
    assert "only moves forward" in problem["detail"]
    assert parse(client.get(f"/v1/test-clocks/{clock_id}").json()["frozen_time"]) == add_month(T0)
    assert client.get("/v1/events", params={"limit": 100}).json()["data"] == events_before
    assert len(runs.seen) == 1


def test_advancing_to_the_same_time_runs_jobs_due_exactly_now(
    client: TestClient, runs: Runs
) -> None:
    clock_id = new_clock(client)
    due_now = runs.enqueue("test.note", {"clock_id": clock_id, "tag": "now"}, clock_id=clock_id)
    later = runs.enqueue(
        "test.note",
        {"clock_id": clock_id, "tag": "later"},
        clock_id=clock_id,
        due_at=T0 + timedelta(microseconds=1),
    )
    assert runs.job(due_now).due_at == T0  # enqueue defaults to now on the job's clock

    response = advance(client, clock_id, T0)

    assert response.status_code == 200
    assert parse(response.json()["frozen_time"]) == T0
    assert [run["tag"] for run in runs.seen] == ["now"]
    assert runs.seen[0]["clock_now"] == T0
    assert runs.job(due_now).status == DONE
    assert runs.job(later).status == PENDING
    assert advance(client, clock_id, T0).status_code == 200
    assert len(runs.seen) == 1


def test_jobs_already_overdue_on_the_clock_run_at_the_clocks_time(
    client: TestClient, runs: Runs
) -> None:
    """A job due before the clock's time runs at the clock's time: it never goes back."""
    clock_id = new_clock(client)
    runs.enqueue(
        "test.note",
        {"clock_id": clock_id, "tag": "overdue"},
        clock_id=clock_id,
        due_at=T0 - timedelta(days=3),
    )
    assert advance(client, clock_id, T0 + timedelta(hours=1)).status_code == 200
    assert [(run["tag"], run["clock_now"]) for run in runs.seen] == [("overdue", T0)]


def test_advance_runs_only_its_own_clocks_jobs(client: TestClient, runs: Runs, clock: Any) -> None:
    mine = new_clock(client, name="mine")
    other = new_clock(client, name="other")
    a_day = T0 + timedelta(days=1)
    runs.enqueue("test.note", {"clock_id": mine, "tag": "mine"}, clock_id=mine, due_at=a_day)
    theirs = runs.enqueue(
        "test.note", {"clock_id": other, "tag": "theirs"}, clock_id=other, due_at=a_day
    )
    system = runs.enqueue("test.note", {"tag": "system"}, clock_id=None, due_at=T0)

    assert advance(client, mine, T0 + timedelta(days=30)).status_code == 200

    assert [run["tag"] for run in runs.seen] == ["mine"]
    assert runs.job(theirs).status == PENDING
    assert runs.job(system).status == PENDING
    assert parse(client.get(f"/v1/test-clocks/{other}").json()["frozen_time"]) == T0

    # The worker runs the system job, and still not the other clock's.
    state = runs.state
    clock.advance(timedelta(days=365))
    assert run_due(state.session_factory, state.registry, clock, worker_id="w") == 1
    assert [run["tag"] for run in runs.seen] == ["mine", "system"]
    assert runs.job(system).status == DONE
    assert runs.job(theirs).status == PENDING


def test_worker_never_runs_test_clock_jobs(client: TestClient, runs: Runs, clock: Any) -> None:
    clock_id = new_clock(client, T0 - timedelta(days=365))
    job_id = runs.enqueue("test.note", {"clock_id": clock_id, "tag": "t"}, clock_id=clock_id)
    assert runs.job(job_id).due_at == T0 - timedelta(days=365)  # long past on the system clock

    state = runs.state
    for _ in range(3):
        assert run_due(state.session_factory, state.registry, clock, worker_id="w") == 0
        clock.advance(timedelta(days=1000))
    assert runs.job(job_id).status == PENDING
    assert runs.seen == []


def test_failing_job_is_retried_within_the_advance_when_its_retry_falls_before_the_target(
    client: TestClient, runs: Runs
) -> None:
    clock_id = new_clock(client)
    due = T0 + timedelta(hours=1)
    runs.failures_left["twice"] = 2
    job_id = runs.enqueue(
        "test.flaky", {"clock_id": clock_id, "tag": "twice"}, clock_id=clock_id, due_at=due
    )

    assert advance(client, clock_id, T0 + timedelta(days=1)).status_code == 200

    # Backoff of 30 s, then 60 s, in the clock's time.
    assert [run["clock_now"] for run in runs.seen] == [
        due,
        due + timedelta(seconds=30),
        due + timedelta(seconds=90),
    ]
    job = runs.job(job_id)
    assert (job.status, job.attempts) == (DONE, 3)


def test_retry_after_the_target_waits_for_the_next_advance(client: TestClient, runs: Runs) -> None:
    clock_id = new_clock(client)
    runs.failures_left["once"] = 1
    job_id = runs.enqueue("test.flaky", {"clock_id": clock_id, "tag": "once"}, clock_id=clock_id)

    assert advance(client, clock_id, T0 + timedelta(seconds=29)).status_code == 200
    job = runs.job(job_id)
    assert (job.status, job.attempts, job.due_at) == (PENDING, 1, T0 + timedelta(seconds=30))
    assert "once is not ready yet" in (job.last_error or "")

    assert advance(client, clock_id, T0 + timedelta(seconds=30)).status_code == 200
    job = runs.job(job_id)
    assert (job.status, job.attempts) == (DONE, 2)
    assert [run["clock_now"] for run in runs.seen] == [T0, T0 + timedelta(seconds=30)]


def test_job_failing_for_good_does_not_stop_the_advance(client: TestClient, runs: Runs) -> None:
    clock_id = new_clock(client)
    runs.failures_left["never"] = 100
    doomed = runs.enqueue(
        "test.flaky",
        {"clock_id": clock_id, "tag": "never"},
        clock_id=clock_id,
        max_attempts=3,
    )
    after = runs.enqueue(
        "test.note",
        {"clock_id": clock_id, "tag": "after"},
        clock_id=clock_id,
        due_at=T0 + timedelta(days=1),
    )
    response = advance(client, clock_id, T0 + timedelta(days=2))
    assert response.status_code == 200
    assert runs.job(doomed).status == FAILED
    assert runs.job(doomed).attempts == 3
    assert runs.job(after).status == DONE
    assert parse(response.json()["frozen_time"]) == T0 + timedelta(days=2)


def test_advance_records_an_event_and_replays_with_an_idempotency_key(
    client: TestClient, runs: Runs
) -> None:
    clock_id = new_clock(client)
    customer = customer_on(client, clock_id)
    start_chain(runs, customer, add_month(T0))
    body = {"frozen_time": iso(T0 + timedelta(days=40))}
    headers = {"Idempotency-Key": "advance-1"}
    first = client.post(f"/v1/test-clocks/{clock_id}/advance", json=body, headers=headers)
    again = client.post(f"/v1/test-clocks/{clock_id}/advance", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(runs.seen) == 1
    advanced = client.get("/v1/events", params={"type": "test_clock.advanced"}).json()["data"]
    assert len(advanced) == 1
    assert advanced[0]["data"]["frozen_time"] == (T0 + timedelta(days=40)).isoformat()


def test_customer_scoped_keys_cannot_use_clocks(client: TestClient) -> None:
    clock_id = new_clock(client)
    customer_on(client, clock_id)
    key = client.post("/v1/customers/org_1/keys", json={"name": "billing page"}).json()["key"]
    scoped = {"Authorization": f"Bearer {key}"}
    assert (
        client.post("/v1/test-clocks", json={"frozen_time": iso(T0)}, headers=scoped).status_code
        == 403
    )
    assert client.get(f"/v1/test-clocks/{clock_id}", headers=scoped).status_code == 403
    refused = client.post(
        f"/v1/test-clocks/{clock_id}/advance", json={"frozen_time": iso(T0)}, headers=scoped
    )
    assert refused.status_code == 403


@pytest.fixture
def live_client(settings: Settings) -> Iterator[TestClient]:
    """An app outside test mode, on the same database."""
    live = settings.model_copy(update={"test_mode": False})
    app = create_app(live, clock=FixedClock(T0))
    with TestClient(app, headers={"Authorization": f"Bearer {ROOT_KEY}"}) as test_client:
        yield test_client


def test_clock_routes_are_404_outside_test_mode(
    live_client: TestClient, client: TestClient
) -> None:
    clock_id = new_clock(client)
    for response in (
        live_client.post("/v1/test-clocks", json={"frozen_time": iso(T0)}),
        live_client.get(f"/v1/test-clocks/{clock_id}"),
        live_client.post(f"/v1/test-clocks/{clock_id}/advance", json={"frozen_time": iso(T0)}),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert "/v1/test-clocks" not in live_client.get("/openapi.json").json()["paths"]
    with unit_of_work(live_client.app.state.tollway.session_factory) as session:  # type: ignore[attr-defined]
        assert session.scalar(select(Event).where(Event.type == "test_clock.advanced")) is None
