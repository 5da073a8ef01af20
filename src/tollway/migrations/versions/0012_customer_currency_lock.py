"""customer currency lock

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The server default fills existing rows, then goes.
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('currency_locked', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.alter_column('currency_locked', server_default=None)

    # Customers with money already recorded (a subscription, a credit grant) are locked.
    op.execute(
        sa.text(
            "UPDATE customers SET currency_locked = true WHERE id IN "
            "(SELECT customer_id FROM subscriptions UNION SELECT customer_id FROM credit_grants)"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('currency_locked')
