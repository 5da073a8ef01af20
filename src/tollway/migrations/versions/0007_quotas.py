"""quotas

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import tollway.kernel.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quota_alerts',
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('metric_code', sa.String(length=100), nullable=False),
    sa.Column('period_start', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('fired_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_quota_alerts_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_quota_alerts_product_id_products')),
    sa.PrimaryKeyConstraint('customer_id', 'metric_code', 'period_start', 'threshold', name=op.f('pk_quota_alerts'))
    )
    op.create_table('quota_overrides',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('metric_code', sa.String(length=100), nullable=False),
    sa.Column('limit', sa.BigInteger(), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('enforcement', sa.String(length=20), nullable=False),
    sa.Column('thresholds', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_quota_overrides_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_quota_overrides_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_overrides')),
    sa.UniqueConstraint('customer_id', 'metric_code', name=op.f('uq_quota_overrides_customer_id_metric_code'))
    )
    op.create_table('quota_states',
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('metric_code', sa.String(length=100), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('period_key', sa.String(length=80), nullable=True),
    sa.Column('used', tollway.kernel.db.DecimalText(length=64), nullable=True),
    sa.Column('stale', sa.Boolean(), nullable=False),
    sa.Column('grace_period_start', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('grace_plan', sa.String(length=100), nullable=True),
    sa.Column('grace_started_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('grace_ends_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_quota_states_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_quota_states_product_id_products')),
    sa.PrimaryKeyConstraint('customer_id', 'metric_code', name=op.f('pk_quota_states'))
    )
    op.create_table('quota_suspensions',
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('suspended_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_quota_suspensions_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_quota_suspensions_product_id_products')),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_quota_suspensions'))
    )


def downgrade() -> None:
    op.drop_table('quota_suspensions')
    op.drop_table('quota_states')
    op.drop_table('quota_overrides')
    op.drop_table('quota_alerts')
