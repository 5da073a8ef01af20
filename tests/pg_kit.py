"""Losing PostgreSQL connections on purpose: the backend of a pooled connection,
ended from another connection."""

from __future__ import annotations

from sqlalchemy import Engine, text


def backend_pid(engine: Engine) -> int:
    """The server process of the connection ``engine``'s pool hands out next."""
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(engine: Engine, pid: int) -> None:
    """End the server process ``pid`` from a connection of ``engine``, waiting until it
    is gone (``pg_terminate_backend`` returns before that without a timeout)."""
    with engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        other.commit()
