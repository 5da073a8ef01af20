"""subscriptions

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import tollway.kernel.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('subscriptions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('customer_external_id', sa.String(length=255), nullable=False),
    sa.Column('test_clock_id', sa.String(length=40), nullable=True),
    sa.Column('plan_id', sa.String(length=40), nullable=False),
    sa.Column('plan_code', sa.String(length=100), nullable=False),
    sa.Column('billing_cycle', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('price_override', sa.BigInteger(), nullable=True),
    sa.Column('billing_mode', sa.String(length=20), nullable=False),
    sa.Column('billing_anchor', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('start_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('trial_start', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('trial_end', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('current_period_start', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('current_period_end', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_at_period_end', sa.Boolean(), nullable=False),
    sa.Column('canceled_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('cancel_feedback', sa.Text(), nullable=True),
    sa.Column('paused_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resumes_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('payment_method_id', sa.String(length=255), nullable=True),
    sa.Column('coupon_code', sa.String(length=100), nullable=True),
    sa.Column('discount', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('pending_change', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('fallback_of', sa.String(length=40), nullable=True),
    sa.Column('created_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_subscriptions_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_subscriptions_plan_id_plans')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_subscriptions_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_product_id_customer_id_status'), ['product_id', 'customer_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_product_id_status'), ['product_id', 'status'], unique=False)

    op.create_table('retention_offers',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('subscription_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('discount_percent', tollway.kernel.db.DecimalText(length=64), nullable=True),
    sa.Column('duration_months', sa.Integer(), nullable=True),
    sa.Column('pause_months', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('feedback', sa.Text(), nullable=True),
    sa.Column('expires_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_retention_offers_product_id_products')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_retention_offers_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_offers'))
    )
    with op.batch_alter_table('retention_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_offers_subscription_id_id'), ['subscription_id', 'id'], unique=False)

    op.create_table('subscription_addons',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('subscription_id', sa.String(length=40), nullable=False),
    sa.Column('addon_id', sa.String(length=40), nullable=False),
    sa.Column('addon_code', sa.String(length=100), nullable=False),
    sa.Column('interval', sa.String(length=20), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['addon_id'], ['addons.id'], name=op.f('fk_subscription_addons_addon_id_addons')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_subscription_addons_product_id_products')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_subscription_addons_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_addons'))
    )
    with op.batch_alter_table('subscription_addons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_addons_subscription_id_addon_code'), ['subscription_id', 'addon_code'], unique=False)

    op.create_table('subscription_charges',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('subscription_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('plan_code', sa.String(length=100), nullable=True),
    sa.Column('addon_code', sa.String(length=100), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period_start', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_end', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('discount', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('invoice_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_subscription_charges_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_subscription_charges_product_id_products')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_subscription_charges_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_charges'))
    )
    with op.batch_alter_table('subscription_charges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_charges_product_id_customer_id_invoice_id'), ['product_id', 'customer_id', 'invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_charges_subscription_id_id'), ['subscription_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('subscription_charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_charges_subscription_id_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_charges_product_id_customer_id_invoice_id'))

    op.drop_table('subscription_charges')
    with op.batch_alter_table('subscription_addons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_addons_subscription_id_addon_code'))

    op.drop_table('subscription_addons')
    with op.batch_alter_table('retention_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_offers_subscription_id_id'))

    op.drop_table('retention_offers')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_product_id_status'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_product_id_customer_id_status'))

    op.drop_table('subscriptions')
