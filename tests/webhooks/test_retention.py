"""Retention: finished deliveries after 30 days, done receipts and read
notifications after 90 days; everything else is kept."""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hooks import create_endpoint, deliveries
from sqlalchemy import func, select

from outbound_kit import MovableClock, Receiver, settle
from tollway import customers
from tollway.jobs.retention import PRUNE_KIND
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import enqueue
from tollway.kernel.outbox import record_event
from tollway.kernel.relay import EventReceipt
from tollway.webhooks import WebhookAttempt


def prune(app: FastAPI, ctx: Context) -> None:
    enqueue(ctx, PRUNE_KIND, {}, product_scoped=False)
    ctx.session.commit()
    settle(app)


def pruned_receipts(app: FastAPI, ctx: Context, *, below: int) -> int:
    """Receipts left after pruning, pruning again for up to 10 s until fewer than
    ``below`` are left. Only receipts behind the relay cursor are pruned, and on
    PostgreSQL the cursor moves past an event only once every transaction of the
    server that was open at a pass has ended: a long transaction of a test running
    in parallel (on another database of the same server) holds it back a while."""
    deadline = time.monotonic() + 10
    while True:
        prune(app, ctx)
        left, _ = counts(app)
        if left < below or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def counts(app: FastAPI) -> tuple[int, int]:
    with unit_of_work(app.state.tollway.session_factory) as session:
        receipts = session.scalar(select(func.count()).select_from(EventReceipt)) or 0
        attempts = session.scalar(select(func.count()).select_from(WebhookAttempt)) or 0
        return receipts, attempts


def test_old_logs_are_pruned_and_recent_or_open_ones_kept(
    client: TestClient, app: FastAPI, ctx: Context, clock: MovableClock, receiver: Receiver
) -> None:
    endpoint = create_endpoint(client, receiver.url, ["customer.*"])
    client.post("/v1/customers", json={"external_id": "acme"})
    customer = customers.get_customer(ctx, "acme")
    record_event(ctx, "payment.failed", {"amount": 100, "currency": "USD"}, customer_id=customer.id)
    record_event(
        ctx, "payment.succeeded", {"amount": 100, "currency": "USD"}, customer_id=customer.id
    )
    ctx.session.commit()
    settle(app)
    notes = client.get("/v1/customers/acme/notifications").json()["data"]
    assert len(notes) == 2
    client.post(f"/v1/notifications/{notes[0]['id']}/read")
    assert len(deliveries(client, endpoint["id"])) == 1
    receipts_before, attempts_before = counts(app)
    assert attempts_before == 1

    clock.advance(timedelta(days=30, minutes=1))
    client.post("/v1/customers", json={"external_id": "fresh"})
    settle(app)
    prune(app, ctx)
    [kept] = deliveries(client, endpoint["id"])
    assert kept["event_type"] == "customer.created"
    assert kept["created_at"] >= clock.now().isoformat()[:10]
    receipts_after_30, attempts_after_30 = counts(app)
    assert attempts_after_30 == 1  # only the fresh delivery's
    assert receipts_after_30 > receipts_before  # receipts are kept 90 days

    clock.advance(timedelta(days=61))
    receipts_after_91 = pruned_receipts(app, ctx, below=receipts_after_30)
    remaining = client.get("/v1/customers/acme/notifications").json()["data"]
    assert [n["id"] for n in remaining] == [notes[1]["id"]]  # unread is kept
    assert receipts_after_91 < receipts_after_30
