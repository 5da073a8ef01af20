"""Quota reads, per-customer overrides, grace periods, suspension and reinstatement."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tollway.catalog import get_metric
from tollway.customers import Customer, get_customer, get_customer_by_id
from tollway.kernel.access import require_full_access
from tollway.kernel.audit import audit
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound
from tollway.kernel.ids import new_id
from tollway.kernel.jobs import enqueue
from tollway.kernel.outbox import record_event
from tollway.quotas import events
from tollway.quotas.models import QuotaOverride
from tollway.quotas.periods import percent
from tollway.quotas.repository import QuotaRepository
from tollway.quotas.schemas import QuotaOverrideIn
from tollway.quotas.service.core import (
    EVALUATE_JOB,
    Evaluation,
    evaluate,
    fire_thresholds,
    quota_settings,
    start_grace_if_due,
)
from tollway.quotas.service.sources import sources


@dataclass(frozen=True)
class QuotaStatus:
    evaluation: Evaluation
    percent: Decimal | None


@dataclass(frozen=True)
class CustomerQuotas:
    customer: Customer
    plan_code: str | None
    suspended: bool
    quotas: dict[str, QuotaStatus]


def customer_quotas(ctx: Context, external_id: str) -> CustomerQuotas:
    """Every quota of the customer with its usage this period, by metric."""
    customer = get_customer(ctx, external_id)
    now = ctx.now(customer.test_clock_id)
    repo = QuotaRepository(ctx)
    src = sources(ctx, customer)
    states = repo.states(customer.id)
    found: dict[str, QuotaStatus] = {}
    for metric in sorted(src.quotas):
        quota = src.quota(metric)
        assert quota is not None
        ev = evaluate(ctx, customer, src, quota, state=states.get(metric), now=now)
        found[metric] = QuotaStatus(ev, percent(ev.used, quota.limit))
    return CustomerQuotas(customer, src.plan_code, repo.suspension(customer.id) is not None, found)


def _override_snapshot(row: QuotaOverride) -> dict[str, Any]:
    return {
        "metric": row.metric_code,
        "limit": row.limit,
        "period": row.period,
        "enforcement": row.enforcement,
        "thresholds": list(row.thresholds),
    }


def set_override(
    ctx: Context, external_id: str, metric: str, data: QuotaOverrideIn
) -> QuotaOverride:
    """Create or replace the customer's own quota on ``metric`` (secret keys only)."""
    require_full_access(ctx, "override quotas")
    customer = get_customer(ctx, external_id)
    get_metric(ctx, metric)
    now = ctx.now(customer.test_clock_id)
    repo = QuotaRepository(ctx)
    row = repo.override(customer.id, metric)
    before = _override_snapshot(row) if row else None
    if row is None:
        row = QuotaOverride(
            id=new_id("qov"),
            product_id=ctx.product_id,
            customer_id=customer.id,
            metric_code=metric,
            created_at=now,
        )
    row.limit = data.limit
    row.period = data.period
    row.enforcement = data.enforcement
    row.thresholds = list(data.thresholds)
    row.updated_at = now
    repo.add(row)
    after = _override_snapshot(row)
    audit(
        ctx,
        "quota.override_set",
        subject_type="quota_override",
        subject_id=row.id,
        before=before,
        after=after,
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )
    record_event(
        ctx,
        events.QUOTA_OVERRIDE_SET,
        {"customer_id": customer.external_id, **after},
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )
    return row


def remove_override(ctx: Context, external_id: str, metric: str) -> None:
    """Delete the customer's override on ``metric``: the plan's quota applies again."""
    require_full_access(ctx, "override quotas")
    customer = get_customer(ctx, external_id)
    repo = QuotaRepository(ctx)
    row = repo.override(customer.id, metric)
    if row is None:
        raise NotFound(f"customer {external_id!r} has no quota override on {metric!r}")
    before = _override_snapshot(row)
    repo.remove(row)
    audit(
        ctx,
        "quota.override_removed",
        subject_type="quota_override",
        subject_id=row.id,
        before=before,
        after=None,
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )
    record_event(
        ctx,
        events.QUOTA_OVERRIDE_REMOVED,
        {"customer_id": customer.external_id, "metric": metric},
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )


@dataclass(frozen=True)
class GracePeriod:
    in_grace_period: bool
    exceeded_quotas: list[str]
    grace_started: datetime | None
    grace_ends: datetime | None
    overage_percent: Decimal | None
    recommended_action: str
    suspended: bool


def grace_period(ctx: Context, external_id: str) -> GracePeriod:
    """The customer's soft quotas over their limit, and where their grace stands."""
    status = customer_quotas(ctx, external_id)
    now = ctx.now(status.customer.test_clock_id)
    graced = [
        s.evaluation
        for s in status.quotas.values()
        if s.evaluation.grace_started is not None
        and s.evaluation.quota.limit >= 0
        and s.evaluation.used > s.evaluation.quota.limit
    ]
    exceeded = [ev.quota.metric for ev in graced]
    active = [ev for ev in graced if ev.grace_ends is not None and now < ev.grace_ends]
    overage: Decimal | None = None
    for ev in graced:
        limit = ev.quota.limit
        over = (
            ((ev.used - limit) * 100 / limit).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
            if limit > 0
            else None
        )
        if over is not None and (overage is None or over > overage):
            overage = over
    if status.suspended:
        action = "contact_support"
    elif len(active) < len(graced):
        action = "upgrade_required"
    elif active:
        action = "upgrade_plan"
    else:
        action = "none"
    return GracePeriod(
        in_grace_period=bool(active),
        exceeded_quotas=exceeded,
        grace_started=min((ev.grace_started for ev in graced if ev.grace_started), default=None),
        grace_ends=min((ev.grace_ends for ev in graced if ev.grace_ends), default=None),
        overage_percent=overage,
        recommended_action=action,
        suspended=status.suspended,
    )


def reinstate(ctx: Context, external_id: str, *, reason: str | None = None) -> bool:
    """Lift the customer's suspension (secret keys only); ``False`` if it had none."""
    require_full_access(ctx, "reinstate customers")
    customer = get_customer(ctx, external_id)
    lifted = QuotaRepository(ctx).reinstate(customer.id)
    if lifted:
        _reinstated(ctx, customer, reason)
    return lifted


def is_suspended(ctx: Context, customer: Customer) -> bool:
    """Whether every consume of ``customer`` is refused."""
    return QuotaRepository(ctx).suspension(customer.id) is not None


def suspend_customer(ctx: Context, customer: Customer, reason: str, **details: object) -> bool:
    """Refuse every consume of ``customer`` from now on (``customer.suspended``, with
    ``details``); ``False`` when it was already suspended, for whatever reason."""
    if not QuotaRepository(ctx).suspend(customer.id, reason, ctx.now(customer.test_clock_id)):
        return False
    record_event(
        ctx,
        events.CUSTOMER_SUSPENDED,
        {"customer_id": customer.external_id, **details, "reason": reason},
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )
    return True


def lift_suspension(ctx: Context, customer: Customer, reason: str) -> bool:
    """Lift the customer's suspension if it was made for ``reason`` (a suspension made
    for another reason stays); whether one was lifted."""
    lifted = QuotaRepository(ctx).reinstate(customer.id, reason=reason)
    if lifted:
        _reinstated(ctx, customer, reason)
    return lifted


def _reinstated(ctx: Context, customer: Customer, reason: str | None) -> None:
    audit(
        ctx,
        "customer.reinstate",
        subject_type="customer",
        subject_id=customer.id,
        before={"suspended": True},
        after={"suspended": False, "reason": reason},
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )
    record_event(
        ctx,
        events.CUSTOMER_REINSTATED,
        {"customer_id": customer.external_id, "reason": reason},
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )


def grace_expired(ctx: Context, customer_id: str, metric: str, period_start: datetime) -> None:
    """At a grace period's end: ``grace_period.ended``, and suspend the customer when
    ``auto_suspend`` is on and the quota is still exceeded. A no-op when the period
    reset or the plan changed in between."""
    customer = get_customer_by_id(ctx, customer_id)
    now = ctx.now(customer.test_clock_id)
    repo = QuotaRepository(ctx)
    state = repo.lock_state(customer.id, metric)
    src = sources(ctx, customer)
    quota = src.quota(metric)
    if quota is None or quota.enforcement != "soft":
        return
    ev = evaluate(ctx, customer, src, quota, state=state, now=now, store=True)
    if ev.start != period_start or ev.grace_ends is None or now < ev.grace_ends:
        return
    exceeded = quota.limit >= 0 and ev.used > quota.limit
    record_event(
        ctx,
        events.GRACE_ENDED,
        {
            "metric": metric,
            "used": str(ev.used),
            "limit": quota.limit,
            "still_exceeded": exceeded,
            "grace_started": ev.grace_started.isoformat() if ev.grace_started else None,
            "grace_ends": ev.grace_ends.isoformat(),
        },
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )
    if exceeded and quota_settings(ctx).auto_suspend:
        reason = f"grace period on {metric!r} ended with the quota still exceeded"
        suspend_customer(ctx, customer, reason, metric=metric)


def usage_arriving(ctx: Context, pairs: Collection[tuple[Customer, str]]) -> None:
    """Before usage is ingested outside consume (``POST /v1/usage``): flag the quota
    counters of the (customer, metric code) pairs it adds to for a recount, and
    schedule an evaluation (thresholds, grace) at the end of the minute on each
    customer's clock.

    Called by :func:`tollway.metering.ingest` (its ``before_write``) in the same
    transaction before it writes, so the counter rows are locked before the rollups,
    in the order consume locks them.
    """
    QuotaRepository(ctx).mark_stale([(customer.id, m) for customer, m in pairs])
    for clock in sorted({c.test_clock_id or "" for c, _ in pairs}):
        test_clock_id = clock or None
        due = ctx.now(test_clock_id).replace(second=0, microsecond=0) + timedelta(minutes=1)
        enqueue(
            ctx,
            EVALUATE_JOB,
            {"test_clock_id": test_clock_id},
            due_at=due,
            test_clock_id=test_clock_id,
            dedup_key=f"{EVALUATE_JOB}:{clock or 'system'}:{due.isoformat()}",
        )


def evaluate_stale(ctx: Context, test_clock_id: str | None) -> None:
    """Recount the stale counters of customers on ``test_clock_id`` (``None``: the
    system clock) under their locks, firing thresholds and starting grace periods."""
    repo = QuotaRepository(ctx)
    for stale in repo.stale_states():
        customer = get_customer_by_id(ctx, stale.customer_id)
        if customer.test_clock_id != test_clock_id:
            continue
        now = ctx.now(customer.test_clock_id)
        state = repo.lock_state(customer.id, stale.metric_code)
        src = sources(ctx, customer, stale.metric_code)
        quota = src.quota(stale.metric_code)
        if quota is None or quota.limit < 0 or src.blocked:
            state.stale, state.period_key = False, None
            continue
        ev = evaluate(ctx, customer, src, quota, state=state, now=now, store=True)
        fire_thresholds(ctx, customer, ev, now)
        start_grace_if_due(ctx, customer, src, ev, state=state, now=now)
