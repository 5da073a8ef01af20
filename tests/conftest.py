"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL.

Backends come from ``TOLLWAY_TEST_BACKENDS`` (``sqlite,postgresql`` by default).
PostgreSQL is reached at ``TOLLWAY_TEST_PG_URL`` (the local server by default); a
fresh database is created for the run and dropped after it. When it cannot be
reached the PostgreSQL tests are skipped with the reason, except with ``CI=true``,
where the run fails: CI never skips PostgreSQL silently.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tollway.api.app import app_state, application
from tollway.jobs import default_registry
from tollway.kernel.clock import FixedClock
from tollway.kernel.context import Context
from tollway.kernel.db import make_engine, make_session_factory
from tollway.kernel.settings import Settings
from tollway.kernel.tenancy import ensure_product
from tollway.migrations import upgrade
from tollway.migrations.models import metadata

ROOT_KEY = "sk_test_root"
PG_ADMIN_URL = os.environ.get(
    "TOLLWAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [
    b.strip()
    for b in os.environ.get("TOLLWAY_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if b.strip()
]
IN_CI = os.environ.get("CI", "").lower() == "true"
START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


class MovableClock(FixedClock):
    """A fixed clock the test can move."""

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)


def _create_pg_database() -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"tollway_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            # Commits need not wait for the WAL flush: a test never survives a crash.
            connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except OperationalError as exc:
        message = (
            f"PostgreSQL unreachable at {make_url(PG_ADMIN_URL).render_as_string()}: {exc.orig}"
        )
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL. {message}", pytrace=False)
        pytest.skip(message)
    finally:
        admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(url: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database of each backend, for the whole run."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'tollway.db'}"
        upgrade(url)
        yield url
        return
    if request.param != "postgresql":
        raise ValueError(f"unknown backend {request.param!r}")
    url = _create_pg_database()
    try:
        upgrade(url)
        yield url
    finally:
        _drop_pg_database(url)


@pytest.fixture
def backend(database_url: str) -> str:
    """``sqlite`` or ``postgresql``."""
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


@pytest.fixture
def blank_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new database of the test's backend, not migrated (dropped afterwards): for
    tests of a migration over data written at an earlier revision."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    url = _create_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(url)


VACUUM_EVERY = 100
"""PostgreSQL: tests between two ``VACUUM``s of the test database."""
_emptied = itertools.count(1)


@pytest.fixture
def engine(database_url: str) -> Iterator[object]:
    """An engine on the test database; every table is emptied after the test.

    ``DELETE``, not ``TRUNCATE``: on PostgreSQL a ``TRUNCATE`` of every table makes
    new files and syncs them (about 250 ms a test here, against 10 ms); a ``VACUUM``
    every ``VACUUM_EVERY`` tests lets the space of the deleted rows be reused (the
    server may run without autovacuum)."""
    engine = make_engine(database_url)
    yield engine
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(text(f"DELETE FROM {table.name}"))
    if next(_emptied) % VACUUM_EVERY == 0 and engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM"))
    engine.dispose()


@pytest.fixture
def session_factory(engine: object) -> sessionmaker[Session]:
    return make_session_factory(engine)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> MovableClock:
    """The system clock of the test, standing at 2026-01-15 12:00 UTC."""
    return MovableClock(START)


@pytest.fixture
def settings(database_url: str, engine: object) -> Settings:
    return Settings(database_url=database_url, api_key=ROOT_KEY, test_mode=True)  # type: ignore[arg-type]


@pytest.fixture
def wall_clock(clock: MovableClock) -> MovableClock:
    """The real time stamped on webhook attempts; the system clock unless overridden."""
    return clock


_ROUTES: dict[bool, FastAPI] = {}
"""The application's routes, built once per process and test mode: building them costs
FastAPI about 0.4 s here (every route's dependencies analysed), more than most tests.
Each test gives them a state of its own, as ``create_app`` would."""


@pytest.fixture
def app(settings: Settings, clock: MovableClock, wall_clock: MovableClock) -> FastAPI:
    registry = default_registry(settings, wall_clock=wall_clock)
    if settings.test_mode not in _ROUTES:
        _ROUTES[settings.test_mode] = application(test_mode=settings.test_mode)
    shared = _ROUTES[settings.test_mode]
    shared.state.tollway = app_state(settings, clock=clock, registry=registry)
    return shared


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An HTTP client authenticated with the root secret key."""
    with TestClient(app, headers={"Authorization": f"Bearer {ROOT_KEY}"}) as test_client:
        yield test_client


@pytest.fixture
def anonymous(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An HTTP client without credentials."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def ctx(session_factory: sessionmaker[Session], clock: MovableClock) -> Iterator[Context]:
    """A service context in the default product; committed at the end of the test body."""
    session = session_factory()
    product = ensure_product(session, code="default", name="Default product", clock=clock)
    session.commit()  # release SQLite's write lock before the test talks to the API
    yield Context(session=session, product_id=product.id, clock=clock, actor="test")
    session.rollback()
    session.close()


@pytest.fixture
def thread_pool_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions the requests of the test send to the thread pool,
    in order (``run_in_threadpool`` wraps each in a partial)."""
    trips: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(func, "func", func).__name__)
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return trips
