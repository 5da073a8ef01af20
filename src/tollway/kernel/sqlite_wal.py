"""SQLite's write-ahead log, copied into the database file by a thread of its own.

By default SQLite checkpoints on commit: the commit that takes the log past 1,000
pages copies them into the database file, and syncs it, before it returns. One
write in a few hundred then waits milliseconds for everybody's pages: the quota
consume's p99 on SQLite was two to four times its median (docs/benchmarks.md).
Tollway's connections turn that off (``wal_autocheckpoint=0``) and each engine on
a database file checkpoints from a thread instead, as SQLite's documentation
suggests for applications that mind latency: a ``PASSIVE`` checkpoint at most every
:data:`CHECKPOINT_EVERY_SECONDS` while commits come. A passive checkpoint never
waits for readers or writers; what it cannot copy yet, the next one does.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_SECONDS = 0.05
"""How long the checkpointer waits between two checkpoints while commits come."""


class WalCheckpointer:
    """Checkpoints the database file at ``path`` after the commits of the engines it
    is attached to. Its thread starts with the first commit and stops when the
    engine is disposed (a commit after that starts it again)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._commits = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "commit", self._note_commit)
        event.listen(engine, "engine_disposed", self._on_dispose)

    def _note_commit(self, _connection: Any) -> None:
        self._commits += 1
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._start()

    def _on_dispose(self, _engine: Engine) -> None:
        self.stop()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run,
                args=(self._stop,),
                name=f"tollway-wal-checkpoint:{self.path}",
                daemon=True,
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread after a last checkpoint, and wait for it."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join()

    def _run(self, stop: threading.Event) -> None:
        connection = sqlite3.connect(self.path)
        try:
            seen = 0
            while not stop.wait(CHECKPOINT_EVERY_SECONDS):
                if self._commits != seen:
                    seen = self._commits
                    self._checkpoint(connection)
            self._checkpoint(connection)  # what the last commits left
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as error:
            log.warning("WAL checkpoint of %s failed: %s", self.path, error)
