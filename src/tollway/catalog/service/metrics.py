"""Billable metric use cases: create, read, list.

Metrics are not edited or deleted here: usage already aggregated under a
definition must keep meaning the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable

from tollway.catalog import events
from tollway.catalog.models import BillableMetric
from tollway.catalog.repository import MetricRepository
from tollway.catalog.schemas import MetricCreate, MetricOut, snapshot
from tollway.catalog.service.common import require_catalog_write
from tollway.kernel.context import Context
from tollway.kernel.errors import AlreadyExists, NotFound
from tollway.kernel.ids import new_id
from tollway.kernel.outbox import record_event
from tollway.kernel.pagination import Page, PageRequest


def create_metric(ctx: Context, data: MetricCreate) -> BillableMetric:
    """Create a billable metric; its ``code`` must be new in the product."""
    require_catalog_write(ctx)
    repo = MetricRepository(ctx)
    if repo.by_code(data.code) is not None:
        raise AlreadyExists(f"metric {data.code!r} already exists", param="code")
    now = ctx.now()
    metric = BillableMetric(
        id=new_id("bm"),
        product_id=ctx.product_id,
        code=data.code,
        name=data.name,
        aggregation=data.aggregation,
        field=data.field,
        unit=data.unit,
        filters={key: list(values) for key, values in data.filters.items()},
        group_by=list(data.group_by),
        created_at=now,
        updated_at=now,
    )
    repo.add(metric)
    record_event(ctx, events.METRIC_CREATED, snapshot(MetricOut.of(metric)))
    return metric


def get_metric(ctx: Context, code: str) -> BillableMetric:
    """The billable metric with ``code``; 404 when absent."""
    metric = MetricRepository(ctx).by_code(code)
    if metric is None:
        raise NotFound(f"metric {code!r} not found", param="code")
    return metric


def find_metrics(ctx: Context, codes: Iterable[str]) -> dict[str, BillableMetric]:
    """The billable metrics among ``codes`` that exist, by code."""
    return MetricRepository(ctx).by_codes(codes)


def list_metrics(ctx: Context, page: PageRequest) -> Page[BillableMetric]:
    """Billable metrics of the product, newest first."""
    return MetricRepository(ctx).list(page)
