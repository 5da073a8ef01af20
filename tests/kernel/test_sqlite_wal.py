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
from sqlalchemy import Engine, event, text

from tollway.kernel.db import make_engine
from tollway.kernel.sqlite_wal import FALLBACK_PAGES, WalCheckpointer


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
    """Rows of ``t`` in the database file alone, without its log (a copy of it; 0
    when the copy caught the checkpointer writing)."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(path, copy)
    connection = sqlite3.connect(copy)
    try:
        tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 't'")
        if tables.fetchone()[0] == 0:
            return 0
        return int(connection.execute("SELECT count(*) FROM t").fetchone()[0])
    except sqlite3.DatabaseError:
        return 0
    finally:
        connection.close()


def _eventually_in_the_file(path: Path, tmp_path: Path, rows: int) -> int:
    deadline = time.monotonic() + 5
    while (found := _in_the_file(path, tmp_path)) < rows and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def _checkpointers(path: Path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"tollway-wal-checkpoint:{path}"]


def test_a_commit_checkpoints_only_past_the_fallback_size(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == FALLBACK_PAGES


def test_commits_reach_the_database_file_soon_after(
    engine: Engine, path: Path, tmp_path: Path
) -> None:
    _write(engine, 0, 20)  # 20 pages or so: far below SQLite's 1,000-page checkpoint

    assert _eventually_in_the_file(path, tmp_path, 20) == 20
    assert len(_checkpointers(path)) == 1


def test_commits_a_reader_held_back_reach_the_file_once_it_is_done(
    engine: Engine, path: Path, tmp_path: Path
) -> None:
    _write(engine, 0, 1)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # holds the snapshot of 1 row
    _write(engine, 1, 9)
    time.sleep(0.3)  # the checkpoints meanwhile cannot copy past the reader
    reader.execute("COMMIT")
    reader.close()

    assert _eventually_in_the_file(path, tmp_path, 10) == 10  # no commit came after


def test_a_commit_that_lands_late_still_reaches_the_file(
    engine: Engine, path: Path, tmp_path: Path
) -> None:
    def slow(_connection: object) -> None:  # runs after the checkpointer noted the commit
        time.sleep(0.2)

    event.listen(engine, "commit", slow)
    _write(engine, 0, 1)

    assert _eventually_in_the_file(path, tmp_path, 1) == 1  # no commit came after


def test_a_checkpointer_that_cannot_start_does_not_fail_the_commit(
    engine: Engine, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: WalCheckpointer) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(WalCheckpointer, "_start", refuse)
    _write(engine, 0, 2)

    with engine.connect() as connection:  # the connection went back to the pool clean
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 2


def test_a_uri_database_is_checkpointed(path: Path, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///file:{path}?uri=true")
    try:
        _write(engine, 0, 3)
        assert _eventually_in_the_file(path, tmp_path, 3) == 3
    finally:
        engine.dispose()


def test_disposing_the_engine_stops_its_checkpointer_and_a_commit_restarts_it(
    engine: Engine, path: Path, tmp_path: Path
) -> None:
    _write(engine, 0, 5)
    engine.dispose()

    assert _checkpointers(path) == []
    assert not Path(f"{path}-wal").exists()  # the last connection closed cleanly
    _write(engine, 5, 5)
    assert _eventually_in_the_file(path, tmp_path, 10) == 10
