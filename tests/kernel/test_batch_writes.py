"""Batch writes and reads of ``tollway.kernel.db``: ``insert_rows`` (``COPY`` on
PostgreSQL from ``COPY_FROM`` rows), ``insert_new_rows`` (arrays through ``unnest``
on PostgreSQL) and ``among`` (``= ANY`` on PostgreSQL). Each must store and find
exactly what ``executemany`` and ``IN`` do, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from tollway.kernel.context import Context
from tollway.kernel.db import COPY_FROM, among, insert_new_rows, insert_rows, pg_array
from tollway.kernel.outbox import Event
from tollway.kernel.relay import DONE, EventReceipt

AT = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
AWKWARD = "tab\there, newline\nthere, backslash \\ and quote ' \" and ünïcode €"


def _events(ctx: Context, count: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}{i:05d}",
            "product_id": ctx.product_id,
            "type": "invoice.created" if i % 2 else AWKWARD,
            "customer_id": None if i % 3 else f"cus_{i}",
            "data": {"n": i, "amount": "12.50", "text": AWKWARD, "lines": [{"q": None}]},
            "created_at": AT + timedelta(microseconds=i),
        }
        for i in range(count)
    ]


def _stored(ctx: Context, prefix: str) -> list[dict[str, Any]]:
    found = ctx.session.scalars(
        select(Event).where(Event.id.startswith(prefix)).order_by(Event.id)
    ).all()
    return [
        {
            "id": e.id,
            "product_id": e.product_id,
            "type": e.type,
            "customer_id": e.customer_id,
            "data": e.data,
            "created_at": e.created_at,
        }
        for e in found
    ]


@pytest.mark.parametrize("count", [COPY_FROM - 1, COPY_FROM, 3 * COPY_FROM + 7])
def test_insert_rows_stores_every_value_as_given(ctx: Context, count: int) -> None:
    rows = _events(ctx, count, "evt_batch")
    insert_rows(ctx.session, Event, rows)
    ctx.session.expire_all()
    assert _stored(ctx, "evt_batch") == rows


def test_insert_rows_of_nothing_writes_nothing(ctx: Context) -> None:
    insert_rows(ctx.session, Event, [])
    assert _stored(ctx, "evt_") == []


def _receipts(ctx: Context, event_ids: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"rcpt_{event_id}",
            "product_id": ctx.product_id,
            "event_id": event_id,
            "consumer": "billing",
            "status": DONE,
            "attempts": 1,
            "last_error": None,
            "next_attempt_at": None,
            "created_at": AT,
            "updated_at": AT,
        }
        for event_id in event_ids
    ]


def test_insert_new_rows_skips_taken_keys_and_returns_the_new_ones(ctx: Context) -> None:
    insert_rows(ctx.session, Event, _events(ctx, 120, "evt_key"))
    first = [f"evt_key{i:05d}" for i in range(0, 80)]
    second = [f"evt_key{i:05d}" for i in range(60, 120)]
    key = ("consumer", "event_id")

    written = insert_new_rows(
        ctx.session, EventReceipt, _receipts(ctx, first), key=key, returning="event_id"
    )
    again = [{**row, "id": "x" + row["id"]} for row in _receipts(ctx, second)]
    written_again = insert_new_rows(ctx.session, EventReceipt, again, key=key, returning="event_id")

    assert sorted(written) == first
    assert sorted(written_again) == second[20:]  # 60..79 had receipts already
    stored = ctx.session.scalars(select(EventReceipt).order_by(EventReceipt.event_id)).all()
    assert [r.event_id for r in stored] == [f"evt_key{i:05d}" for i in range(120)]
    assert {r.id for r in stored if r.event_id == "evt_key00070"} == {"rcpt_evt_key00070"}
    assert {(r.status, r.attempts, r.next_attempt_at, r.created_at) for r in stored} == {
        (DONE, 1, None, AT)
    }
    assert insert_new_rows(ctx.session, EventReceipt, [], key=key, returning="event_id") == []


@pytest.mark.parametrize("size", [0, 1, 250])
def test_among_finds_exactly_the_values_given(ctx: Context, size: int) -> None:
    insert_rows(ctx.session, Event, _events(ctx, 300, "evt_among"))
    wanted = [f"evt_among{i:05d}" for i in range(0, 2 * size, 2)] + ["evt_absent"]
    found = ctx.session.scalars(
        select(Event.id).where(among(ctx.session, Event.id, wanted)).order_by(Event.id)
    ).all()
    # even ids from 0 up to 2 * size, of which only those below 300 exist
    assert found == [f"evt_among{i:05d}" for i in range(0, min(2 * size, 300), 2)]


TRICKY = ["NULL", "null", "", "a,b", "{x}", 'say "hi"', "back\\slash", "two words", AWKWARD]
PLAIN = ["evt_01abc", "c-42", "INV-2026-0001", "user@example.com", "3.25", "Nullable"]


@pytest.mark.parametrize(
    "values", [PLAIN, TRICKY] + [[*PLAIN, odd] for odd in TRICKY], ids=lambda v: repr(v[-1])
)
def test_among_matches_every_kind_of_text_exactly(ctx: Context, values: list[str]) -> None:
    rows = _events(ctx, len(PLAIN + TRICKY), "evt_text")
    for row, kind in zip(rows, PLAIN + TRICKY, strict=True):
        row["type"] = kind
    insert_rows(ctx.session, Event, rows)
    found = ctx.session.scalars(
        select(Event.type).where(
            Event.id.startswith("evt_text"), among(ctx.session, Event.type, values)
        )
    ).all()
    assert sorted(found) == sorted(values)


def test_pg_array_joins_only_values_that_need_no_quoting() -> None:
    instant = datetime(2026, 3, 1, 12, 30, 0, 250, tzinfo=UTC)
    assert pg_array(["inv_01", "c-42", 7, Decimal("-1.50"), instant]) == (
        "{inv_01,c-42,7,-1.50,2026-03-01T12:30:00.000250+00:00}"
    )
    assert pg_array([]) == "{}"
    assert pg_array(PLAIN) == "{" + ",".join(PLAIN) + "}"
    for odd in [*TRICKY, None, True, Decimal("NaN"), instant.replace(tzinfo=None), 1.5]:
        assert pg_array(["ok", odd]) == ["ok", odd], odd


def test_instants_of_any_offset_are_stored_in_utc_and_naive_ones_refused(ctx: Context) -> None:
    plus_two = timezone(timedelta(hours=2))
    instants = {
        "i-utc": datetime(2026, 3, 1, 12, 30, 0, 7, tzinfo=UTC),
        "i-offset": datetime(2026, 3, 1, 1, 0, tzinfo=plus_two),  # Feb 28, 23:00 UTC
        "i-old": datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    for event_id, at in instants.items():
        ctx.session.add(
            Event(id=event_id, product_id=ctx.product_id, type="t", data={}, created_at=at)
        )
    ctx.session.flush()
    ctx.session.expire_all()
    stored = {
        e.id: e.created_at for e in ctx.session.scalars(select(Event).where(Event.type == "t"))
    }
    assert stored == instants
    assert all(at.tzinfo is UTC for at in stored.values())
    in_order = ctx.session.scalars(
        select(Event.id).where(Event.type == "t").order_by(Event.created_at)
    )
    assert list(in_order) == ["i-old", "i-offset", "i-utc"]
    ctx.session.add(
        Event(
            id="i-naive",
            product_id=ctx.product_id,
            type="t",
            data={},
            created_at=datetime(2026, 3, 1),  # noqa: DTZ001 - naive on purpose
        )
    )
    with pytest.raises(StatementError, match="naive datetime"):
        ctx.session.flush()
