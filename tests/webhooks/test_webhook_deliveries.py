"""Deliveries to real receivers on loopback: retries on the test clock, Standard
Webhooks signatures, rotation, 410, five failing days, manual retry, replay."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hooks import advance, create_endpoint, deliveries, iso, parse
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from outbound_kit import MovableClock, Receiver, settle
from tollway import webhooks
from tollway.api import create_app
from tollway.jobs import relay_events, run_due
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.settings import Settings
from tollway.kernel.tenancy import ensure_product

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
ROOT_KEY = "sk_test_root"


def test_fails_twice_then_succeeds_on_the_test_clock_schedule(
    client: TestClient, app: FastAPI, wall_clock: MovableClock
) -> None:
    with Receiver(statuses=[500, 503]) as receiver:
        endpoint = create_endpoint(client, receiver.url, ["customer.*"])
        clock_id = client.post("/v1/test-clocks", json={"frozen_time": iso(T0)}).json()["id"]
        client.post("/v1/customers", json={"external_id": "acme", "test_clock": clock_id})
        settle(app)  # the worker's relay leaves test-clock customers to their clock
        assert receiver.requests == []

        advance(client, clock_id, T0)  # relays the event; attempt 1 at once
        assert len(receiver.requests) == 1
        [delivery] = deliveries(client, endpoint["id"])
        assert (delivery["status"], delivery["attempt"], delivery["response_code"]) == (
            "pending",
            1,
            500,
        )
        second_at = parse(delivery["next_attempt_at"])
        assert T0 + timedelta(seconds=5) <= second_at <= T0 + timedelta(seconds=5.5)
        assert delivery["latency_ms"] >= 0

        advance(client, clock_id, T0 + timedelta(seconds=4))
        assert len(receiver.requests) == 1
        advance(client, clock_id, T0 + timedelta(seconds=6))
        assert len(receiver.requests) == 2
        [delivery] = deliveries(client, endpoint["id"])
        assert (delivery["attempt"], delivery["response_code"]) == (2, 503)
        third_at = parse(delivery["next_attempt_at"])
        assert second_at + timedelta(minutes=5) <= third_at <= second_at + timedelta(minutes=5.5)

        advance(client, clock_id, T0 + timedelta(minutes=4))
        assert len(receiver.requests) == 2
        advance(client, clock_id, T0 + timedelta(minutes=6))
        assert len(receiver.requests) == 3
        requests = list(receiver.requests)

    [delivery] = deliveries(client, endpoint["id"])
    assert (delivery["status"], delivery["attempt"], delivery["response_code"]) == (
        "succeeded",
        3,
        200,
    )
    assert delivery["next_attempt_at"] is None
    assert delivery["error"] is None

    assert {r.headers["webhook-id"] for r in requests} == {delivery["id"]}
    wall = str(int(wall_clock.now().timestamp()))
    for request in requests:
        # the real time of the attempt, not the test clock's
        assert request.headers["webhook-timestamp"] == wall
        assert request.headers["webhook-timestamp"] != str(int(T0.timestamp()))
        verified = Webhook(endpoint["secret"]).verify(request.body, request.headers)
        assert verified == request.json()
    body = requests[0].json()
    assert body["type"] == "customer.created"
    assert body["timestamp"] == "2026-02-01T09:00:00Z"
    assert body["data"]["external_id"] == "acme"
    assert list(body) == ["type", "timestamp", "data"]

    tampered = requests[0].body.replace(b'"acme"', b'"evil"')
    assert tampered != requests[0].body
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(tampered, requests[0].headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.generate_secret()).verify(requests[0].body, requests[0].headers)

    detail = client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{delivery['id']}"
    ).json()
    assert [(a["number"], a["response_code"]) for a in detail["attempt_log"]] == [
        (1, 500),
        (2, 503),
        (3, 200),
    ]
    assert json.loads(detail["body"]) == body


def test_only_matching_enabled_endpoints_receive_an_event(client: TestClient, app: FastAPI) -> None:
    with Receiver() as everything, Receiver() as invoices, Receiver() as disabled:
        create_endpoint(client, everything.url, ["*"])
        create_endpoint(client, invoices.url, ["invoice.paid"])
        off = create_endpoint(client, disabled.url, ["customer.*"])
        client.post(f"/v1/webhook-endpoints/{off['id']}/disable")
        client.post("/v1/customers", json={"external_id": "acme"})
        settle(app)
        assert [r.json()["type"] for r in everything.requests] == ["customer.created"]
        assert invoices.requests == []
        assert disabled.requests == []
        settle(app)
        assert len(everything.requests) == 1  # relayed once


def test_rotated_secret_and_the_old_one_both_sign_for_24_hours(
    client: TestClient, app: FastAPI, clock: MovableClock
) -> None:
    with Receiver() as receiver:
        endpoint = create_endpoint(client, receiver.url, ["customer.*"])
        old = endpoint["secret"]
        new = client.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret").json()["secret"]
        client.post("/v1/customers", json={"external_id": "during"})
        settle(app)
        during = receiver.requests[-1]
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        Webhook(old).verify(during.body, during.headers)
        Webhook(new).verify(during.body, during.headers)

        clock.advance(timedelta(hours=24, seconds=1))
        client.post("/v1/customers", json={"external_id": "after"})
        settle(app)
        after = receiver.requests[-1]
    assert after.json()["data"]["external_id"] == "after"
    stamp = datetime.fromtimestamp(int(after.headers["webhook-timestamp"]), tz=UTC)
    body = after.body.decode()
    msg_id = after.headers["webhook-id"]
    assert after.headers["webhook-signature"] == Webhook(new).sign(msg_id, stamp, body)
    assert Webhook(old).sign(msg_id, stamp, body) not in after.headers["webhook-signature"]


def test_two_rotations_keep_every_secret_younger_than_24_hours_signing(
    client: TestClient, app: FastAPI, clock: MovableClock
) -> None:
    with Receiver() as receiver:
        endpoint = create_endpoint(client, receiver.url, ["customer.*"])
        path = f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret"
        first = endpoint["secret"]
        clock.advance(timedelta(minutes=1))
        second = client.post(path).json()["secret"]  # first expires at +24 h 1 min
        clock.advance(timedelta(minutes=1))
        third = client.post(path).json()["secret"]  # second expires at +24 h 2 min
        client.post("/v1/customers", json={"external_id": "both"})
        settle(app)
        both = receiver.requests[-1]
        assert len(both.headers["webhook-signature"].split(" ")) == 3
        for secret in (first, second, third):
            Webhook(secret).verify(both.body, both.headers)

        clock.advance(timedelta(hours=23, minutes=59, seconds=30))  # first has expired
        client.post("/v1/customers", json={"external_id": "later"})
        settle(app)
        later = receiver.requests[-1]
    stamp = datetime.fromtimestamp(int(later.headers["webhook-timestamp"]), tz=UTC)
    msg_id, body = later.headers["webhook-id"], later.body.decode()
    signatures = later.headers["webhook-signature"].split(" ")
    assert signatures == [Webhook(s).sign(msg_id, stamp, body) for s in (third, second)]
    assert Webhook(first).sign(msg_id, stamp, body) not in signatures


def test_410_gone_disables_the_endpoint_and_tells_the_owner(
    client: TestClient, app: FastAPI
) -> None:
    with Receiver(default=410) as receiver:
        endpoint = create_endpoint(client, receiver.url, ["customer.*"])
        client.post("/v1/customers", json={"external_id": "acme"})
        settle(app)
        client.post("/v1/customers", json={"external_id": "later"})
        settle(app)
        assert len(receiver.requests) == 1
    found = client.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()
    assert (found["status"], found["disabled_reason"]) == (
        "disabled",
        "the endpoint answered 410 Gone",
    )
    [delivery] = deliveries(client, endpoint["id"])
    assert (delivery["status"], delivery["response_code"], delivery["next_attempt_at"]) == (
        "failed",
        410,
        None,
    )
    [event] = client.get("/v1/events", params={"type": "webhook_endpoint.disabled"}).json()["data"]
    assert event["data"]["id"] == endpoint["id"]
    [note] = client.get("/v1/notifications").json()["data"]
    assert note["type"] == "webhook_endpoint_disabled"
    assert note["customer_id"] is None
    assert receiver.url in note["message"]
    assert "410 Gone" in note["message"]


def test_an_endpoint_failing_for_five_days_is_disabled(
    client: TestClient, app: FastAPI, clock: MovableClock
) -> None:
    with Receiver(default=500) as receiver:
        endpoint = create_endpoint(client, receiver.url, ["customer.*"])
        started = clock.now()
        client.post("/v1/customers", json={"external_id": "first"})
        settle(app)
        for _ in range(7):  # the whole schedule: 5 s ... 10 h, 10 h
            clock.advance(timedelta(hours=11))
            settle(app)
        [first] = deliveries(client, endpoint["id"])
        assert (first["status"], first["attempt"]) == ("failed", 8)
        found = client.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()
        assert found["status"] == "enabled"
        assert parse(found["failing_since"]) == started

        clock.set(started + timedelta(days=5))
        client.post("/v1/customers", json={"external_id": "second"})
        settle(app)
        assert len(receiver.requests) == 9
    found = client.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()
    assert (found["status"], found["disabled_reason"]) == (
        "disabled",
        "every attempt failed for 5 days",
    )
    second = deliveries(client, endpoint["id"])[0]
    assert (second["status"], second["attempt"]) == ("failed", 1)
    [note] = client.get("/v1/notifications").json()["data"]
    assert note["type"] == "webhook_endpoint_disabled"


def test_a_success_clears_the_failing_streak(
    client: TestClient, app: FastAPI, clock: MovableClock
) -> None:
    with Receiver(statuses=[500]) as receiver:
        endpoint = create_endpoint(client, receiver.url, ["customer.*"])
        client.post("/v1/customers", json={"external_id": "acme"})
        settle(app)
        path = f"/v1/webhook-endpoints/{endpoint['id']}"
        assert client.get(path).json()["failing_since"] is not None
        clock.advance(timedelta(seconds=6))
        settle(app)
        assert len(receiver.requests) == 2
    assert client.get(path).json()["failing_since"] is None


def test_manual_retry_attempts_now_with_the_same_id(
    client: TestClient, app: FastAPI, clock: MovableClock
) -> None:
    with Receiver(statuses=[500, 500]) as receiver:
        endpoint = create_endpoint(client, receiver.url, ["customer.*"])
        client.post("/v1/customers", json={"external_id": "acme"})
        settle(app)
        [delivery] = deliveries(client, endpoint["id"])
        retried = client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{delivery['id']}/retry"
        )
        assert retried.status_code == 202
        settle(app)
        assert len(receiver.requests) == 2  # at once, not after 5 s
        clock.advance(timedelta(seconds=6))
        settle(app)  # the scheduled second attempt is stale now: nothing is sent
        assert len(receiver.requests) == 2
        clock.advance(timedelta(minutes=6))
        settle(app)
        assert len(receiver.requests) == 3
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery["id"]}
    [delivery] = deliveries(client, endpoint["id"])
    assert (delivery["status"], delivery["attempt"]) == ("succeeded", 3)
    missing = client.post(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/msg_nope/retry")
    assert missing.status_code == 404


def test_replay_sends_a_past_event_as_a_new_message(client: TestClient, app: FastAPI) -> None:
    with Receiver() as receiver:
        endpoint = create_endpoint(client, receiver.url, ["customer.*"])
        client.post("/v1/customers", json={"external_id": "acme"})
        settle(app)
        [event] = client.get("/v1/events", params={"type": "customer.created"}).json()["data"]
        replayed = client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/replay", json={"event_id": event["id"]}
        )
        assert replayed.status_code == 202, replayed.text
        assert replayed.json()["replay"] is True
        settle(app)
        first, second = receiver.requests
    assert first.headers["webhook-id"] != second.headers["webhook-id"]
    assert first.body == second.body
    assert Webhook(endpoint["secret"]).verify(second.body, second.headers)["type"] == (
        "customer.created"
    )
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    assert client.post(f"{path}/replay", json={"event_id": "evt_nope"}).status_code == 404
    client.post(f"{path}/disable")
    assert client.post(f"{path}/replay", json={"event_id": event["id"]}).status_code == 409
    assert len(deliveries(client, endpoint["id"])) == 2
    failed = client.get(f"{path}/deliveries", params={"status": "failed"}).json()["data"]
    assert failed == []


def test_delivery_to_an_address_that_became_private_is_refused(
    settings: Settings,
    clock: MovableClock,
    session_factory: sessionmaker[Session],
) -> None:
    live = Settings(database_url=settings.database_url, api_key=ROOT_KEY, test_mode=False)  # type: ignore[arg-type]
    app = create_app(live, clock=clock)
    with Receiver() as receiver:
        with unit_of_work(session_factory) as session:
            product = ensure_product(session, code="default", name="Default", clock=clock)
            ctx = Context(session=session, product_id=product.id, clock=clock)
            # saved while its DNS still pointed at a public address
            endpoint = webhooks.create_endpoint(
                ctx,
                webhooks.EndpointCreate(url=receiver.url, events=["customer.*"]),
                allow_private=True,
            )
        with TestClient(app, headers={"Authorization": f"Bearer {ROOT_KEY}"}) as live_client:
            live_client.post("/v1/customers", json={"external_id": "acme"})
            settle(app)
            [delivery] = deliveries(live_client, endpoint.id)
        assert receiver.requests == []
    assert delivery["status"] == "pending"
    assert delivery["response_code"] is None
    assert delivery["error"].startswith("not sent: the URL host '127.0.0.1' resolves to 127.0.0.1")


def test_two_workers_send_each_message_once(client: TestClient, app: FastAPI) -> None:
    state = app.state.tollway
    with Receiver() as receiver:
        endpoint = create_endpoint(client, receiver.url, ["customer.*"])
        for number in range(20):
            client.post("/v1/customers", json={"external_id": f"c{number}"})
        relay_events(state.session_factory, state.registry, state.clock)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def work(worker_id: str) -> None:
            try:
                barrier.wait()
                while run_due(
                    state.session_factory, state.registry, state.clock, worker_id=worker_id
                ):
                    pass
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 20
    assert len(set(ids)) == 20
    sent = deliveries(client, endpoint["id"])
    assert {d["status"] for d in sent} == {"succeeded"}
    assert {d["attempt"] for d in sent} == {1}
