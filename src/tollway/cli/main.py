"""``tollway serve | worker | migrate | keys create | catalog import | demo``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from tollway import auth
from tollway.kernel.clock import Clock, SystemClock
from tollway.kernel.context import Context
from tollway.kernel.db import make_engine, make_session_factory, unit_of_work
from tollway.kernel.errors import TollwayError
from tollway.kernel.settings import Settings, get_settings
from tollway.kernel.tenancy import ensure_product, product_by_code

log = logging.getLogger("tollway")


@contextmanager
def _cli_errors() -> Iterator[None]:
    """Turn expected failures into a one-line message and exit code 1."""
    try:
        yield
    except TollwayError as exc:
        raise click.ClickException(exc.detail) from exc
    except OperationalError as exc:
        raise click.ClickException(f"database error: {exc.orig}") from exc
    except (UnicodeDecodeError, OSError) as exc:
        raise click.ClickException(f"cannot read the file: {exc}") from exc


@contextmanager
def command_context(settings: Settings, product_code: str | None) -> Iterator[Context]:
    """A Context for a CLI command: one transaction, committed when the command succeeds."""
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            clock = SystemClock()
            code = product_code or settings.default_product_code
            product = (
                ensure_product(session, code=code, name="Default product", clock=clock)
                if code == settings.default_product_code
                else product_by_code(session, code)
            )
            yield Context(session=session, product_id=product.id, clock=clock, actor="cli")
    finally:
        engine.dispose()


def _migrate(settings: Settings) -> None:
    from tollway.migrations import upgrade

    upgrade(settings.database_url)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug output.")
@click.version_option(package_name="tollway")
def main(verbose: bool) -> None:
    """Tollway: billing engine for SaaS."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
def migrate() -> None:
    """Apply database migrations (also done by ``serve``)."""
    settings = get_settings()
    with _cli_errors():
        _migrate(settings)
    click.echo(f"database at {_display_url(settings.database_url)} is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Do not run the embedded job scheduler.")
def serve(host: str, port: int, no_worker: bool) -> None:
    """Migrate, then serve the API with an embedded job worker."""
    settings = get_settings()
    with _cli_errors():
        _migrate(settings)
        _ensure_first_key(settings)
    serve_app(settings, host=host, port=port, worker=not no_worker)


def freeze_long_lived() -> None:
    """Everything a server or worker loaded at startup lives as long as the process:
    keep it out of the cyclic GC's scans, which otherwise dominate large usage batches
    and invoice runs (docs/benchmarks.md)."""
    import gc

    gc.collect()
    gc.freeze()


def serve_app(
    settings: Settings, *, host: str, port: int, worker: bool, clock: Clock | None = None
) -> None:
    """Serve the API with uvicorn until stopped (and the job worker, with ``worker``);
    ``clock`` replaces the system clock (benchmarks serve a fixed instant)."""
    import uvicorn

    from tollway.api import create_app
    from tollway.jobs import Worker

    app = create_app(settings, clock=clock)
    freeze_long_lived()
    state = app.state.tollway
    if worker:
        running = Worker(
            state.session_factory,
            state.registry,
            state.clock,
            poll_seconds=settings.worker_poll_seconds,
            lease=timedelta(seconds=settings.job_lease_seconds),
        ).start_thread()
        # uvicorn runs the app's shutdown on SIGINT and SIGTERM, then re-raises the
        # signal: the worker must stop there, before the engine is disposed
        state.on_shutdown.append(running.stop)
    click.echo(f"Tollway serving on http://{host}:{port} (docs at /docs)")
    uvicorn.run(app, host=host, port=port, log_level="info")


def _ensure_first_key(settings: Settings) -> None:
    """On a first start without ``TOLLWAY_API_KEY``, make a secret key and show it once."""
    if settings.api_key is not None:
        return
    with command_context(settings, None) as ctx:
        if auth.has_secret_keys(ctx.session, ctx.product_id):
            return
        issued = auth.create_secret_key(ctx, name="first start")
    click.echo(
        f"No API key configured; created secret key {issued.secret}\n"
        "  (shown once: keep it, or set TOLLWAY_API_KEY)"
    )


@main.command()
def worker() -> None:
    """Run jobs until SIGINT or SIGTERM (the jobs in hand finish first; a second
    signal stops at once); start as many as you like on PostgreSQL."""
    import threading

    from tollway.jobs import Worker, default_registry, stop_on_signals

    settings = get_settings()
    engine = make_engine(settings.database_url)
    runner = Worker(
        make_session_factory(engine),
        default_registry(settings),
        SystemClock(),
        poll_seconds=settings.worker_poll_seconds,
        lease=timedelta(seconds=settings.job_lease_seconds),
    )
    freeze_long_lived()
    stop = threading.Event()
    stop_on_signals(stop)
    running = runner.start_thread(stop)  # the main thread only waits: see stop_on_signals
    try:
        while running.thread.is_alive():
            running.thread.join(0.5)
    except KeyboardInterrupt:  # the second SIGINT: the daemon thread ends with the process
        pass
    finally:
        engine.dispose()


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--name", default="cli", show_default=True, help="A label for the key.")
@click.option("--product", "product_code", default=None, help="Product code (default product).")
def keys_create(name: str, product_code: str | None) -> None:
    """Create a secret key and print it (it is shown only once)."""
    settings = get_settings()
    with _cli_errors(), command_context(settings, product_code) as ctx:
        issued = auth.create_secret_key(ctx, name=name)
    click.echo(issued.secret)


@main.group()
def catalog() -> None:
    """Plans, metrics, add-ons and coupons."""


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--product", "product_code", default=None, help="Product code (default product).")
def catalog_import(file: Path, product_code: str | None) -> None:
    """Load a ``.product`` YAML file (plans, features, branding)."""
    from tollway import catalog as catalog_domain

    settings = get_settings()
    with _cli_errors(), command_context(settings, product_code) as ctx:
        result = catalog_domain.import_product_file(ctx, file.read_text(encoding="utf-8"))
    click.echo(result.summary())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Seed only, do not serve.")
def demo(host: str, port: int, no_serve: bool) -> None:
    """Seed a sample product, customers and usage, then serve."""
    from tollway.cli.demo import seed

    settings = get_settings()
    with _cli_errors():
        _migrate(settings)
        with command_context(settings, None) as ctx:
            key = seed(ctx)
    click.echo(
        f"Demo data ready. Try:\n  curl -H 'Authorization: Bearer {key}' "
        f"http://{host}:{port}/v1/plans"
    )
    if not no_serve:
        serve_app(settings, host=host, port=port, worker=True)


def _display_url(url: str) -> str:
    engine: Engine = make_engine(url)
    try:
        return engine.url.render_as_string(hide_password=True)
    finally:
        engine.dispose()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
