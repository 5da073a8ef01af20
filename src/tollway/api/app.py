"""The HTTP application: ``create_app`` wires settings, database, clock and routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from tollway import __version__
from tollway.api import problems
from tollway.api.deps import AppStateDep
from tollway.api.routers import (
    audit,
    catalog,
    credits,
    customers,
    dunning,
    events,
    invoices,
    notifications,
    payments,
    product,
    providers,
    quotas,
    subscriptions,
    test_clocks,
    usage,
    webhooks,
)
from tollway.api.state import AppState
from tollway.jobs import Registry, default_registry
from tollway.kernel.clock import Clock, SystemClock
from tollway.kernel.db import (
    make_engine,
    make_read_session_factory,
    make_session_factory,
    unit_of_work,
)
from tollway.kernel.settings import Settings, get_settings
from tollway.kernel.tenancy import ensure_product

log = logging.getLogger(__name__)

_ROUTERS = [
    # The hot path first: a request is matched against the routes in this order.
    usage.router,
    quotas.router,
    customers.router,
    catalog.router,
    events.router,
    product.router,
    audit.router,
    subscriptions.router,
    webhooks.router,
    notifications.router,
    credits.router,
    invoices.router,
    payments.router,
    dunning.router,
    providers.router,
]


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    registry: Registry | None = None,
) -> FastAPI:
    """A Tollway API over an already migrated database (``tollway migrate``)."""
    settings = settings or get_settings()
    app = application(test_mode=settings.test_mode)
    app.state.tollway = app_state(settings, clock=clock, registry=registry)
    return app


def app_state(
    settings: Settings, *, clock: Clock | None = None, registry: Registry | None = None
) -> AppState:
    """What the routes serve from: the database (its default product ensured), the
    clock and the job registry."""
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        product = ensure_product(
            session, code=settings.default_product_code, name="Default product", clock=clock
        )
    return AppState(
        settings=settings,
        engine=engine,
        session_factory=factory,
        read_session_factory=make_read_session_factory(engine),
        clock=clock,
        registry=registry or default_registry(settings),
        default_product_id=product.id,
    )


def application(*, test_mode: bool) -> FastAPI:
    """The routes, without state: ``app.state.tollway`` (an :class:`AppState`) must be
    set before it serves. The test clock routes are there in ``test_mode`` only. On
    shutdown the state's ``on_shutdown`` callbacks run, then its engine is disposed."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state = app.state.tollway
        try:
            for stop in state.on_shutdown:
                try:
                    await run_in_threadpool(stop)
                except Exception:
                    log.exception("a shutdown step failed; going on")
        finally:
            state.engine.dispose()

    app = FastAPI(
        title="Tollway",
        version=__version__,
        lifespan=lifespan,
        description="Billing engine for SaaS: plans, subscriptions, metering, quotas, "
        "credits, invoices, payments and signed webhooks.",
    )
    problems.install(app)

    # The routers' routes are complete (prefix and dependencies included): the app
    # holds them in one flat list. FastAPI's include_router would nest each router,
    # and match a request by walking the nest twice (docs/decisions.md).
    for router in [*_ROUTERS, test_clocks.router] if test_mode else _ROUTERS:
        app.router.routes.extend(router.routes)
    app.add_api_route("/healthz", _health, methods=["GET"], tags=["operations"])
    return app


def _health(state: AppStateDep) -> dict[str, str]:
    """Liveness and database reachability (no authentication)."""
    with state.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok"}
