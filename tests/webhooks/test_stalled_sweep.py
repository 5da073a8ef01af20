"""The sweep marks deliveries and notification channels whose job died as failed."""

from __future__ import annotations

import socket
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hooks import create_endpoint, deliveries
from sqlalchemy import select, update

from outbound_kit import MovableClock, Receiver, settle
from tollway import customers
from tollway.jobs.relay import relay_events
from tollway.jobs.stalled import SWEEP_KIND
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import FAILED, Job, enqueue
from tollway.kernel.outbox import record_event


def sweep(app: FastAPI, ctx: Context) -> None:
    enqueue(ctx, SWEEP_KIND, {}, product_scoped=False)
    ctx.session.commit()
    settle(app)


def test_a_delivery_whose_job_failed_for_good_is_marked_failed_with_the_reason(
    client: TestClient, app: FastAPI, ctx: Context, receiver: Receiver, clock: MovableClock
) -> None:
    endpoint = create_endpoint(client, receiver.url, ["customer.*"])
    client.post("/v1/customers", json={"external_id": "acme"})
    factory = app.state.tollway.session_factory
    state = app.state.tollway
    relay_events(factory, state.registry, state.clock)  # the delivery and its job exist
    with unit_of_work(factory) as session:  # the worker died on it three times
        session.execute(
            update(Job)
            .where(Job.kind == "webhooks.deliver")
            .values(status=FAILED, finished_at=clock.now(), last_error="Traceback\nOSError: disk")
        )
    sweep(app, ctx)
    [delivery] = deliveries(client, endpoint["id"])
    assert delivery["status"] == "failed"
    assert delivery["next_attempt_at"] is None
    assert delivery["error"] == "the delivery job failed: OSError: disk"
    assert receiver.requests == []


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


def test_a_notification_channel_whose_job_gave_up_is_marked_failed(
    client: TestClient, app: FastAPI, ctx: Context, clock: MovableClock
) -> None:
    client.post("/v1/customers", json={"external_id": "acme"})
    url = f"http://127.0.0.1:{closed_port()}/alerts"
    put = client.put("/v1/customers/acme/alert-preferences", json={"webhook_url": url})
    assert put.status_code == 200, put.text
    customer = customers.get_customer(ctx, "acme")
    record_event(ctx, "payment.failed", {"amount": 100, "currency": "USD"}, customer_id=customer.id)
    ctx.session.commit()
    for _ in range(10):  # the send job retries with backoff, then fails for good
        settle(app)
        clock.advance(timedelta(hours=1))
    with unit_of_work(app.state.tollway.session_factory) as session:
        [job] = session.scalars(select(Job).where(Job.kind == "notifications.send")).all()
        assert job.status == FAILED
    [before] = client.get("/v1/customers/acme/notifications").json()["data"]
    assert before["channels"]["webhook"]["status"] == "pending"
    sweep(app, ctx)
    [note] = client.get("/v1/customers/acme/notifications").json()["data"]
    webhook = note["channels"]["webhook"]
    assert webhook["status"] == "failed"
    assert webhook["reason"] == "httpx.ConnectError: [Errno 111] Connection refused"
