"""metering

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import tollway.kernel.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('usage_event_keys',
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('timestamp', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('product_id', 'event_id', name=op.f('pk_usage_event_keys'))
    )
    op.create_table('usage_events',
    sa.Column('timestamp', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('metric_code', sa.String(length=100), nullable=False),
    sa.Column('quantity', tollway.kernel.db.DecimalText(length=64), nullable=False),
    sa.Column('properties', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('ingested_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('timestamp', 'product_id', 'event_id', name=op.f('pk_usage_events'))
    )
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_events_product_id_customer_id_metric_code_timestamp'), ['product_id', 'customer_id', 'metric_code', 'timestamp'], unique=False)

    op.create_table('usage_rejections',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=True),
    sa.Column('external_customer_id', sa.String(length=255), nullable=True),
    sa.Column('metric_code', sa.String(length=100), nullable=True),
    sa.Column('event_id', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.String(length=50), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('event', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_rejections'))
    )
    with op.batch_alter_table('usage_rejections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_rejections_product_id_id'), ['product_id', 'id'], unique=False)

    op.create_table('usage_rollup_distinct',
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('metric_code', sa.String(length=100), nullable=False),
    sa.Column('hour', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('group_key', sa.String(length=1000), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('product_id', 'customer_id', 'metric_code', 'hour', 'group_key', 'value', name=op.f('pk_usage_rollup_distinct'))
    )
    op.create_table('usage_rollups',
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('metric_code', sa.String(length=100), nullable=False),
    sa.Column('hour', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('group_key', sa.String(length=1000), nullable=False),
    sa.Column('event_count', sa.BigInteger(), nullable=False),
    sa.Column('value_sum', tollway.kernel.db.DecimalText(length=64).with_variant(sa.Numeric(), 'postgresql'), nullable=False),
    sa.Column('value_max', tollway.kernel.db.DecimalText(length=64).with_variant(sa.Numeric(), 'postgresql'), nullable=False),
    sa.Column('latest_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('latest_event_id', sa.String(length=255), nullable=False),
    sa.Column('latest_value', tollway.kernel.db.DecimalText(length=64).with_variant(sa.Numeric(), 'postgresql'), nullable=False),
    sa.Column('first_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integral', tollway.kernel.db.DecimalText(length=64).with_variant(sa.Numeric(), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('product_id', 'customer_id', 'metric_code', 'hour', 'group_key', name=op.f('pk_usage_rollups'))
    )


def downgrade() -> None:
    op.drop_table('usage_rollups')
    op.drop_table('usage_rollup_distinct')
    with op.batch_alter_table('usage_rejections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_rejections_product_id_id'))

    op.drop_table('usage_rejections')
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_events_product_id_customer_id_metric_code_timestamp'))

    op.drop_table('usage_events')
    op.drop_table('usage_event_keys')
