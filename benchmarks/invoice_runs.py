"""Invoicing: the renewal invoice run for N customers with M usage events.

Scenario (one fresh database per figure): a monthly plan ``pro`` with a base price
of 2999 and two usage charges (``api_calls``: a graduated ``count`` metric;
``storage``: a standard ``sum`` metric). One customer subscribes through the
services on 2026-01-01; the other N - 1 customers and their subscriptions are
copies of its rows (set-based ``INSERT ... SELECT``), with a copy of its January
invoice and lines each (numbered after it). M usage events, spread evenly over
the customers and over January, and their hourly and daily rollups are written by
set-based SQL as ``benchmarks/metering.py`` does (the dedup keys are not written:
invoicing never reads them), then ``VACUUM ANALYZE`` on PostgreSQL, again after
the renewals (what autovacuum does after bulk writes; this machine's server runs
without it, and with stale statistics the run's plans scan whole tables).
At 2026-02-01 every subscription is renewed by the production job handler
(``subscriptions.renew``, untimed setup, 500 per transaction): each records its
February fee and a ``subscription.renewed`` event with the closed January.

Timed: the relay delivering those events to the ``invoicing`` consumer, as the
worker's relay job does (``relay_events``: passes of the consumer's ``RUN_BATCH``
events, one transaction each; the consumer's batch handler runs ``run_invoices``
over the pass), after freezing what the process holds out of the cyclic GC, as
``tollway worker`` does after startup. The ``_2w`` figures relay in two worker
processes, each taking one of two shards of the outbox (``relay_shards = 2``,
``benchmarks/relayers.py``). Each invoice has a plan line, the
graduated tiers reached and a storage line; all are finalized (numbered) and
open. Checked after the run: N invoices, numbers N+1..2N without gaps, the totals
of two customers to the cent.

Baseline: the raw cost of writing the same rows: every invoice and line row the
run made, inserted again (new ids) with ``executemany``, one transaction per
``RUN_BATCH`` invoices.

Sizes: ``TOLLWAY_BENCH_QUICK=1`` divides customers and events by 10. ``run_1k_2m``
and ``run_1k_5m`` are dense: at 2,000 or 5,000 events a customer every (customer,
metric, hour) of January has events, so both read the same 1,488 rollups a
customer: time should not grow from one to the other (flat in events).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from benchmarks.harness import Benchmark, Database, Figure, Stopwatch, long_lived
from benchmarks.relayers import count_statements, relay_in_processes
from tollway import catalog, customers, subscriptions
from tollway.invoicing import Invoice, InvoiceLine
from tollway.invoicing import tasks as invoicing_tasks
from tollway.invoicing.tasks import RUN_BATCH
from tollway.jobs import Registry, relay_events
from tollway.kernel.clock import FixedClock
from tollway.kernel.context import Context
from tollway.kernel.db import Base, unit_of_work
from tollway.subscriptions import tasks as subscription_tasks

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 2, 1, tzinfo=UTC)
RENEW_CHUNK = 500
POSTGRES = ("postgresql",)
SCALE = 10 if os.environ.get("TOLLWAY_BENCH_QUICK") else 1
TIERS = [
    {"up_to": 100, "unit_amount": "0"},
    {"up_to": 200, "unit_amount": "2"},
    {"up_to": None, "unit_amount": "1"},
]
"""api_calls: 100 free, then 2 up to 200, then 1."""
STORAGE_RATE = 3


def _catalog(ctx: Context) -> str:
    """The metrics, the plan and the template customer's subscription; its id."""
    catalog.create_metric(
        ctx, catalog.MetricCreate(code="api_calls", name="API calls", aggregation="count")
    )
    catalog.create_metric(
        ctx, catalog.MetricCreate(code="storage", name="Storage", aggregation="sum")
    )
    catalog.create_plan(
        ctx,
        catalog.PlanCreate(
            code="pro",
            name="Pro",
            prices=[catalog.PriceSpec(interval="monthly", amount=2999)],
            charges=[
                catalog.ChargeSpec.model_validate(
                    {"metric": "api_calls", "model": "graduated", "tiers": TIERS}
                ),
                catalog.ChargeSpec.model_validate(
                    {"metric": "storage", "model": "standard", "unit_amount": str(STORAGE_RATE)}
                ),
            ],
        ),
    )
    customers.create_customer(ctx, customers.CustomerCreate(external_id="c0"))
    sub = subscriptions.create_subscription(
        ctx, subscriptions.SubscriptionCreate(customer_id="c0", plan_id="pro")
    )
    return sub.id


def _series(session: Session, n: str) -> str:
    """``FROM`` clause giving ``i`` = 0 .. n - 1."""
    if session.get_bind().dialect.name == "postgresql":
        return f"generate_series(0, {n} - 1) AS seq(i)"
    return (
        "(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s"  # noqa: S608
        f" WHERE i < {n} - 1) SELECT i FROM s) AS seq"
    )


def _clone(
    session: Session, table: str, template: str, overrides: dict[str, str], *, n: int
) -> None:
    """Copies ``i`` = 1 .. n - 1 of the template row, with ``overrides`` per column."""
    columns = [c.name for c in _tables()[table].columns]
    values = ", ".join(overrides.get(c, c) for c in columns)
    session.execute(
        text(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} "  # noqa: S608
            f"FROM {table}, {_series(session, ':n')} WHERE id = :template AND i > 0"
        ),
        {"n": n, "template": template},
    )


def _tables() -> dict[str, Any]:
    return dict(Base.metadata.tables)


def _customer_id(template: str, index: str) -> str:
    """SQL: the id of customer number ``index`` (the template for 0)."""
    return f"CASE WHEN {index} = 0 THEN '{template}' ELSE 'cus_bench' || {index} END"


def _first_invoices(session: Session, template_customer: str, *, n: int) -> None:
    """Every clone's January invoice (its fee in advance, issued at signup), a copy of
    the template's with its lines, numbered after it; the year's sequence follows.
    A product billing for a while has them: the run writes into tables of that size
    (on PostgreSQL, the plans of its foreign-key checks are made for such tables)."""
    template = session.execute(
        text("SELECT id FROM invoices WHERE customer_id = :c"), {"c": template_customer}
    ).scalar_one()
    digits = (
        "CASE WHEN i + 1 < 10 THEN '000' WHEN i + 1 < 100 THEN '00'"
        " WHEN i + 1 < 1000 THEN '0' ELSE '' END"
    )
    _clone(
        session,
        "invoices",
        template,
        {
            "id": "'inv_bench' || i",
            "customer_id": "'cus_bench' || i",
            "customer_external_id": "'c' || i",
            "subscription_id": "'sub_bench' || i",
            "number": f"'INV-2026-' || {digits} || (i + 1)",
        },
        n=n,
    )
    for line in session.scalars(
        text("SELECT id FROM invoice_line_items WHERE invoice_id = :i"), {"i": template}
    ):
        _clone(
            session,
            "invoice_line_items",
            line,
            {"id": f"'{line}_' || i", "invoice_id": "'inv_bench' || i"},
            n=n,
        )
    session.execute(text("UPDATE invoice_sequences SET last_number = :n"), {"n": n})


def _usage(session: Session, sizes: dict[str, Any]) -> None:
    """``sizes["events"]`` raw events spread over ``sizes["n"]`` customers and January
    (a customer's odd events are api_calls, its even ones storage of 1 to 4), then their
    hourly and daily rollups; set-based."""
    n, per_customer = sizes["n"], sizes["events"] // sizes["n"]
    customer = _customer_id(sizes["template"], "(i % :n)")
    if session.get_bind().dialect.name == "postgresql":
        stamp = "(:start + ((i / :n) * :step) * interval '1 second')"
        quantity = "CASE WHEN (i / :n) % 2 = 1 THEN '1' ELSE ((i / :n / 2) % 4 + 1)::text END"
        hour = "date_trunc('hour', timestamp)"
        day = "date_trunc('day', hour, 'UTC')"
        sums = "sum(quantity::numeric), max(quantity::numeric)"
        day_sums = "sum(value_sum), max(value_max)"
        last = 'max(event_id COLLATE "C"), 1'
        props, ingested = "'{}'::jsonb", ":start"
    else:
        stamp = (
            "strftime('%Y-%m-%d %H:%M:%f000', :start_text, '+' || ((i / :n) * :step) || ' seconds')"
        )
        quantity = "CASE WHEN (i / :n) % 2 = 1 THEN '1' ELSE CAST((i / :n / 2) % 4 + 1 AS TEXT) END"
        hour = "substr(timestamp, 1, 13) || ':00:00.000000'"
        day = "substr(hour, 1, 10) || ' 00:00:00.000000'"
        sums = (
            "CAST(sum(CAST(quantity AS INTEGER)) AS TEXT),"
            " CAST(max(CAST(quantity AS INTEGER)) AS TEXT)"
        )
        day_sums = sums.replace("quantity", "value_sum", 1).replace("quantity", "value_max")
        last = "max(event_id), '1'"
        props, ingested = "'{}'", ":start_text"
    metric = "CASE WHEN (i / :n) % 2 = 1 THEN 'api_calls' ELSE 'storage' END"
    params = {
        "n": n,
        "events": per_customer * n,
        "step": (END - START).total_seconds() / per_customer,
        "start": START,
        "start_text": START.strftime("%Y-%m-%d %H:%M:%S"),
        "product": sizes["product"],
    }
    session.execute(
        text(
            "INSERT INTO usage_events (timestamp, product_id, event_id, customer_id, metric_code,"  # noqa: S608
            " quantity, properties, ingested_at)"
            f" SELECT {stamp}, :product, 'e' || i, {customer}, {metric}, {quantity}, {props},"
            f" {ingested} FROM {_series(session, ':events')}"
        ),
        params,
    )
    session.execute(
        text(
            "INSERT INTO usage_rollups (product_id, customer_id, metric_code, hour, group_key,"  # noqa: S608
            " event_count, value_sum, value_max, latest_at, latest_event_id, latest_value)"
            f" SELECT product_id, customer_id, metric_code, {hour}, '', count(*), {sums},"
            f" max(timestamp), {last} FROM usage_events WHERE product_id = :product"
            f" GROUP BY product_id, customer_id, metric_code, {hour}"
        ),
        params,
    )
    session.execute(
        text(
            "INSERT INTO usage_rollups_daily (product_id, customer_id, metric_code, day,"  # noqa: S608
            " group_key, event_count, value_sum, value_max)"
            f" SELECT product_id, customer_id, metric_code, {day}, group_key, sum(event_count),"
            f" {day_sums} FROM usage_rollups WHERE product_id = :product"
            f" GROUP BY product_id, customer_id, metric_code, {day}, group_key"
        ),
        params,
    )


def _expected_total(session: Session, customer_id: str) -> int:
    """What the customer's renewal invoice must total, from the raw events."""
    rows = dict(
        session.execute(
            text(
                "SELECT metric_code, sum(CAST(quantity AS INTEGER)) FROM usage_events"
                " WHERE customer_id = :c GROUP BY metric_code"
            ),
            {"c": customer_id},
        )
        .tuples()
        .all()
    )
    calls, storage = int(rows["api_calls"]), int(rows["storage"])
    tiers = 2 * max(0, min(calls, 200) - 100) + max(0, calls - 200)
    return 2999 + tiers + STORAGE_RATE * storage


def _analyze(db: Database) -> None:
    """On PostgreSQL, what autovacuum does after a bulk write (this machine's server
    runs with autovacuum off): hint bits and visibility map set, fresh statistics
    (and plans made from them). Then a checkpoint: the setup writes gigabytes of WAL,
    and a checkpoint it started would otherwise still be writing its pages out during
    the timed run."""
    if db.backend == "postgresql":
        with db.factory.kw["bind"].connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.exec_driver_sql("VACUUM ANALYZE")
            autocommit.exec_driver_sql("CHECKPOINT")


def _baseline(db: Database, session_rows: tuple[list[Any], list[Any]]) -> float:
    """Seconds to insert the same invoice and line rows again, raw, per chunk."""
    invoices, lines = session_rows
    inv_cols = [c.name for c in _tables()["invoices"].columns]
    line_cols = [c.name for c in _tables()["invoice_line_items"].columns]
    by_invoice: dict[str, list[Any]] = {}
    for line in lines:
        by_invoice.setdefault(line.invoice_id, []).append(line)

    def row(source: Any, cols: list[str]) -> dict[str, Any]:
        values = {c: getattr(source, c) for c in cols}
        values["id"] = "x" + values["id"]
        if "invoice_id" in values:
            values["invoice_id"] = "x" + values["invoice_id"]
        if values.get("number"):
            values["number"] = "X" + values["number"]
        return values

    inv_table = _tables()["invoices"]
    line_table = _tables()["invoice_line_items"]
    with Stopwatch() as watch:
        for start in range(0, len(invoices), RUN_BATCH):
            chunk = invoices[start : start + RUN_BATCH]
            with unit_of_work(db.factory) as session:
                session.execute(inv_table.insert(), [row(i, inv_cols) for i in chunk])
                session.execute(
                    line_table.insert(),
                    [row(line, line_cols) for i in chunk for line in by_invoice[i.id]],
                )
    with unit_of_work(db.factory) as session:
        session.execute(text("DELETE FROM invoice_line_items WHERE id LIKE 'x%'"))
        session.execute(text("DELETE FROM invoices WHERE id LIKE 'x%'"))
    return watch.seconds


def _relay_here(db: Database, registry: Registry) -> tuple[int, float, int]:
    """Relay in this process: (pairs handled, seconds, statements executed)."""
    engine = db.factory.kw["bind"]
    count, tick = count_statements(engine)
    with long_lived(), Stopwatch() as watch:
        handled = relay_events(db.factory, registry, FixedClock(END))
    event.remove(engine, "before_cursor_execute", tick)
    return handled, watch.seconds, count[0]


def invoice_run(n: int, events: int, *, workers: int = 1) -> Any:
    n, events = n // SCALE, events // SCALE

    def run(db: Database) -> Figure:
        with unit_of_work(db.factory) as session:
            ctx = Context(session=session, product_id=db.product_id, clock=FixedClock(START))
            template = _catalog(ctx)
            template_customer = session.execute(
                text("SELECT customer_id FROM subscriptions WHERE id = :s"), {"s": template}
            ).scalar_one()
        registry = Registry()
        registry.include({}, consumers=invoicing_tasks.CONSUMERS)
        relay_events(db.factory, registry, FixedClock(START))  # the template's first invoice
        with Stopwatch() as build, unit_of_work(db.factory) as session:
            _clone(
                session,
                "customers",
                template_customer,
                {"id": "'cus_bench' || i", "external_id": "'c' || i"},
                n=n,
            )
            _clone(
                session,
                "subscriptions",
                template,
                {
                    "id": "'sub_bench' || i",
                    "customer_id": "'cus_bench' || i",
                    "customer_external_id": "'c' || i",
                },
                n=n,
            )
            sizes = {
                "n": n,
                "events": events,
                "template": template_customer,
                "product": db.product_id,
            }
            _first_invoices(session, template_customer, n=n)
            _usage(session, sizes)
            raw_events = session.execute(text("SELECT count(*) FROM usage_events")).scalar_one()
            rollups = session.execute(text("SELECT count(*) FROM usage_rollups")).scalar_one()
            sub_ids = list(session.scalars(text("SELECT id FROM subscriptions ORDER BY id")))
        _analyze(db)
        renew = subscription_tasks.HANDLERS["subscriptions.renew"]
        with Stopwatch() as renewing:
            for start in range(0, len(sub_ids), RENEW_CHUNK):
                with unit_of_work(db.factory) as session:
                    ctx = Context(session=session, product_id=db.product_id, clock=FixedClock(END))
                    for sub_id in sub_ids[start : start + RENEW_CHUNK]:
                        renew(ctx, {"subscription_id": sub_id, "period_end": END.isoformat()})
        _analyze(db)
        load = os.getloadavg()[0]  # the machine may be shared: say how busy it was
        if workers == 1:
            handled, seconds, statements = _relay_here(db, registry)
        else:
            handled, seconds, statements = relay_in_processes(
                db.url, invoicing_tasks.CONSUMERS, FixedClock(END), workers
            )
        with unit_of_work(db.factory) as session:
            invoices = list(
                session.scalars(
                    select(Invoice).where(Invoice.period_end > END).order_by(Invoice.id)
                )
            )
            lines = list(
                session.scalars(
                    select(InvoiceLine).where(InvoiceLine.invoice_id.in_([i.id for i in invoices]))
                )
            )
            numbers = sorted(int(i.number.rsplit("-", 1)[1]) for i in invoices if i.number)
            assert handled == n, handled
            assert len(invoices) == n, len(invoices)
            assert numbers == list(range(n + 1, 2 * n + 1)), "numbers must follow January's"
            for customer_id in (template_customer, f"cus_bench{n - 1}"):
                [invoice] = [i for i in invoices if i.customer_id == customer_id]
                assert invoice.total == _expected_total(session, customer_id), invoice.total
            session.expunge_all()
        baseline = _baseline(db, (invoices, lines))
        value = n / seconds
        base_value = n / baseline
        return {
            "value": round(value, 1),
            "unit": "invoices/s",
            "customers": n,
            "events": raw_events,
            "rollups": rollups,
            "lines": len(lines),
            "seconds": round(seconds, 3),
            "workers": workers,
            "statements_per_invoice": round(statements / n, 2),
            "batch": RUN_BATCH,
            "load_average_1m": round(load, 2),
            "setup": {
                "bulk_build_seconds": round(build.seconds, 3),
                "renew_seconds": round(renewing.seconds, 3),
            },
            "baseline": {
                "name": f"executemany of the same invoice and line rows, {RUN_BATCH} invoices"
                " per transaction",
                "value": round(base_value, 1),
                "unit": "invoices/s",
                "seconds": round(baseline, 3),
            },
            "ratio_to_baseline": round(value / base_value, 3),
            "goal": ">= 1000 invoices/s",
        }

    return run


BENCHMARKS = [
    Benchmark("invoices.run_10k_5m", invoice_run(10_000, 5_000_000)),
    Benchmark("invoices.run_10k_1m", invoice_run(10_000, 1_000_000)),
    # two worker processes, each relaying one of two shards (PostgreSQL: SQLite runs
    # one writer at a time, so a second worker only waits)
    Benchmark("invoices.run_10k_5m_2w", invoice_run(10_000, 5_000_000, workers=2), POSTGRES),
    Benchmark("invoices.run_10k_1m_2w", invoice_run(10_000, 1_000_000, workers=2), POSTGRES),
    Benchmark("invoices.run_1k_500k", invoice_run(1_000, 500_000)),
    # dense: from 1,488 events a customer every hour of both metrics has events (744
    # hours each), so the rollups a run reads stop growing: 2M and 5M read as many
    Benchmark("invoices.run_1k_2m", invoice_run(1_000, 2_000_000)),
    Benchmark("invoices.run_1k_5m", invoice_run(1_000, 5_000_000)),
]
