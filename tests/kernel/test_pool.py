"""PostgreSQL's pooled connections: pinged after they sat idle, not on every checkout."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from pg_kit import backend_pid, terminate
from tollway.kernel import db

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _kill_the_pooled_connection(engine: Engine) -> int:
    """End the server process of the connection ``engine``'s pool holds (from another
    engine's connection); its pid."""
    pooled = backend_pid(engine)
    sibling = db.make_engine(engine.url.render_as_string(hide_password=False))
    terminate(sibling, pooled)
    sibling.dispose()
    return pooled


def test_an_idle_connection_that_died_is_replaced_before_use(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    pooled = _kill_the_pooled_connection(engine)

    assert backend_pid(engine) != pooled  # the dead connection was pinged and replaced


def test_a_connection_in_constant_use_is_not_pinged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    pooled = _kill_the_pooled_connection(engine)

    # Without a ping the dead connection is handed out and its first statement fails;
    # the pool then discards it, and the next checkout connects afresh.
    with pytest.raises(OperationalError):
        backend_pid(engine)
    assert backend_pid(engine) != pooled
