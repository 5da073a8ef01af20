"""Quota thresholds notify once per quota period, also under concurrency."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from notes import emit, notes
from sqlalchemy.orm import Session, sessionmaker

from outbound_kit import MovableClock, settle
from tollway import customers
from tollway.kernel.context import Context
from tollway.notifications.channels import Outbound
from tollway.notifications.service import create_notification

WARNING = {"metric": "api_calls", "threshold": 80, "used": 800, "limit": 1000}
JANUARY = {**WARNING, "period_start": "2026-01-01T00:00:00Z"}
NEXT_HOUR = {**WARNING, "period_start": "2026-01-15T14:00:00Z"}


def test_a_threshold_fires_once_per_period_and_again_in_the_next_period(
    client: TestClient, app: FastAPI, ctx: Context, clock: MovableClock
) -> None:
    client.post("/v1/customers", json={"external_id": "acme"})
    emit(ctx, "acme", "quota.warning", JANUARY)
    settle(app)
    clock.advance(timedelta(hours=2))  # past the debounce window, same period
    emit(ctx, "acme", "quota.warning", JANUARY)
    settle(app)
    assert len(notes(client, "acme")) == 1
    clock.advance(timedelta(minutes=10))  # within the window, but a new (hourly) period
    emit(ctx, "acme", "quota.warning", NEXT_HOUR)
    emit(ctx, "acme", "quota.exceeded", {**NEXT_HOUR, "threshold": 100})
    settle(app)
    found = [(n["type"], n["data"]["period_start"]) for n in notes(client, "acme")]
    assert found == [
        ("quota_exceeded", "2026-01-15T14:00:00Z"),
        ("quota_warning", "2026-01-15T14:00:00Z"),
        ("quota_warning", "2026-01-01T00:00:00Z"),
    ]


def test_two_transactions_racing_on_one_period_notify_once(
    client: TestClient, ctx: Context, session_factory: sessionmaker[Session]
) -> None:
    client.post("/v1/customers", json={"external_id": "acme"})
    outbound = Outbound(smtp_url=None, smtp_from=None, timeout_seconds=5, allow_private=True)

    def create(session: Session) -> object:
        other = Context(session=session, product_id=ctx.product_id, clock=ctx.clock, actor="t")
        customer = customers.get_customer(other, "acme")
        return create_notification(
            other,
            notification_type="quota_warning",
            customer=customer,
            data=JANUARY,
            event_id=None,
            outbound=outbound,
        )

    results: list[object] = []
    first = session_factory()
    assert create(first) is not None  # inserted, not committed yet

    def second() -> None:
        with session_factory() as session:
            results.append(create(session))
            session.commit()

    racer = threading.Thread(target=second)
    racer.start()
    time.sleep(0.5)  # the racer is now waiting on the first transaction
    first.commit()
    first.close()
    racer.join(10)
    assert results == [None]
    assert len(notes(client, "acme")) == 1
