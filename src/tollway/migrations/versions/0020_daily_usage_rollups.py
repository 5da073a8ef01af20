"""daily usage rollups: each UTC day's count, sum and max per customer, metric and group

A period's totals of additive metrics read its whole days here and only its
leftover hours from the hourly rollups: a month is about 31 rows per customer and
metric instead of up to 744. Filled from the hourly rollups already stored;
ingestion keeps both in the same transaction from now on.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Context, Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

import tollway.kernel.db

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

EXACT = tollway.kernel.db.DecimalText(length=64).with_variant(sa.Numeric(), 'postgresql')
KEY = ['product_id', 'customer_id', 'metric_code', 'day', 'group_key']
COLUMNS = 'product_id, customer_id, metric_code, day, group_key, event_count, value_sum, value_max'


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    op.create_table(
        'usage_rollups_daily',
        sa.Column('product_id', sa.String(length=40), nullable=False),
        sa.Column('customer_id', sa.String(length=40), nullable=False),
        sa.Column('metric_code', sa.String(length=100), nullable=False),
        sa.Column('day', tollway.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('group_key', sa.String(length=1000), nullable=False),
        sa.Column('event_count', sa.BigInteger(), nullable=False),
        sa.Column('value_sum', EXACT, nullable=False),
        sa.Column('value_max', EXACT, nullable=False),
        sa.PrimaryKeyConstraint(*KEY, name=op.f('pk_usage_rollups_daily')),
    )
    if postgres:
        op.drop_constraint('pk_usage_rollups_daily', 'usage_rollups_daily', type_='primary')
        op.execute(
            'ALTER TABLE usage_rollups_daily ADD CONSTRAINT pk_usage_rollups_daily PRIMARY KEY '
            f'({", ".join(KEY)}) INCLUDE (event_count, value_sum, value_max)'
        )
        op.execute(
            f'INSERT INTO usage_rollups_daily ({COLUMNS}) '  # noqa: S608
            "SELECT product_id, customer_id, metric_code, date_trunc('day', hour, 'UTC'), "
            'group_key, sum(event_count), sum(value_sum), max(value_max) FROM usage_rollups '
            "GROUP BY product_id, customer_id, metric_code, date_trunc('day', hour, 'UTC'), "
            'group_key'
        )
        return
    _fill_sqlite()


def _fill_sqlite() -> None:
    """SQLite keeps decimals as text, which its SUM would add as floats: the days are
    added here, exactly, from the hours read in key order."""
    bind = op.get_bind()
    rows = bind.exec_driver_sql(
        'SELECT product_id, customer_id, metric_code, substr(hour, 1, 10), group_key, '
        'event_count, value_sum, value_max FROM usage_rollups '
        'ORDER BY product_id, customer_id, metric_code, hour, group_key'
    )
    days: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        key = tuple(row[:5])
        day = days.get(key)
        if day is None:
            days[key] = [row[5], Decimal(row[6]), Decimal(row[7])]
        else:
            day[0] += row[5]
            day[1] = _EXACT.add(day[1], Decimal(row[6]))
            day[2] = max(day[2], Decimal(row[7]))
    if days:
        bind.exec_driver_sql(
            f'INSERT INTO usage_rollups_daily ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',  # noqa: S608
            list(_rows(days)),
        )


_EXACT = Context(prec=80)  # tollway.metering.aggregation.PRECISION


def _rows(days: dict[tuple[Any, ...], list[Any]]) -> Iterator[tuple[Any, ...]]:
    for (product, customer, metric, day, group), (count, total, peak) in days.items():
        midnight = f'{day} 00:00:00.000000'  # as SQLAlchemy stores an instant on SQLite
        yield product, customer, metric, midnight, group, count, str(total), str(peak)


def downgrade() -> None:
    op.drop_table('usage_rollups_daily')
