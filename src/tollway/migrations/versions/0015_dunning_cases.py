"""dunning cases

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tollway.kernel.db

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dunning_cases',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('customer_external_id', sa.String(length=255), nullable=False),
    sa.Column('test_clock_id', sa.String(length=40), nullable=True),
    sa.Column('subscription_id', sa.String(length=40), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=False),
    sa.Column('invoice_number', sa.String(length=40), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_failed_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_failure_code', sa.String(length=100), nullable=True),
    sa.Column('last_failure_message', sa.Text(), nullable=True),
    sa.Column('next_retry_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('grace_ends', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('steps', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('next_step', sa.Integer(), nullable=False),
    sa.Column('next_action_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_dunning_cases_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_dunning_cases_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_cases')),
    sa.UniqueConstraint('product_id', 'invoice_id', name=op.f('uq_dunning_cases_product_id_invoice_id'))
    )
    with op.batch_alter_table('dunning_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dunning_cases_product_id_customer_id_id'), ['product_id', 'customer_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dunning_cases_product_id_subscription_id'), ['product_id', 'subscription_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dunning_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dunning_cases_product_id_subscription_id'))
        batch_op.drop_index(batch_op.f('ix_dunning_cases_product_id_customer_id_id'))

    op.drop_table('dunning_cases')
