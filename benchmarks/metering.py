"""Metering: batch ingestion through HTTP, and current-usage reads at 1,000,000 events.

``metering.ingest_http``: 50,000 events in five ``POST /v1/usage/batch`` requests of
10,000 through Starlette's ``TestClient`` (in-process ASGI, no sockets; request
bodies are encoded before the clock starts). Each event goes through everything a
real one does: parsing, validation, customer and metric lookup, the dedup key,
the raw row, rollups. The baseline is the ceiling of the same database: the same
raw rows bulk-inserted into ``usage_events`` in one transaction, by ``COPY`` on
PostgreSQL and ``executemany`` on SQLite, with nothing else.

``metering.current_usage``: latency of :func:`tollway.metering.current_usage` over a
30-day period for a customer with 1,000,000 events against one with 1,000 (the
baseline). The large customer's raw events and rollups are written by set-based
SQL (the fastest bulk path: ``generate_series`` / a recursive CTE, then one
``INSERT ... SELECT ... GROUP BY hour``); the small one's go through ``ingest``.
Both totals are checked against the raw events before timing.
"""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from benchmarks.harness import Benchmark, Database, Figure, Stopwatch, long_lived
from tollway.api import create_app
from tollway.catalog import MetricCreate, create_metric
from tollway.customers import CustomerCreate, create_customer
from tollway.kernel.clock import FixedClock, SystemClock
from tollway.kernel.context import Context
from tollway.kernel.db import json_dumps, unit_of_work
from tollway.kernel.settings import Settings
from tollway.metering import current_usage, ingest

KEY = "sk_bench_metering"
BATCH = 10_000
BATCHES = 5
CUSTOMERS = 100
BIG = 1_000_000
SMALL = 1_000
READS = 300
NOW = datetime(2026, 1, 31, 12, tzinfo=UTC)
PERIOD = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 31, tzinfo=UTC))


def _catalog(db: Database, clock: Any, customers: int) -> None:
    with unit_of_work(db.factory) as session:
        ctx = Context(session=session, product_id=db.product_id, clock=clock)
        create_metric(ctx, MetricCreate(code="api_calls", name="API calls", aggregation="count"))
        create_metric(
            ctx,
            MetricCreate(code="storage", name="Storage", aggregation="sum", group_by=["region"]),
        )
        for i in range(customers):
            create_customer(ctx, CustomerCreate(external_id=f"c{i}"))


def _events(batch: int, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "customer_id": f"c{i % CUSTOMERS}",
            "metric": "storage" if i % 2 else "api_calls",
            "quantity": str(Decimal(i % 97) / 4),
            "timestamp": (now - timedelta(seconds=(batch * BATCH + i) % 86_400)).isoformat(),
            "event_id": f"b{batch}-{i}",
            "properties": {"region": ("eu", "us", "ap")[i % 3], "path": "/v1/things"},
        }
        for i in range(BATCH)
    ]


def _ceiling(db: Database, batches: list[list[dict[str, Any]]], ids: dict[str, str]) -> float:
    """Seconds to bulk-insert the same raw rows, and nothing else, in one transaction."""
    rows = [
        (
            e["timestamp"],
            db.product_id,
            e["event_id"],
            ids[e["customer_id"]],
            e["metric"],
            e["quantity"],
            json_dumps(e["properties"]),
            e["timestamp"],
        )
        for batch in batches
        for e in batch
    ]
    columns = (
        "timestamp, product_id, event_id, customer_id, metric_code, quantity, properties, "
        "ingested_at"
    )
    with Stopwatch() as watch, unit_of_work(db.factory) as session:
        if db.backend == "postgresql":
            raw = session.connection().connection.dbapi_connection
            assert raw is not None
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY usage_events ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            sqlite_rows = [
                (r[0].replace("T", " ")[:26], *r[1:7], r[7].replace("T", " ")[:26]) for r in rows
            ]
            session.connection().exec_driver_sql(
                f"INSERT INTO usage_events ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                sqlite_rows,
            )
    with unit_of_work(db.factory) as session:
        session.execute(text("DELETE FROM usage_events"))
    return watch.seconds


def ingest_http(db: Database) -> Figure:
    clock = FixedClock(NOW)
    _catalog(db, clock, CUSTOMERS)
    with unit_of_work(db.factory) as session:
        ids = dict(session.execute(text("SELECT external_id, id FROM customers")).tuples().all())
    batches = [_events(b, NOW) for b in range(BATCHES)]
    bodies = [json.dumps({"events": batch}).encode() for batch in batches]
    ceiling = _ceiling(db, batches, ids)
    app = create_app(Settings(database_url=db.url, api_key=KEY), clock=clock)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    with long_lived(), TestClient(app, headers=headers) as client:
        warm = [dict(e, event_id=f"warm-{i}") for i, e in enumerate(batches[0][:200])]
        assert client.post("/v1/usage/batch", json={"events": warm}).json()["accepted"] == 200
        with Stopwatch() as watch:
            for body in bodies:
                response = client.post("/v1/usage/batch", content=body)
                assert response.status_code == 200, response.text
                assert response.json()["accepted"] == BATCH, response.text[:300]
    total = BATCH * BATCHES
    value = total / watch.seconds
    baseline = total / ceiling
    return {
        "value": round(value, 1),
        "unit": "events/s",
        "events": total,
        "batch_size": BATCH,
        "seconds": round(watch.seconds, 3),
        "transport": "TestClient (in-process ASGI)",
        "baseline": {
            "name": "bulk insert of the same raw rows only ("
            + ("COPY" if db.backend == "postgresql" else "executemany")
            + ", one transaction)",
            "value": round(baseline, 1),
            "unit": "rows/s",
            "seconds": round(ceiling, 3),
        },
        "ratio_to_baseline": round(value / baseline, 3),
        "goal": ">= 20000 events/s and >= 0.5 of the baseline",
    }


_PG_BULK = [
    """INSERT INTO usage_events (timestamp, product_id, event_id, customer_id, metric_code,
        quantity, properties, ingested_at)
       SELECT :start + (i * interval '1 second' * :step), :product, 'big-' || i, :customer,
        'api_calls', '1', '{}'::jsonb, now()
       FROM generate_series(0, :n - 1) AS i""",
    """INSERT INTO usage_event_keys (product_id, event_id, timestamp)
       SELECT product_id, event_id, timestamp FROM usage_events WHERE customer_id = :customer""",
    """INSERT INTO usage_rollups (product_id, customer_id, metric_code, hour, group_key,
        event_count, value_sum, value_max, latest_at, latest_event_id, latest_value)
       SELECT product_id, customer_id, metric_code, date_trunc('hour', timestamp), '',
        count(*), sum(quantity::numeric), max(quantity::numeric), max(timestamp),
        max(event_id COLLATE "C"), 1
       FROM usage_events WHERE customer_id = :customer
       GROUP BY product_id, customer_id, metric_code, date_trunc('hour', timestamp)""",
]
_SQLITE_BULK = [
    """WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < :n - 1)
       INSERT INTO usage_events (timestamp, product_id, event_id, customer_id, metric_code,
        quantity, properties, ingested_at)
       SELECT strftime('%Y-%m-%d %H:%M:%f000', :start_text, '+' || (i * :step) || ' seconds'),
        :product, 'big-' || i, :customer, 'api_calls', '1', '{}', :start_text
       FROM seq""",
    """INSERT INTO usage_event_keys (product_id, event_id, timestamp)
       SELECT product_id, event_id, timestamp FROM usage_events WHERE customer_id = :customer""",
    """INSERT INTO usage_rollups (product_id, customer_id, metric_code, hour, group_key,
        event_count, value_sum, value_max, latest_at, latest_event_id, latest_value)
       SELECT product_id, customer_id, metric_code,
        substr(timestamp, 1, 13) || ':00:00.000000', '', count(*),
        CAST(sum(CAST(quantity AS INTEGER)) AS TEXT), '1', max(timestamp), max(event_id), '1'
       FROM usage_events WHERE customer_id = :customer
       GROUP BY product_id, customer_id, metric_code, substr(timestamp, 1, 13)""",
]


def _latencies(db: Database, clock: Any, customer_id: str) -> list[float]:
    samples = []
    with unit_of_work(db.factory) as session:
        ctx = Context(session=session, product_id=db.product_id, clock=clock)
        for _ in range(READS):
            with Stopwatch() as watch:
                current_usage(ctx, customer_id, "api_calls", *PERIOD)
            samples.append(watch.seconds * 1000)
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 3),
    }


def current_usage_read(db: Database) -> Figure:
    clock = FixedClock(NOW)
    _catalog(db, clock, 2)
    with unit_of_work(db.factory) as session:
        ids = dict(session.execute(text("SELECT external_id, id FROM customers")).tuples().all())
    big, small = ids["c0"], ids["c1"]
    span = (PERIOD[1] - PERIOD[0]).total_seconds()
    params = {
        "n": BIG,
        "step": span / BIG,
        "start": PERIOD[0],
        "start_text": PERIOD[0].strftime("%Y-%m-%d %H:%M:%S"),
        "product": db.product_id,
        "customer": big,
    }
    with Stopwatch() as build, unit_of_work(db.factory) as session:
        for sql in _PG_BULK if db.backend == "postgresql" else _SQLITE_BULK:
            session.execute(text(sql), params)
    step = timedelta(seconds=span / SMALL)
    with unit_of_work(db.factory) as session:
        ctx = Context(session=session, product_id=db.product_id, clock=clock)
        result = ingest(
            ctx,
            [
                {
                    "customer_id": "c1",
                    "metric": "api_calls",
                    "timestamp": (PERIOD[0] + i * step).isoformat(),
                }
                for i in range(SMALL)
            ],
            backfill=True,
        )
        assert result.accepted == SMALL, result.rejected[:3]
        for customer_id, expected in ((big, BIG), (small, SMALL)):
            raw = session.execute(
                text("SELECT count(*) FROM usage_events WHERE customer_id = :c"),
                {"c": customer_id},
            ).scalar_one()
            total = current_usage(ctx, customer_id, "api_calls", *PERIOD)
            assert raw == expected == total, (raw, expected, total)
    _latencies(db, SystemClock(), small)  # warm up
    large = _summary(_latencies(db, SystemClock(), big))
    baseline = _summary(_latencies(db, SystemClock(), small))
    return {
        "value": large["p50_ms"],
        "unit": "ms (p50)",
        "p99_ms": large["p99_ms"],
        "events": BIG,
        "reads": READS,
        "period_hours": int(span // 3600),
        "bulk_build_seconds": round(build.seconds, 3),
        "baseline": {"name": f"the same read for a customer with {SMALL} events", **baseline},
        "ratio_to_baseline": round(large["p50_ms"] / baseline["p50_ms"], 3),
        "goal": "ratio <= 1.5",
    }


BENCHMARKS = [
    Benchmark("metering.ingest_http", ingest_http),
    Benchmark("metering.current_usage", current_usage_read),
]
