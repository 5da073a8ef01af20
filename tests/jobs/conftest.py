"""Fixtures of the job runtime tests (helpers live in ``jobkit``)."""

from __future__ import annotations

import pytest
from jobkit import Jobs
from sqlalchemy.orm import Session, sessionmaker

from tollway.jobs import Registry
from tollway.kernel.clock import Clock
from tollway.kernel.db import unit_of_work
from tollway.kernel.tenancy import ensure_product


@pytest.fixture
def product_id(session_factory: sessionmaker[Session], clock: Clock) -> str:
    with unit_of_work(session_factory) as session:
        return ensure_product(session, code="default", name="Default product", clock=clock).id


@pytest.fixture
def jobs(session_factory: sessionmaker[Session], clock: Clock, product_id: str) -> Jobs:
    return Jobs(session_factory, clock, product_id)


@pytest.fixture
def registry() -> Registry:
    """An empty registry: each test registers the handlers it needs."""
    return Registry()
