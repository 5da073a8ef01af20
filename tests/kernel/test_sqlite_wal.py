"""SQLite's write-ahead log is copied into the database file by the engine's
checkpointer thread, not by the commit that happens to take the log past 1,000
pages."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tollway.kernel.db import make_engine


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "wal.db"


@pytest.fixture
def engine(path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def _write(engine: Engine, first: int, count: int) -> None:
    """``count`` rows, one commit each."""
    with engine.connect() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY)"))
        connection.commit()
        for n in range(first, first + count):
            connection.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
            connection.commit()


def _in_the_file(path: Path, tmp_path: Path) -> int:
    """Rows of ``t`` in the database file alone, without its log (a copy of it)."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(path, copy)
    with sqlite3.connect(copy) as connection:
        tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 't'")
        if tables.fetchone()[0] == 0:
            return 0
        return int(connection.execute("SELECT count(*) FROM t").fetchone()[0])


def _eventually_in_the_file(path: Path, tmp_path: Path, rows: int) -> int:
    deadline = time.monotonic() + 5
    while (found := _in_the_file(path, tmp_path)) < rows and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def _checkpointers(path: Path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"tollway-wal-checkpoint:{path}"]


def test_a_commit_does_not_checkpoint(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0


def test_commits_reach_the_database_file_soon_after(
    engine: Engine, path: Path, tmp_path: Path
) -> None:
    _write(engine, 0, 20)  # 20 pages or so: far below SQLite's 1,000-page checkpoint

    assert _eventually_in_the_file(path, tmp_path, 20) == 20
    assert len(_checkpointers(path)) == 1


def test_disposing_the_engine_stops_its_checkpointer_and_a_commit_restarts_it(
    engine: Engine, path: Path, tmp_path: Path
) -> None:
    _write(engine, 0, 5)
    engine.dispose()

    assert _checkpointers(path) == []
    assert not Path(f"{path}-wal").exists()  # the last connection closed cleanly
    _write(engine, 5, 5)
    assert _eventually_in_the_file(path, tmp_path, 10) == 10
