"""Check and consume: the hot path. A consume locks the (customer, metric) state row,
reads usage from metering's rollups, records the event through metering and is
refused (nothing written) when the quota does not allow it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tollway import ledger, metering
from tollway.catalog import get_metric
from tollway.customers import Customer, get_customer
from tollway.kernel.context import Context
from tollway.kernel.errors import FieldError, ValidationFailed
from tollway.quotas.errors import CustomerSuspended, QuotaExceeded
from tollway.quotas.periods import retry_after
from tollway.quotas.repository import QuotaRepository
from tollway.quotas.service.core import (
    Evaluation,
    evaluate,
    fire_thresholds,
    start_grace_if_due,
)
from tollway.quotas.service.sources import Quota, sources


@dataclass(frozen=True)
class Decision:
    """The answer of a check or consume."""

    allowed: bool
    used: Decimal
    limit: int
    remaining: Decimal | None
    enforcement: str | None
    resets_at: datetime | None
    duplicate: bool = False


def _increment(ctx: Context, metric: str, quantity: Decimal, *, consuming: bool) -> Decimal:
    """What one consume of ``quantity`` adds to the metric's value."""
    definition = get_metric(ctx, metric)
    if definition.aggregation == "count":
        if consuming and quantity != 1:
            raise ValidationFailed.field(
                "quantity", f"metric {metric!r} counts events: consume 1 at a time"
            )
        return Decimal(1) if consuming else quantity
    if consuming and (
        definition.aggregation != "sum" or definition.field not in (None, "quantity")
    ):
        raise ValidationFailed.field(
            "metric",
            f"metric {metric!r} ({definition.aggregation} of {definition.field or 'quantity'}) "
            "cannot be consumed; only count and sum-of-quantity metrics can",
        )
    if consuming and definition.filters:
        raise ValidationFailed.field(
            "metric", f"metric {metric!r} has property filters; a consume carries no properties"
        )
    return quantity


def _none(metric: str) -> Quota:
    """No quota on the metric: unlimited, ``used`` counted per calendar month."""
    return Quota(metric, -1, "monthly", "hard", (), "none")


def _decision(ev: Evaluation, allowed: bool, duplicate: bool = False) -> Decision:
    if ev.quota.source == "none":
        return Decision(allowed, ev.used, -1, None, None, None, duplicate)
    return Decision(
        allowed, ev.used, ev.quota.limit, ev.remaining(), ev.enforcement, ev.end, duplicate
    )


def check(ctx: Context, external_id: str, metric: str, *, quantity: Decimal) -> Decision:
    """Whether consuming ``quantity`` of ``metric`` would be allowed now; writes nothing."""
    customer = get_customer(ctx, external_id)
    now = ctx.now(customer.test_clock_id)
    increment = _increment(ctx, metric, quantity, consuming=False)
    suspended = QuotaRepository(ctx).suspension(customer.id) is not None
    src = sources(ctx, customer, metric)
    quota = src.quota(metric) or _none(metric)
    state = QuotaRepository(ctx).state(customer.id, metric)
    ev = evaluate(ctx, customer, src, quota, state=state, now=now)
    return _decision(ev, ev.allows(increment) and not suspended)


def _refuse(ev: Evaluation, customer: Customer, now: datetime) -> QuotaExceeded:
    quota = ev.quota
    extra: dict[str, object] = {
        "metric": quota.metric,
        "used": str(ev.used),
        "limit": quota.limit,
        "resets_at": ev.end.isoformat().replace("+00:00", "Z") if ev.end else None,
        "enforcement": ev.enforcement,
    }
    if quota.enforcement == "rate_limit":
        extra["retry_after"] = retry_after(ev.end, now)
    reason = "paused subscription" if quota.source == "paused" else f"{quota.period} quota"
    return QuotaExceeded(
        f"customer {customer.external_id!r} reached its {reason} of {quota.limit} "
        f"on {quota.metric!r} (used {ev.used})",
        **extra,
    )


def consume(
    ctx: Context,
    external_id: str,
    metric: str,
    *,
    quantity: Decimal,
    event_id: str | None = None,
) -> Decision:
    """Record ``quantity`` of ``metric`` as a usage event and count it, if the quota allows.

    Serialized per (customer, metric) by a row lock; a refusal raises
    :class:`QuotaExceeded` or :class:`~tollway.ledger.CreditsExhausted` (429) and the
    caller's transaction must roll back. The same ``event_id`` is recorded once: a
    repeat answers ``duplicate`` without counting, and is never refused.
    """
    customer = get_customer(ctx, external_id)
    now = ctx.now(customer.test_clock_id)
    increment = _increment(ctx, metric, quantity, consuming=True)
    repo = QuotaRepository(ctx)
    if repo.suspension(customer.id) is not None:
        raise CustomerSuspended(
            f"customer {external_id!r} is suspended; every consume is refused until "
            "POST /v1/customers/{external_id}/reinstate"
        )
    src = sources(ctx, customer, metric)
    quota = src.quota(metric) or _none(metric)
    state = repo.lock_state(customer.id, metric)
    before = evaluate(ctx, customer, src, quota, state=state, now=now, store=True)
    if not _record(ctx, customer, metric, quantity, event_id):
        return _decision(before, True, duplicate=True)
    # a refusal raises: the caller rolls the recorded event back
    ledger.ensure_usage_allowed(ctx, customer.id, metric)  # blocked credit overage
    if not before.allows(increment):
        raise _refuse(before, customer, now)
    after = dataclasses.replace(before, used=before.used + increment)
    state.used = after.used
    fire_thresholds(ctx, customer, after, now)
    start_grace_if_due(ctx, customer, src, after, state=state, now=now)
    return _decision(after, True)


def _record(
    ctx: Context, customer: Customer, metric: str, quantity: Decimal, event_id: str | None
) -> bool:
    """Store the usage event through metering; ``False`` when ``event_id`` was known."""
    event: dict[str, object] = {
        "customer_id": customer.external_id,
        "metric": metric,
        "quantity": quantity,
    }
    if event_id is not None:
        event["event_id"] = event_id
    # The customer was resolved in the caller's scope; recording its own usage is what
    # a consume is, so a customer-scoped key may do it through this path only.
    result = metering.ingest(dataclasses.replace(ctx, customer_scope=None), [event])
    if result.rejected:
        raise ValidationFailed(
            [FieldError(e.field, e.message) for r in result.rejected for e in r.errors]
        )
    return result.accepted == 1
