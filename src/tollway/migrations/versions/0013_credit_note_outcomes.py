"""credit note outcomes: refunded and credited amounts

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The server defaults fill existing rows, then go.
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refunded', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('credited', sa.BigInteger(), nullable=False, server_default='0'))

    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.alter_column('refunded', server_default=None)
        batch_op.alter_column('credited', server_default=None)

    op.execute(sa.text("UPDATE credit_notes SET refunded = returned WHERE outcome = 'refunded'"))
    op.execute(sa.text("UPDATE credit_notes SET credited = returned WHERE outcome = 'credited'"))


def downgrade() -> None:
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.drop_column('credited')
        batch_op.drop_column('refunded')
