"""event snapshots are compressed with lz4 (PostgreSQL)

An invoice run writes two events per invoice whose data (the invoice snapshot,
about 2 KB of jsonb) is over PostgreSQL's TOAST threshold, so each is compressed
as it is written: with the default pglz, a 10,000-invoice run spent about 0.3 s of
the server's CPU more than with lz4 (docs/benchmarks.md). Only new rows change.
A server built without lz4 (or older than PostgreSQL 14) keeps pglz.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def _compression(method: str) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(
        "DO $$ BEGIN "
        f"EXECUTE 'ALTER TABLE events ALTER COLUMN data SET COMPRESSION {method}'; "
        "EXCEPTION WHEN feature_not_supported OR syntax_error THEN "
        f"RAISE NOTICE 'events.data keeps its compression: {method} is not available'; "
        "END $$"
    )


def upgrade() -> None:
    _compression('lz4')


def downgrade() -> None:
    _compression('default')
