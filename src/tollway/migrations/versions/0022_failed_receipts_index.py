"""receipts due for a retry have a partial index of their own

The index on (consumer, status, next_attempt_at) held every receipt, most of them
done, and gave the planner a second index led by the consumer: with statistics
from before a burst, the relay's probe for an event's receipt scanned all of a
consumer's receipts through it instead of using the unique (consumer, event_id)
(docs/decisions.md). The new index holds the failed receipts alone.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

FAILED_WHERE = sa.text("status = 'failed'")


def upgrade() -> None:
    op.drop_index('ix_event_receipts_consumer_status_next_attempt_at', table_name='event_receipts')
    op.create_index(
        'ix_event_receipts_failed_due',
        'event_receipts',
        ['consumer', 'next_attempt_at'],
        postgresql_where=FAILED_WHERE,
        sqlite_where=FAILED_WHERE,
    )


def downgrade() -> None:
    op.drop_index('ix_event_receipts_failed_due', table_name='event_receipts')
    op.create_index(
        'ix_event_receipts_consumer_status_next_attempt_at',
        'event_receipts',
        ['consumer', 'status', 'next_attempt_at'],
    )
