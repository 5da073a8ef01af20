"""Check and consume: the hot path. A consume locks the (customer, metric) state row,
reads usage from metering's rollups, records the event through metering and is
refused (nothing written) when the quota does not allow it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tollway import ledger, metering
from tollway.catalog import get_metric, get_plan
from tollway.customers import Customer, get_customer
from tollway.kernel.context import Context
from tollway.kernel.errors import FieldError, ValidationFailed
from tollway.kernel.tenancy import settings_section
from tollway.metering import MetricDef
from tollway.quotas.errors import CustomerSuspended, QuotaExceeded
from tollway.quotas.models import QuotaState
from tollway.quotas.periods import quota_period, retry_after
from tollway.quotas.repository import QuotaRepository
from tollway.quotas.service.core import (
    Evaluation,
    evaluate,
    fire_thresholds,
    period_key,
    start_grace_if_due,
)
from tollway.quotas.service.sources import (
    LiveSubscription,
    PlanParts,
    Quota,
    Sources,
    compose,
    override_quota,
    sources,
)


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


@dataclass(frozen=True)
class _Target:
    """What a check or consume of one customer's metric reads before judging."""

    customer: Customer
    metric: MetricDef
    suspended: bool
    src: Sources
    state: QuotaState | None
    credits: ledger.CreditsSettings | None = None
    """The product's ``credits`` settings, when read along."""


def _target(ctx: Context, external_id: str, metric: str) -> _Target:
    """The customer, metric, suspension, quota sources and state row, read in one
    statement (the lookups one by one, raising their 404, when that finds nothing)."""
    repo = QuotaRepository(ctx)
    found = repo.resolve(external_id, metric)
    if found is None or found.row.code is None:
        customer = get_customer(ctx, external_id)
        return _Target(
            customer,
            metering.metric_def(get_metric(ctx, metric)),
            repo.suspension(customer.id) is not None,
            sources(ctx, customer, metric),
            repo.state(customer.id, metric),
        )
    row, live = found.row, None
    if row.sub_status is not None:
        period = (row.current_period_start, row.current_period_end)
        live = LiveSubscription(row.sub_status, row.sub_plan, period)
    src = compose(
        ctx,
        live,
        plan=lambda: (
            PlanParts(row.plan_code, row.plan_features, row.plan_quotas)
            if row.plan_code is not None
            else get_plan(ctx, row.sub_plan)  # absent: its 404
        ),
        default=lambda: (
            PlanParts(row.default_code, row.default_features, row.default_quotas)
            if row.default_code is not None
            else None
        ),
    )
    if row.override_limit is not None:
        src.quotas[metric] = override_quota(
            metric,
            row.override_limit,
            row.override_period,
            row.override_enforcement,
            row.override_thresholds,
        )
    credits = settings_section(row.product_settings, ledger.SECTION, ledger.CreditsSettings)
    return _Target(
        found.customer, metering.metric_def(row), row.suspended, src, found.state, credits
    )


def _increment(definition: MetricDef, quantity: Decimal, *, consuming: bool) -> Decimal:
    """What one consume of ``quantity`` adds to the metric's value."""
    metric = definition.code
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
    target = _target(ctx, external_id, metric)
    now = ctx.now(target.customer.test_clock_id)
    increment = _increment(target.metric, quantity, consuming=False)
    quota = target.src.quota(metric) or _none(metric)
    ev = evaluate(ctx, target.customer, target.src, quota, state=target.state, now=now)
    return _decision(ev, ev.allows(increment) and not target.suspended)


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
    target = _target(ctx, external_id, metric)
    customer, src = target.customer, target.src
    now = ctx.now(customer.test_clock_id)
    increment = _increment(target.metric, quantity, consuming=True)
    if target.suspended:
        suspension = QuotaRepository(ctx).suspension(customer.id)
        reason = f" ({suspension.reason})" if suspension is not None else ""
        raise CustomerSuspended(
            f"customer {external_id!r} is suspended{reason}; every consume is refused "
            f"until it is reinstated (POST /v1/customers/{external_id}/reinstate)"
        )
    quota = src.quota(metric) or _none(metric)
    counted = _count(
        ctx, target, quota, increment=increment, quantity=quantity, event_id=event_id, now=now
    )
    if counted is not None:
        return counted
    state = QuotaRepository(ctx).lock_state(customer.id, metric)
    before = evaluate(ctx, customer, src, quota, state=state, now=now, store=True)
    if not _record(ctx, target, quantity, event_id):
        return _decision(before, True, duplicate=True)
    # a refusal raises: the caller rolls the recorded event back
    # blocked credit overage
    ledger.ensure_usage_allowed(ctx, customer.id, metric, settings=target.credits)
    if not before.allows(increment):
        raise _refuse(before, customer, now)
    after = dataclasses.replace(before, used=before.used + increment)
    state.used = after.used
    fire_thresholds(ctx, customer, after, now)
    start_grace_if_due(ctx, customer, src, after, state=state, now=now)
    return _decision(after, True)


def _count(
    ctx: Context,
    target: _Target,
    quota: Quota,
    *,
    increment: Decimal,
    quantity: Decimal,
    event_id: str | None,
    now: datetime,
) -> Decision | None:
    """The fast path of a consume that stays within the limit on a current counter:
    one statement adds to it (and locks the row), then the event is recorded.
    ``None`` (nothing written) when the counter must be recounted or the consume
    would pass the limit: the locked path then judges it."""
    customer, src, state = target.customer, target.src, target.state
    if state is None:
        return None
    start, end = quota_period(quota.period, now, customer.timezone, src.billing_period)
    key = period_key(start, end)
    limit = None if quota.limit < 0 else quota.limit
    repo = QuotaRepository(ctx)
    if repo.add_to_counter(state, key, increment, limit) is None:
        return None
    after = evaluate(ctx, customer, src, quota, state=state, now=now)
    if not _record(ctx, target, quantity, event_id):
        repo.add_to_counter(state, key, -increment, None)
        return _decision(dataclasses.replace(after, used=after.used - increment), True, True)
    # blocked credit overage
    ledger.ensure_usage_allowed(ctx, customer.id, quota.metric, settings=target.credits)
    fire_thresholds(ctx, customer, after, now)
    start_grace_if_due(ctx, customer, src, after, state=state, now=now)
    return _decision(after, True)


def _record(ctx: Context, target: _Target, quantity: Decimal, event_id: str | None) -> bool:
    """Store the usage event through metering; ``False`` when ``event_id`` was known."""
    event: dict[str, object] = {
        "customer_id": target.customer.external_id,
        "metric": target.metric.code,
        "quantity": quantity,
    }
    if event_id is not None:
        event["event_id"] = event_id
    # The customer was resolved in the caller's scope; recording its own usage is what
    # a consume is, so a customer-scoped key may do it through this path only.
    unscoped = dataclasses.replace(ctx, customer_scope=None)
    result = metering.ingest_one(unscoped, event, target.customer, target.metric)
    if result.rejected:
        raise ValidationFailed(
            [FieldError(e.field, e.message) for r in result.rejected for e in r.errors]
        )
    return result.accepted == 1
