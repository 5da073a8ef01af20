"""Alembic environment: runs on the connection given by ``tollway.migrations.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from tollway.kernel.db import make_engine
from tollway.migrations.models import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as own_connection:
        _run(own_connection)
    engine.dispose()
