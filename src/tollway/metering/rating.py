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
from tollway.metering.service.query import usage_totals

_METRICS = "tollway.metering.rating.metrics"


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

    Each metric is read once, however many charges price it, and the whole hours of
    every ``count``, ``sum`` and ``max`` metric in a single query. An empty period has
    no usage. 404 when a charge names a metric that does not exist.
    """
    return rate_usages(ctx, [customer], charges, start, end)[customer.id]


def rate_usages(
    ctx: Context,
    customers: Sequence[Customer],
    charges: Sequence[ChargeSpec],
    start: datetime,
    end: datetime,
) -> dict[str, list[RatedCharge]]:
    """:func:`rate_usage` for many customers on the same charges and period, by
    customer id: the whole hours of all of them are read in a single query."""
    metrics = _metric_defs(ctx, {charge.metric for charge in charges})
    totals = usage_totals(ctx, customers, list(metrics.values()), start, end)
    rated: dict[str, list[RatedCharge]] = {}
    for customer in customers:
        values: dict[str, list[Decimal]] = {}
        rated[customer.id] = []
        for charge in charges:
            amounts: list[Decimal] = []
            if charge.model == "percentage":
                if charge.metric not in values:
                    values[charge.metric] = _event_values(
                        ctx, customer, metrics[charge.metric], start, end
                    )
                amounts = values[charge.metric]
            priced = price(charge, totals[customer.id][charge.metric], amounts)
            rated[customer.id].append(RatedCharge(charge, priced))
    return rated


def _metric_defs(ctx: Context, codes: set[str]) -> dict[str, MetricDef]:
    """The metrics ``codes``, resolved once per session: a billable metric never changes
    once created, so an invoice run over many customers looks each up once."""
    cache: dict[tuple[str, str], MetricDef] = ctx.session.info.setdefault(_METRICS, {})
    wanted = {code for code in codes if (ctx.product_id, code) not in cache}
    if wanted:
        found = find_metrics(ctx, wanted)
        missing = sorted(wanted - set(found))
        if missing:
            raise NotFound(f"metric {missing[0]!r} not found", param="metric")
        cache.update({(ctx.product_id, code): metric_def(m) for code, m in found.items()})
    return {code: cache[(ctx.product_id, code)] for code in codes}


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
