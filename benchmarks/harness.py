"""What every benchmark shares: fresh databases, timing, and the JSON line format."""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tollway.cli.main import freeze_long_lived
from tollway.kernel.clock import SystemClock
from tollway.kernel.db import make_engine, make_session_factory, unit_of_work
from tollway.kernel.tenancy import ensure_product
from tollway.migrations import upgrade

BACKENDS = ("sqlite", "postgresql")
PG_ADMIN_URL = os.environ.get(
    "TOLLWAY_BENCH_PG_URL",
    os.environ.get("TOLLWAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
)

Figure = dict[str, Any]


class Unavailable(Exception):
    """The backend cannot be reached; the figure is reported as skipped."""


@dataclass
class Database:
    """A fresh, migrated database with the default product."""

    backend: str
    url: str
    factory: sessionmaker[Session]
    product_id: str


@dataclass(frozen=True)
class Benchmark:
    """One figure: ``run(db)`` returns its JSON fields (value, unit, baseline, ...)."""

    name: str
    run: Callable[[Database], Figure]
    backends: tuple[str, ...] = BACKENDS


@contextmanager
def fresh_database(backend: str) -> Iterator[Database]:
    """A new database of ``backend``, migrated; dropped (or deleted) afterwards."""
    with _database_url(backend) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            factory = make_session_factory(engine)
            with unit_of_work(factory) as session:
                product = ensure_product(
                    session, code="default", name="Benchmark", clock=SystemClock()
                )
            yield Database(backend, url, factory, product.id)
        finally:
            engine.dispose()


@contextmanager
def _database_url(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="tollway-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}")
    name = f"tollway_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        raise Unavailable(
            f"PostgreSQL unreachable at {make_url(PG_ADMIN_URL).render_as_string()}: "
            f"{type(exc).__name__}: {getattr(exc, 'orig', exc)}".strip()
        ) from exc
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Stopwatch:
    """``with Stopwatch() as watch: ...`` then ``watch.seconds``."""

    seconds: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


@contextmanager
def long_lived() -> Iterator[None]:
    """The process's objects so far are kept out of the cyclic GC's scans, as
    ``tollway serve`` and ``tollway worker`` keep theirs after startup; back in
    afterwards (the next figure starts from a clean slate)."""
    freeze_long_lived()
    try:
        yield
    finally:
        gc.unfreeze()


def emit(figure: Figure) -> None:
    """One JSON line on stdout, flushed (figures appear as they are measured)."""
    sys.stdout.write(json.dumps(figure, sort_keys=False) + "\n")
    sys.stdout.flush()


def run_benchmark(benchmark: Benchmark, backend: str) -> Figure:
    """Run one figure on a fresh database; unreachable backends give ``skipped``.

    ``wall_seconds`` covers everything, creating and dropping the database included.
    """
    head: Figure = {"benchmark": benchmark.name, "backend": backend}
    try:
        with Stopwatch() as watch, fresh_database(backend) as db:
            figure = benchmark.run(db)
    except Unavailable as exc:
        return {**head, "skipped": str(exc)}
    return {**head, **figure, "wall_seconds": round(watch.seconds, 3)}
