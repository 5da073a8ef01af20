"""payment attempts keep the provider references they charge

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payment_attempts') as batch:
        batch.add_column(sa.Column('customer_ref', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('payment_method_ref', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payment_attempts') as batch:
        batch.drop_column('payment_method_ref')
        batch.drop_column('customer_ref')
