"""The shipped migrations build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from tollway.migrations.models import metadata


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite: JSON is text
def test_event_snapshots_are_compressed_with_lz4_where_the_server_has_it(engine: Engine) -> None:
    with engine.connect() as connection:
        has_lz4 = connection.exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        ).scalar_one()
        method = connection.exec_driver_sql(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = 'events'::regclass AND attname = 'data'"
        ).scalar_one()
    assert method == ("l" if has_lz4 else "")  # without lz4, the server's default stays
