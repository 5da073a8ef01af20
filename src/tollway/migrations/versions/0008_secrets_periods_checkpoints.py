"""rotated secrets, notification periods, relay checkpoints

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import tollway.kernel.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period_key', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_notifications_product_id_customer_id_type_subject_period_key'), ['product_id', 'customer_id', 'type', 'subject', 'period_key'])

    with op.batch_alter_table('relay_cursors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkpoint_xid', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('checkpoint_bound', sa.String(length=40), nullable=True))

    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('older_secrets', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_column('older_secrets')

    with op.batch_alter_table('relay_cursors', schema=None) as batch_op:
        batch_op.drop_column('checkpoint_bound')
        batch_op.drop_column('checkpoint_xid')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_notifications_product_id_customer_id_type_subject_period_key'), type_='unique')
        batch_op.drop_column('period_key')

