"""plan minimum commitment

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing plans have no minimum: the server default fills them, then goes.
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minimum_commitment', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default=sa.text("'[]'")))

    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.alter_column('minimum_commitment', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('minimum_commitment')
