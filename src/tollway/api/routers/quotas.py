"""``/v1/customers/{external_id}/quotas``: quota status, check, consume, overrides,
grace period and reinstatement."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Response

from tollway import quotas
from tollway.api.deps import Ctx
from tollway.api.routing import resource_router

router = resource_router("quotas")
ExternalIdPath = Annotated[str, Path(max_length=255)]
MetricPath = Annotated[str, Path(max_length=100)]

_REFUSED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Refused: quota exceeded (problem+json with used, limit, resets_at; "
        "Retry-After for rate_limit quotas)"
    }
}


def _check_out(decision: quotas.Decision) -> quotas.CheckOut:
    return quotas.CheckOut(
        allowed=decision.allowed,
        used=decision.used,
        limit=decision.limit,
        remaining=decision.remaining,
        enforcement=decision.enforcement,
        resets_at=decision.resets_at,
        duplicate=decision.duplicate,
    )


@router.get("/customers/{external_id}/quotas")
def get_quotas(ctx: Ctx, external_id: ExternalIdPath) -> quotas.QuotasOut:
    """Every quota of the customer with its usage in the current period."""
    found = quotas.customer_quotas(ctx, external_id)
    return quotas.QuotasOut(
        customer_id=found.customer.external_id,
        plan_id=found.plan_code,
        suspended=found.suspended,
        quotas={
            metric: quotas.QuotaStatusOut(
                used=s.evaluation.used,
                limit=s.evaluation.quota.limit,
                percent=s.percent,
                resets_at=s.evaluation.end,
                enforcement=s.evaluation.enforcement,
                period=s.evaluation.quota.period,
                period_start=s.evaluation.start,
                source=s.evaluation.quota.source,
            )
            for metric, s in found.quotas.items()
        },
    )


@router.post("/customers/{external_id}/quotas/{metric}/check")
def check_quota(
    ctx: Ctx, external_id: ExternalIdPath, metric: MetricPath, body: quotas.QuotaCheckIn
) -> quotas.CheckOut:
    """Whether consuming ``quantity`` would be allowed now. Writes nothing."""
    return _check_out(quotas.check(ctx, external_id, metric, quantity=body.quantity))


@router.post("/customers/{external_id}/quotas/{metric}/consume", responses=_REFUSED)
def consume_quota(
    ctx: Ctx, external_id: ExternalIdPath, metric: MetricPath, body: quotas.QuotaConsumeIn
) -> quotas.CheckOut:
    """Record ``quantity`` as usage and count it, atomically, if the quota allows (else 429)."""
    decision = quotas.consume(
        ctx, external_id, metric, quantity=body.quantity, event_id=body.event_id
    )
    return _check_out(decision)


@router.put("/customers/{external_id}/quotas/{metric}")
def put_override(
    ctx: Ctx, external_id: ExternalIdPath, metric: MetricPath, body: quotas.QuotaOverrideIn
) -> quotas.OverrideOut:
    """Set the customer's own quota on ``metric`` (replaces the plan's). Secret keys only."""
    row = quotas.set_override(ctx, external_id, metric, body)
    return quotas.OverrideOut(
        customer_id=external_id,
        metric=row.metric_code,
        limit=row.limit,
        period=row.period,
        enforcement=row.enforcement,
        thresholds=list(row.thresholds),
    )


@router.delete("/customers/{external_id}/quotas/{metric}", status_code=204)
def delete_override(ctx: Ctx, external_id: ExternalIdPath, metric: MetricPath) -> Response:
    """Remove the customer's override: the plan's quota applies again. Secret keys only."""
    quotas.remove_override(ctx, external_id, metric)
    return Response(status_code=204)


@router.get("/customers/{external_id}/grace-period")
def get_grace_period(ctx: Ctx, external_id: ExternalIdPath) -> quotas.GracePeriodOut:
    """The customer's exceeded soft quotas and their grace period."""
    grace = quotas.grace_period(ctx, external_id)
    return quotas.GracePeriodOut(
        in_grace_period=grace.in_grace_period,
        exceeded_quotas=grace.exceeded_quotas,
        grace_started=grace.grace_started,
        grace_ends=grace.grace_ends,
        overage_percent=grace.overage_percent,
        recommended_action=grace.recommended_action,
        suspended=grace.suspended,
    )


@router.post("/customers/{external_id}/reinstate")
def reinstate(ctx: Ctx, external_id: ExternalIdPath, body: quotas.ReinstateIn) -> dict[str, bool]:
    """Lift an auto-suspension (body ``{}`` or ``{"reason": ...}``): the customer's
    consumes are judged by quotas again."""
    return {
        "reinstated": quotas.reinstate(ctx, external_id, reason=body.reason),
        "suspended": False,
    }
