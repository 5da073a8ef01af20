"""What the catalog's use cases share: the product currency and metric references."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.catalog.charges import ChargeSpec
from tollway.catalog.repository import MetricRepository
from tollway.catalog.schemas import QuotaSpec
from tollway.kernel.access import require_full_access
from tollway.kernel.context import Context
from tollway.kernel.errors import FieldError


def require_catalog_write(ctx: Context) -> None:
    """Catalog writes need full access; customer-scoped keys get 403."""
    require_full_access(ctx, "change the catalog")


def metric_errors(
    ctx: Context,
    *,
    quotas: Sequence[QuotaSpec] = (),
    charges: Sequence[ChargeSpec] = (),
    prefix: str = "",
) -> list[FieldError]:
    """One error per quota or charge whose metric is not a billable metric of the product,
    and per ``percentage`` charge on a metric that does not aggregate with ``sum``:
    the model prices each event's value of the metric's field, which only a ``sum``
    metric adds up (a count has no value, a max or latest keeps one event's)."""
    refs = [(f"{prefix}quotas[{i}].metric", q.metric) for i, q in enumerate(quotas)]
    refs += [(f"{prefix}charges[{i}].metric", c.metric) for i, c in enumerate(charges)]
    known = MetricRepository(ctx).by_codes(code for _, code in refs)
    errors = [
        FieldError(path, f"unknown metric {code!r}; create it first (POST /v1/metrics)")
        for path, code in refs
        if code not in known
    ]
    for index, charge in enumerate(charges):
        metric = known.get(charge.metric)
        if charge.model == "percentage" and metric is not None and metric.aggregation != "sum":
            errors.append(
                FieldError(
                    f"{prefix}charges[{index}].model",
                    f"percentage prices each event's value, so it needs a sum metric; "
                    f"{charge.metric!r} aggregates with {metric.aggregation}",
                )
            )
    return errors
