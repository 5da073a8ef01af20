"""invoicing

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tollway.kernel.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invoice_billed_periods',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('subscription_id', sa.String(length=40), nullable=False),
    sa.Column('period_start', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_end', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_invoice_billed_periods_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_billed_periods')),
    sa.UniqueConstraint('subscription_id', 'period_start', 'kind', name=op.f('uq_invoice_billed_periods_subscription_id_period_start_kind'))
    )
    op.create_table('invoice_sequences',
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_invoice_sequences_product_id_products')),
    sa.PrimaryKeyConstraint('product_id', 'year', name=op.f('pk_invoice_sequences'))
    )
    op.create_table('invoices',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('customer_external_id', sa.String(length=255), nullable=False),
    sa.Column('subscription_id', sa.String(length=40), nullable=True),
    sa.Column('test_clock_id', sa.String(length=40), nullable=True),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('billing_reason', sa.String(length=30), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period_start', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('period_end', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('issued_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_date', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voided_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('subtotal', sa.BigInteger(), nullable=False),
    sa.Column('discount', sa.BigInteger(), nullable=False),
    sa.Column('tax', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('credits_applied', sa.BigInteger(), nullable=False),
    sa.Column('amount_paid', sa.BigInteger(), nullable=False),
    sa.Column('amount_due', sa.BigInteger(), nullable=False),
    sa.Column('amount_credited', sa.BigInteger(), nullable=False),
    sa.Column('tax_label', sa.String(length=100), nullable=True),
    sa.Column('tax_rate', tollway.kernel.db.DecimalText(length=64), nullable=True),
    sa.Column('tax_inclusive', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_invoices_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_invoices_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('product_id', 'number', name=op.f('uq_invoices_product_id_number'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_product_id_customer_id_id'), ['product_id', 'customer_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_product_id_status_due_date'), ['product_id', 'status', 'due_date'], unique=False)

    op.create_table('credit_notes',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=50), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('due_reduction', sa.BigInteger(), nullable=False),
    sa.Column('returned', sa.BigInteger(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('grant_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_credit_notes_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_credit_notes_invoice_id_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_credit_notes_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_notes'))
    )
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_notes_invoice_id_id'), ['invoice_id', 'id'], unique=False)

    op.create_table('invoice_line_items',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('quantity', tollway.kernel.db.DecimalText(length=64), nullable=False),
    sa.Column('unit_amount', tollway.kernel.db.DecimalText(length=64), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('discount', sa.BigInteger(), nullable=False),
    sa.Column('period_start', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('period_end', tollway.kernel.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('charge_id', sa.String(length=40), nullable=True),
    sa.Column('metric', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_line_items_invoice_id_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_invoice_line_items_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line_items'))
    )
    with op.batch_alter_table('invoice_line_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_items_invoice_id_position'), ['invoice_id', 'position'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('invoice_line_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_items_invoice_id_position'))

    op.drop_table('invoice_line_items')
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_notes_invoice_id_id'))

    op.drop_table('credit_notes')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_product_id_status_due_date'))
        batch_op.drop_index(batch_op.f('ix_invoices_product_id_customer_id_id'))

    op.drop_table('invoices')
    op.drop_table('invoice_sequences')
    op.drop_table('invoice_billed_periods')
