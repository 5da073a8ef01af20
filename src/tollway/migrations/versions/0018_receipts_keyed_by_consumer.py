"""event receipts are unique on (consumer, event_id): the consumer leads

Every query on receipts names the consumer and one or more events. Keyed
(event_id, consumer), a lookup of a relay pass's events could be planned as a scan
of all the consumer's receipts (its status index) while the table's statistics
still said it held few; keyed (consumer, event_id), one index answers both
conditions whatever the statistics say.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('event_receipts') as batch:
        batch.drop_constraint('uq_event_receipts_event_id_consumer', type_='unique')
        batch.create_unique_constraint(
            'uq_event_receipts_consumer_event_id', ['consumer', 'event_id']
        )


def downgrade() -> None:
    with op.batch_alter_table('event_receipts') as batch:
        batch.drop_constraint('uq_event_receipts_consumer_event_id', type_='unique')
        batch.create_unique_constraint(
            'uq_event_receipts_event_id_consumer', ['event_id', 'consumer']
        )
