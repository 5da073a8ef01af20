"""Quotas: check and consume latency, in-process and over HTTP.

A customer on a plan with a hard monthly quota on a ``count`` metric (large enough
never to refuse), 2,000 events of usage this month already, and a current counter
(one consume before timing; a counter is recounted from rollups only after usage
arrived through ``/v1/usage``, or in a new period).

``quotas.check`` / ``quotas.consume``: one service call per transaction, as a
request does it: open a session, call :func:`tollway.quotas.check` or
:func:`tollway.quotas.consume`, commit, close; after the setup's objects left the
cyclic GC's scans, as a long-lived ``tollway serve`` or ``tollway worker`` does.
The baseline is the same transaction around a bare ``SELECT 1``;
``quotas.consume`` also reports ``write_floor``, the same transaction updating one
row (a consume commits a write: on PostgreSQL that waits for the WAL flush, which
``SELECT 1`` never does).

``quotas.check_http`` / ``quotas.consume_http``: ``POST .../check`` and ``.../consume``
through Starlette's ``TestClient`` (in-process ASGI, no sockets). The baseline is a
bare authenticated ``GET /v1/customers/{id}``.

``quotas.check_served`` / ``quotas.consume_served``: the same requests to a real
uvicorn server in another process, on loopback, set up as ``tollway serve`` runs it
(:func:`tollway.cli.main.serve_app`, no job worker), from an ``httpx`` client
keeping its connection open; same baseline, on that server.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import text

from benchmarks.harness import Benchmark, Database, Figure, Stopwatch, long_lived
from tollway.api import create_app
from tollway.catalog import MetricCreate, PlanCreate, create_metric, create_plan
from tollway.cli.main import serve_app
from tollway.customers import CustomerCreate, create_customer
from tollway.kernel.clock import FixedClock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.settings import Settings
from tollway.metering import ingest
from tollway.quotas import check, consume
from tollway.subscriptions import SubscriptionCreate, create_subscription

KEY = "sk_bench_quotas"
NOW = datetime(2026, 1, 20, 12, tzinfo=UTC)
SAMPLES = 1_000
WARMUP = 100
PRIOR_EVENTS = 2_000


def _setup(db: Database, clock: Any) -> None:
    with unit_of_work(db.factory) as session:
        ctx = Context(session=session, product_id=db.product_id, clock=clock)
        create_metric(ctx, MetricCreate(code="api_calls", name="API calls", aggregation="count"))
        create_plan(
            ctx,
            PlanCreate.model_validate(
                {
                    "code": "pro",
                    "name": "Pro",
                    "prices": [{"interval": "monthly", "amount": 4900}],
                    "quotas": [{"metric": "api_calls", "limit": 10**12, "period": "monthly"}],
                }
            ),
        )
        create_customer(ctx, CustomerCreate(external_id="acme"))
        create_subscription(ctx, SubscriptionCreate(customer_id="acme", plan_id="pro"))
    with unit_of_work(db.factory) as session:
        ctx = Context(session=session, product_id=db.product_id, clock=clock)
        events = [
            {
                "customer_id": "acme",
                "metric": "api_calls",
                "timestamp": datetime(2026, 1, 1 + i % 19, i % 24, tzinfo=UTC).isoformat(),
            }
            for i in range(PRIOR_EVENTS)
        ]
        assert ingest(ctx, events, backfill=True).accepted == PRIOR_EVENTS
    with unit_of_work(db.factory) as session:
        # The steady state: the counter is current (a first consume recounted the
        # rollups once; so does the ``quotas.evaluate`` job after /v1/usage traffic).
        ctx = Context(session=session, product_id=db.product_id, clock=clock)
        consume(ctx, "acme", "api_calls", quantity=Decimal(1), event_id="warm-counter")


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 3),
    }


def _time(call: Callable[[int], object]) -> list[float]:
    for i in range(WARMUP):
        call(-1 - i)
    samples = []
    for i in range(SAMPLES):
        with Stopwatch() as watch:
            call(i)
        samples.append(watch.seconds * 1000)
    return samples


def _figure(
    measured: list[float], baseline: list[float], baseline_name: str, goal_ms: float
) -> Figure:
    value, base = _summary(measured), _summary(baseline)
    return {
        "value": value["p50_ms"],
        "unit": "ms (p50)",
        "p99_ms": value["p99_ms"],
        "samples": len(measured),
        "baseline": {"name": baseline_name, **base},
        "ratio_to_baseline_p99": round(value["p99_ms"] / base["p99_ms"], 3),
        "goal": f"p99 < {goal_ms} ms",
        "met": value["p99_ms"] < goal_ms,
    }


def _in_process(db: Database, operation: str) -> Figure:
    clock = FixedClock(NOW)
    _setup(db, clock)

    def transaction(work: Callable[[Context], object]) -> Callable[[int], object]:
        def run(i: int) -> object:
            with unit_of_work(db.factory) as session:
                return work(Context(session=session, product_id=db.product_id, clock=clock))

        return run

    def select_one(ctx: Context) -> object:
        return ctx.session.execute(text("SELECT 1")).scalar_one()

    counter = iter(range(10**9))

    def call(ctx: Context) -> object:
        if operation == "check":
            return check(ctx, "acme", "api_calls", quantity=Decimal(1))
        return consume(
            ctx, "acme", "api_calls", quantity=Decimal(1), event_id=f"bench-{next(counter)}"
        )

    def write_one(ctx: Context) -> object:
        return ctx.session.execute(text("UPDATE quota_states SET stale = stale"))

    with long_lived():
        baseline = _time(transaction(select_one))
        measured = _time(transaction(call))
        floor = _time(transaction(write_one)) if operation == "consume" else None
    figure = {
        **_figure(measured, baseline, "a transaction around a bare SELECT 1", 0.5),
        "operation": f"quotas.{operation} (one transaction per call)",
    }
    if floor is not None:  # a consume writes: its floor is a committed write
        figure["write_floor"] = {"name": "a transaction updating one row", **_summary(floor)}
    return figure


class _Client(Protocol):
    """What the samples need of a client: httpx's, or Starlette's ``TestClient``."""

    def get(self, url: str) -> Any: ...
    def post(self, url: str, *, json: Any) -> Any: ...


def _http_samples(client: _Client, operation: str) -> tuple[list[float], list[float]]:
    """Latencies of the bare ``GET`` (baseline), then of the quota calls."""

    def bare(i: int) -> object:
        response = client.get("/v1/customers/acme")
        assert response.status_code == 200
        return response

    def call(i: int) -> object:
        path = f"/v1/customers/acme/quotas/api_calls/{operation}"
        body: dict[str, Any] = {"quantity": 1}
        if operation == "consume":
            body["event_id"] = f"http-{i}"
        response = client.post(path, json=body)
        assert response.status_code == 200, response.text
        return response

    return _time(bare), _time(call)


def _http(db: Database, operation: str) -> Figure:
    clock = FixedClock(NOW)
    _setup(db, clock)
    app = create_app(Settings(database_url=db.url, api_key=KEY), clock=clock)
    with long_lived(), TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as client:
        baseline, measured = _http_samples(client, operation)
    return {
        **_figure(measured, baseline, "a bare authenticated GET /v1/customers/{id}", 5.0),
        "operation": f"POST /v1/customers/{{id}}/quotas/{{metric}}/{operation}",
        "transport": "TestClient (in-process ASGI)",
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(url: str, port: int) -> None:
    """The child process: ``tollway serve`` without its worker, at ``NOW``; its
    output (an access log line per request) goes to ``/dev/null``."""
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
    settings = Settings(database_url=url, api_key=KEY)
    serve_app(settings, host="127.0.0.1", port=port, worker=False, clock=FixedClock(NOW))


def _served(db: Database, operation: str) -> Figure:
    _setup(db, FixedClock(NOW))
    port = _free_port()
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(db.url, port), daemon=True
    )
    server.start()
    headers = {"Authorization": f"Bearer {KEY}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/v1/customers/acme")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or not server.is_alive():
                        raise
                    time.sleep(0.1)
            baseline, measured = _http_samples(client, operation)
    finally:
        server.terminate()
        server.join(10)
    return {
        **_figure(measured, baseline, "a bare authenticated GET /v1/customers/{id}", 5.0),
        "operation": f"POST /v1/customers/{{id}}/quotas/{{metric}}/{operation}",
        "transport": "uvicorn in another process, loopback, one kept-alive connection",
    }


BENCHMARKS = [
    Benchmark("quotas.check", lambda db: _in_process(db, "check")),
    Benchmark("quotas.consume", lambda db: _in_process(db, "consume")),
    Benchmark("quotas.check_http", lambda db: _http(db, "check")),
    Benchmark("quotas.consume_http", lambda db: _http(db, "consume")),
    Benchmark("quotas.check_served", lambda db: _served(db, "check")),
    Benchmark("quotas.consume_served", lambda db: _served(db, "consume")),
]
