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


def unknown_metric_errors(
    ctx: Context,
    *,
    quotas: Sequence[QuotaSpec] = (),
    charges: Sequence[ChargeSpec] = (),
    prefix: str = "",
) -> list[FieldError]:
    """One error per quota or charge whose metric is not a billable metric of the product."""
    refs = [(f"{prefix}quotas[{i}].metric", q.metric) for i, q in enumerate(quotas)]
    refs += [(f"{prefix}charges[{i}].metric", c.metric) for i, c in enumerate(charges)]
    known = MetricRepository(ctx).by_codes(code for _, code in refs)
    return [
        FieldError(path, f"unknown metric {code!r}; create it first (POST /v1/metrics)")
        for path, code in refs
        if code not in known
    ]
