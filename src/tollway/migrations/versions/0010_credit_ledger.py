"""credit ledger: grants, entries, low-balance alert state

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tollway.kernel.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('credit_alerts',
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('low', sa.Boolean(), nullable=False),
    sa.Column('changed_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_credit_alerts_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_credit_alerts_product_id_products')),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_credit_alerts'))
    )
    op.create_table('credit_grants',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('expires_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('subscription_id', sa.String(length=40), nullable=True),
    sa.Column('plan_code', sa.String(length=100), nullable=True),
    sa.Column('period_start', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('period_end', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('granted_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_credit_grants_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_credit_grants_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_grants')),
    sa.UniqueConstraint('product_id', 'key', name=op.f('uq_credit_grants_product_id_key'))
    )
    with op.batch_alter_table('credit_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_grants_product_id_customer_id_currency'), ['product_id', 'customer_id', 'currency'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_grants_product_id_subscription_id_period_start'), ['product_id', 'subscription_id', 'period_start'], unique=False)

    op.create_table('credit_entries',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('grant_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=True),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_credit_entries_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grant_id'], ['credit_grants.id'], name=op.f('fk_credit_entries_grant_id_credit_grants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_credit_entries_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_entries')),
    sa.UniqueConstraint('product_id', 'key', name=op.f('uq_credit_entries_product_id_key'))
    )
    with op.batch_alter_table('credit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_entries_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_entries_product_id_customer_id_id'), ['product_id', 'customer_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_entries_product_id_invoice_id'), ['product_id', 'invoice_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('credit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_entries_product_id_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_credit_entries_product_id_customer_id_id'))
        batch_op.drop_index(batch_op.f('ix_credit_entries_grant_id'))

    op.drop_table('credit_entries')
    with op.batch_alter_table('credit_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_grants_product_id_subscription_id_period_start'))
        batch_op.drop_index(batch_op.f('ix_credit_grants_product_id_customer_id_currency'))

    op.drop_table('credit_grants')
    op.drop_table('credit_alerts')
