"""A delivery never stays pending for good: every failure is an attempt's outcome."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hooks import create_endpoint, deliveries
from sqlalchemy import select

from outbound_kit import MovableClock, Receiver, settle
from tollway import webhooks
from tollway.jobs import relay_events
from tollway.kernel import outbound
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import RUNNING, Job


def test_an_internationalised_host_is_delivered_with_its_punycode_name(
    client: TestClient, app: FastAPI, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        assert host == "xn--bcher-kva.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setitem(outbound.post.__kwdefaults__, "resolve", resolve)
    port = receiver.server.server_address[1]
    endpoint = create_endpoint(client, f"http://bücher.example:{port}/hook", ["customer.*"])
    client.post("/v1/customers", json={"external_id": "acme"})
    settle(app)
    [delivery] = deliveries(client, endpoint["id"])
    assert delivery["status"] == "succeeded"
    assert delivery["attempt"] == 1
    [request] = receiver.requests
    assert request.headers["host"] == f"xn--bcher-kva.example:{port}"


def test_an_unexpected_error_while_sending_is_a_failed_attempt_that_is_retried(
    client: TestClient, app: FastAPI, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: Any, **__: Any) -> Any:
        raise UnicodeEncodeError("ascii", "ü", 0, 1, "ordinal not in range(128)")

    monkeypatch.setattr(outbound, "post", explode)
    endpoint = create_endpoint(client, receiver.url, ["customer.*"])
    client.post("/v1/customers", json={"external_id": "acme"})
    settle(app)
    [delivery] = deliveries(client, endpoint["id"])
    assert delivery["status"] == "pending"
    assert delivery["attempt"] == 1
    assert delivery["next_attempt_at"] is not None
    assert delivery["error"].startswith("UnicodeEncodeError: 'ascii' codec can't encode")


def test_a_manual_retry_during_an_attempt_in_flight_gets_its_own_number(
    client: TestClient, app: FastAPI, ctx: Context, clock: MovableClock
) -> None:
    state = app.state.tollway
    with Receiver(default=500) as receiver:
        endpoint = create_endpoint(client, receiver.url, ["customer.*"])
        client.post("/v1/customers", json={"external_id": "acme"})
        relay_events(state.session_factory, state.registry, state.clock)
        work = state.registry.handlers[webhooks.DELIVER_KIND]
        with unit_of_work(state.session_factory) as session:  # a worker leases attempt 1
            job = session.scalars(select(Job).where(Job.kind == webhooks.DELIVER_KIND)).one()
            job.status, job.lease_until = RUNNING, clock.now() + timedelta(hours=1)
            payload = dict(job.payload)
            leased = Context(session=session, product_id=ctx.product_id, clock=clock, actor="w")
            prepared = work.prepare(leased, payload)
        outcome = work.perform(prepared)  # sent; the worker has not recorded it yet
        [delivery] = deliveries(client, endpoint["id"])
        retried = client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{delivery['id']}/retry"
        )
        assert retried.status_code == 202, retried.text
        settle(app)  # the manual retry runs and is recorded
        with unit_of_work(state.session_factory) as session:  # the first one finishes
            late = Context(session=session, product_id=ctx.product_id, clock=clock, actor="w")
            work.complete(late, payload, prepared, outcome)
        assert len(receiver.requests) == 2
    detail = client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{delivery['id']}"
    ).json()
    assert [a["number"] for a in detail["attempt_log"]] == [1, 2]
    assert detail["status"] == "pending"
    assert detail["attempt"] == 2
    assert detail["next_attempt_at"] is not None
