"""customer default payment method

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('default_payment_method_id', sa.String(length=40), nullable=True)
        )
    op.execute(
        "UPDATE customers SET default_payment_method_id = ("
        "SELECT payment_methods.id FROM payment_methods "
        "WHERE payment_methods.customer_id = customers.id AND payment_methods.is_default)"
    )


def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('default_payment_method_id')
