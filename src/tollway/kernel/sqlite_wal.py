"""SQLite's write-ahead log, copied into the database file by a thread of its own.

By default SQLite checkpoints on commit: the commit that takes the log past 1,000
pages copies them into the database file, and syncs it, before it returns. One
write in a few hundred then waits milliseconds for everybody's pages: the quota
consume's p99 on SQLite was two to four times its median (docs/benchmarks.md).
Tollway's connections raise that threshold to :data:`FALLBACK_PAGES` (a safety net
only) and each engine on a database file checkpoints from a thread instead, as
SQLite's documentation suggests for applications that mind latency. The thread
looks every :data:`CHECKPOINT_EVERY_SECONDS` whether the database changed
(``PRAGMA data_version``: commits that landed, whoever made them) and then runs a
``PASSIVE`` checkpoint, again on each look while the last one could not copy
everything (a reader still on older pages, or another process checkpointing). A
passive checkpoint never waits for readers or writers. After
:data:`QUIET_SECONDS` without change the thread sleeps until the next commit.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_SECONDS = 0.05
"""How long the checkpointer waits between two looks while commits come."""
QUIET_SECONDS = 1.0
"""How long the database must stay unchanged before the thread sleeps until a
commit wakes it."""
FALLBACK_PAGES = 10_000
"""``wal_autocheckpoint`` of Tollway's connections: a commit checkpoints only past
this many pages (40 MB of log at SQLite's default 4 KiB pages), which the thread
does not let the log reach unless it cannot run."""
RECONNECT_SECONDS = (1.0, 30.0)
"""The checkpointer's wait after failing to open the database, doubling up to the
second value."""
RESTART_AFTER_SECONDS = 30.0
"""After the thread could not be started, commits try again only this much later."""


class WalCheckpointer:
    """Checkpoints the database of ``engine`` after its commits. The thread starts
    with the first commit and stops, after a last checkpoint, when the engine is
    disposed (a commit after that starts it again)."""

    def __init__(self, engine: Engine) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        self._connect_args: tuple[list[Any], dict[str, Any]] = (list(args), dict(kwargs))
        self.name = f"tollway-wal-checkpoint:{args[0]}"
        self._dirty = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed_at = -RESTART_AFTER_SECONDS
        event.listen(engine, "commit", self._note_commit)
        event.listen(engine, "engine_disposed", self._on_dispose)

    def _note_commit(self, _connection: Any) -> None:
        """Runs inside the commit (before the driver's): it must not raise."""
        self._dirty.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        if time.monotonic() - self._failed_at < RESTART_AFTER_SECONDS:
            return
        try:
            self._start()
        except Exception:
            self._failed_at = time.monotonic()
            log.exception("could not start the WAL checkpointer %s", self.name)

    def _on_dispose(self, _engine: Engine) -> None:
        self.stop()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            stop = threading.Event()
            thread = threading.Thread(target=self._run, args=(stop,), name=self.name, daemon=True)
            thread.start()
            self._stop, self._thread = stop, thread

    def stop(self) -> None:
        """Stop the thread after a last checkpoint, and wait for it."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._dirty.set()  # wakes a sleeping thread to stop
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self, stop: threading.Event) -> None:
        connection = self._connect(stop)
        if connection is None:
            return
        try:
            version, left, quiet = None, False, 0.0
            while not stop.is_set():
                if quiet >= QUIET_SECONDS:
                    # Asleep until a commit is noted (or a stop); at once if one was
                    # noted since the last wake: it may not have landed yet.
                    self._dirty.wait()
                    self._dirty.clear()
                    quiet = 0.0
                if stop.wait(CHECKPOINT_EVERY_SECONDS):
                    break
                changed = self._data_version(connection)
                if changed != version or left:
                    version, quiet = changed, 0.0
                    left = not self._checkpoint(connection)
                else:
                    quiet += CHECKPOINT_EVERY_SECONDS
            self._checkpoint(connection)  # what the last commits left
        finally:
            connection.close()

    def _connect(self, stop: threading.Event) -> sqlite3.Connection | None:
        """The thread's own connection to the engine's database (``None`` if stopped
        before it could open one)."""
        args, kwargs = self._connect_args
        wait, longest = RECONNECT_SECONDS
        while not stop.is_set():
            try:
                connection: sqlite3.Connection = sqlite3.connect(*args, **kwargs)
            except sqlite3.Error as error:
                log.warning("WAL checkpointer %s cannot open the database: %s", self.name, error)
            else:
                return connection
            stop.wait(wait)
            wait = min(wait * 2, longest)
        return None

    def _data_version(self, connection: sqlite3.Connection) -> int | None:
        """A number that changes when another connection commits a change."""
        try:
            return int(connection.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as error:
            log.warning("WAL checkpointer %s cannot read the database: %s", self.name, error)
            return None

    def _checkpoint(self, connection: sqlite3.Connection) -> bool:
        """One passive checkpoint; whether it is done until the next commit: it
        copied the whole log, or it failed (logged; the next commit tries again)."""
        try:
            row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as error:
            log.warning("WAL checkpoint %s failed: %s", self.name, error)
            return True
        busy, pages, copied = row
        return not busy and copied >= pages
