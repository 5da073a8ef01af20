"""PostgreSQL's pooled connections: pinged after they sat idle, not on every checkout."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from tollway.kernel import db

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(engine: Engine, pid: int) -> None:
    with engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})  # waits
        other.commit()


def _other_engine(engine: Engine) -> Engine:
    """Another engine on the same database, to end the first one's connection from."""
    return db.make_engine(engine.url.render_as_string(hide_password=False))


def test_an_idle_connection_that_died_is_replaced_before_use(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    pooled = _backend_pid(engine)
    sibling = _other_engine(engine)
    _terminate(sibling, pooled)
    sibling.dispose()

    assert _backend_pid(engine) != pooled  # the dead connection was pinged and replaced


def test_a_connection_in_constant_use_is_not_pinged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    pooled = _backend_pid(engine)
    sibling = _other_engine(engine)
    _terminate(sibling, pooled)
    sibling.dispose()

    # Without a ping the dead connection is handed out and its first statement fails;
    # the pool then discards it, and the next checkout connects afresh.
    with pytest.raises(OperationalError):
        _backend_pid(engine)
    assert _backend_pid(engine) != pooled
