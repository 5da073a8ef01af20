"""Rating: a customer's usage over a period, priced by a plan's charges.

Each charge's metric is totalled from the hourly rollups (exact at the period's
edges, like :func:`~tollway.metering.service.query.usage`) and priced with
:func:`tollway.catalog.price`. Raw events are read only for ``percentage``
charges, which price every event's value (the metric's ``field``) on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tollway.catalog import ChargeSpec, Priced, find_metrics, price
from tollway.customers import Customer
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound
from tollway.metering.aggregation import MetricDef, event_value, matches
from tollway.metering.repository import UsageRepository
from tollway.metering.service.ingest import metric_def
from tollway.metering.service.query import usage_total


@dataclass(frozen=True)
class RatedCharge:
    """One charge and its price on the period's usage."""

    charge: ChargeSpec
    priced: Priced


def rate_usage(
    ctx: Context,
    customer: Customer,
    charges: Sequence[ChargeSpec],
    start: datetime,
    end: datetime,
) -> list[RatedCharge]:
    """Price ``customer``'s usage over ``[start, end)`` with each of ``charges``, in order.

    The metrics are resolved once for all charges and each metric is read once,
    however many charges price it. An empty period has no usage. 404 when a
    charge names a metric that does not exist.
    """
    codes = {charge.metric for charge in charges}
    found = find_metrics(ctx, codes)
    missing = sorted(codes - set(found))
    if missing:
        raise NotFound(f"metric {missing[0]!r} not found", param="metric")
    metrics = {code: metric_def(metric) for code, metric in found.items()}
    totals: dict[str, Decimal] = {}
    values: dict[str, list[Decimal]] = {}
    rated = []
    for charge in charges:
        metric = metrics[charge.metric]
        if metric.code not in totals:
            totals[metric.code] = usage_total(ctx, customer, metric, start, end)
        amounts: list[Decimal] = []
        if charge.model == "percentage":
            if metric.code not in values:
                values[metric.code] = _event_values(ctx, customer, metric, start, end)
            amounts = values[metric.code]
        rated.append(RatedCharge(charge, price(charge, totals[metric.code], amounts)))
    return rated


def _event_values(
    ctx: Context, customer: Customer, metric: MetricDef, start: datetime, end: datetime
) -> list[Decimal]:
    """The value of each of the customer's events of ``metric`` that passes its filters."""
    values = []
    for quantity, properties in UsageRepository(ctx).event_values(
        customer.id, metric.code, start, end
    ):
        value = event_value(metric, quantity, properties)
        # Ingestion refuses events without a valid value, so ``value`` is a Decimal.
        if isinstance(value, Decimal) and matches(properties, metric.filters):
            values.append(value)
    return values
