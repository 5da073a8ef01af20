"""The shipped migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from tollway.migrations.models import metadata


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_event_snapshots_are_compressed_with_lz4_on_postgresql(engine: Engine) -> None:
    with engine.connect() as connection:
        if engine.dialect.name != "postgresql":
            return  # SQLite stores JSON as text, uncompressed
        method = connection.exec_driver_sql(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = 'events'::regclass AND attname = 'data'"
        ).scalar_one()
    assert method == "l"  # this machine's server has lz4 (Debian builds it in)
