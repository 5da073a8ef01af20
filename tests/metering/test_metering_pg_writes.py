"""PostgreSQL's write path: what one event costs in statements, and the rollup rows
concurrent batches lock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from tollway.catalog import MetricCreate, create_metric
from tollway.customers import CustomerCreate, create_customer
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.metering import ingest
from tollway.metering.models import UsageRollup
from tollway.metering.writes import UsageWriter

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
HOUR = datetime(2026, 1, 15, 10, tzinfo=UTC)  # the tests' clock stands at 12:00


def _event(event_id: str, minute: int, quantity: str, region: str) -> dict[str, Any]:
    return {
        "customer_id": "acme",
        "metric": "gb",
        "event_id": event_id,
        "quantity": quantity,
        "timestamp": (HOUR + timedelta(minutes=minute)).isoformat(),
        "properties": {"region": region},
    }


def test_a_new_event_and_its_rollups_are_one_statement(ctx: Context, engine: Engine) -> None:
    create_metric(ctx, MetricCreate(code="gb", name="GB", aggregation="sum"))
    create_customer(ctx, CustomerCreate(external_id="acme"))
    writes: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "usage_" in statement:
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert ingest(ctx, [_event("a", 5, "2.5", "eu")]).accepted == 1
        new = list(writes)
        writes.clear()
        again = ingest(ctx, [_event("a", 5, "2.5", "eu"), _event("b", 6, "1", "eu")])
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert (again.accepted, again.duplicates) == (1, 1)
    [store] = new
    assert "usage_event_keys" in store
    assert "usage_rollups_daily" in store
    # with a duplicate the statement adds no cells; the new event's follow
    assert len(writes) == 2
    assert "usage_event_keys" in writes[0]
    assert "usage_event_keys" not in writes[1]
    assert "usage_rollups" in writes[1]
    (cell,) = ctx.session.scalars(select(UsageRollup))
    assert (cell.event_count, cell.value_sum) == (2, Decimal("3.5"))


def test_gauge_batches_of_two_groups_in_one_hour_do_not_deadlock(
    ctx: Context,
    session_factory: sessionmaker[Session],
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_metric(
        ctx,
        MetricCreate(code="gb", name="GB", aggregation="weighted_sum", group_by=["region"]),
    )
    create_customer(ctx, CustomerCreate(external_id="acme"))
    ingest(ctx, [_event("eu-0", 0, "6", "eu"), _event("us-0", 0, "60", "us")])
    ctx.session.commit()
    # Each batch has upserted (and locked) its own group's cell when both integrate.
    both_upserted = threading.Barrier(2, timeout=10)
    integrate = UsageWriter.set_integrals

    def after_both(writer: UsageWriter, values: Any) -> None:
        both_upserted.wait()
        integrate(writer, values)

    monkeypatch.setattr(UsageWriter, "set_integrals", after_both)
    errors: list[BaseException] = []

    def send(batch: list[dict[str, Any]]) -> None:
        try:
            with unit_of_work(session_factory) as session:
                ingest(Context(session=session, product_id=ctx.product_id, clock=clock), batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=send, args=([_event("eu-1", 30, "12", "eu")],)),
        threading.Thread(target=send, args=([_event("us-1", 30, "0", "us")],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    integrals = {cell.group_key: cell.integral for cell in ctx.session.scalars(select(UsageRollup))}
    # in value-seconds: eu 6 for 30 minutes, then 12 for 30; us 60, then 0
    assert integrals == {
        '{"region":"eu"}': Decimal(6 * 1800 + 12 * 1800),
        '{"region":"us"}': Decimal(60 * 1800),
    }
