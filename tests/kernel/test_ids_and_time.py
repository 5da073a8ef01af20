"""Ids sort in creation order; instants are always aware UTC."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tollway.kernel.clock import FixedClock, ensure_utc
from tollway.kernel.context import Context
from tollway.kernel.db import make_engine
from tollway.kernel.ids import new_id, new_ids
from tollway.kernel.outbox import Event, record_event


def test_ids_are_prefixed_unique_and_increasing_across_threads() -> None:
    made: list[list[str]] = []

    def make() -> None:
        made.append([new_id("evt") for _ in range(1000)])
        made.append(new_ids("evt", 1000))
        made.append([*new_ids("evt", 1), new_id("evt"), *new_ids("evt", 3)])

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for batch in made for i in batch]
    assert len(set(every)) == 4 * 2005
    assert all(i.startswith("evt_") and len(i) == 24 for i in every)
    for batch in made:
        assert batch == sorted(batch)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        FixedClock(datetime(2026, 1, 1))  # noqa: DTZ001


def test_offsets_are_normalized_to_utc() -> None:
    sao_paulo = timezone(timedelta(hours=-3))
    assert ensure_utc(datetime(2026, 3, 1, 9, tzinfo=sao_paulo)) == datetime(
        2026, 3, 1, 12, tzinfo=UTC
    )


def test_instants_round_trip_as_utc(ctx: Context, session_factory: sessionmaker[Session]) -> None:
    plus_two = timezone(timedelta(hours=2))
    ctx.clock = FixedClock(datetime(2026, 7, 1, 14, 30, tzinfo=plus_two))
    event = record_event(ctx, "test.happened", {"n": 1})
    ctx.session.commit()
    with session_factory() as session:
        loaded = session.get_one(Event, event.id)
        assert loaded.created_at == datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
        assert loaded.created_at.tzinfo is UTC


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
