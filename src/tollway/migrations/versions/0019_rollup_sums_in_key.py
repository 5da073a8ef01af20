"""usage rollups carry their count, sum and max in the primary key (PostgreSQL)

An invoice run sums a period's rollups for hundreds of customers at once; a
customer's rollups are spread over the table (one hour's arrive together), so
reading them from the heap touched a page per rollup. With the sums included in
the key, the read is an index-only scan once the pages are all-visible (closed
periods are, after a vacuum). SQLite has no INCLUDE; its reads are local.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

KEY = ['product_id', 'customer_id', 'metric_code', 'hour', 'group_key']


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_constraint('pk_usage_rollups', 'usage_rollups', type_='primary')
    op.execute(
        'ALTER TABLE usage_rollups ADD CONSTRAINT pk_usage_rollups PRIMARY KEY '
        f'({", ".join(KEY)}) INCLUDE (event_count, value_sum, value_max)'
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_constraint('pk_usage_rollups', 'usage_rollups', type_='primary')
    op.create_primary_key('pk_usage_rollups', 'usage_rollups', KEY)
