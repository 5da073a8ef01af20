"""Reading a quota's state: the period, the usage so far, the enforcement in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tollway import metering
from tollway.customers import Customer
from tollway.kernel.context import Context
from tollway.kernel.jobs import enqueue
from tollway.kernel.outbox import record_event
from tollway.kernel.tenancy import read_settings
from tollway.quotas import events
from tollway.quotas.models import QuotaState
from tollway.quotas.periods import quota_period, reached, usage_end
from tollway.quotas.repository import QuotaRepository
from tollway.quotas.schemas import QuotasSettings
from tollway.quotas.service.sources import Quota, Sources

SECTION = "quotas"
GRACE_JOB = "quotas.grace_expired"
EVALUATE_JOB = "quotas.evaluate"


def quota_settings(ctx: Context) -> QuotasSettings:
    """The product's ``quotas`` settings, defaults filled in."""
    return read_settings(ctx, SECTION, QuotasSettings)


@dataclass(frozen=True)
class Evaluation:
    """A quota at an instant: its period, usage in it and the enforcement in force."""

    quota: Quota
    start: datetime
    end: datetime | None
    used: Decimal
    enforcement: str
    """The configured one, or ``hard`` for a soft quota whose grace has run out."""
    grace_started: datetime | None
    grace_ends: datetime | None

    @property
    def unlimited(self) -> bool:
        return self.quota.limit < 0

    def allows(self, increment: Decimal) -> bool:
        """Whether adding ``increment`` stays within what the enforcement permits."""
        if self.unlimited or self.enforcement == "soft":
            return True
        return self.used + increment <= self.quota.limit

    def remaining(self) -> Decimal | None:
        return None if self.unlimited else max(Decimal(self.quota.limit) - self.used, Decimal(0))


def period_key(start: datetime, end: datetime | None) -> str:
    """How a counter names the period it counts."""
    return f"{start.isoformat()}/{end.isoformat() if end else '-'}"


def used_in(
    ctx: Context,
    customer: Customer,
    metric: str,
    period: tuple[datetime, datetime | None],
    *,
    state: QuotaState | None,
    now: datetime,
    store: bool,
) -> Decimal:
    """Usage of ``metric`` in ``period``: the maintained counter when it is current
    (same period, not stale), else recounted from metering's rollups (and, with
    ``store``, written back to the locked ``state``)."""
    start, end = period
    key = period_key(start, end)
    if state is not None and not state.stale and state.period_key == key and state.used is not None:
        return state.used
    used = metering.usage(ctx, customer, metric, start=start, end=usage_end(end, now)).total
    if store and state is not None:
        state.period_key, state.used, state.stale = key, used, False
    return used


def grace_of(
    state: QuotaState | None, start: datetime, plan_code: str | None
) -> tuple[datetime | None, datetime | None]:
    """The grace period (start, end) of this quota period and plan, if one began."""
    if (
        state is None
        or state.grace_started_at is None
        or state.grace_period_start != start
        or state.grace_plan != plan_code
    ):
        return None, None
    return state.grace_started_at, state.grace_ends_at


def evaluate(
    ctx: Context,
    customer: Customer,
    src: Sources,
    quota: Quota,
    *,
    state: QuotaState | None,
    now: datetime,
    store: bool = False,
) -> Evaluation:
    """The quota's current period, usage and enforcement (``store``: refresh the
    locked ``state``'s counter when it had to recount)."""
    start, end = quota_period(quota.period, now, customer.timezone, src.billing_period)
    used = used_in(ctx, customer, quota.metric, (start, end), state=state, now=now, store=store)
    grace_started, grace_ends = (
        grace_of(state, start, src.plan_code) if quota.enforcement == "soft" else (None, None)
    )
    enforcement = quota.enforcement
    if grace_ends is not None and now >= grace_ends:
        enforcement = "hard"
    return Evaluation(quota, start, end, used, enforcement, grace_started, grace_ends)


def fire_thresholds(
    ctx: Context, customer: Customer, evaluation: Evaluation, now: datetime
) -> None:
    """Record ``quota.warning`` / ``quota.exceeded`` for each threshold reached and not
    yet fired in this period (the alert row's key makes each fire once)."""
    quota = evaluation.quota
    repo = QuotaRepository(ctx)
    for threshold in reached(list(quota.thresholds), evaluation.used, quota.limit):
        data = {
            "metric": quota.metric,
            "threshold": threshold,
            "used": str(evaluation.used),
            "limit": quota.limit,
            "period_start": evaluation.start.isoformat(),
            "period_end": evaluation.end.isoformat() if evaluation.end else None,
        }
        if repo.fire_alert(
            customer.id, quota.metric, evaluation.start, threshold, data=data, now=now
        ):
            kind = events.QUOTA_EXCEEDED if threshold >= 100 else events.QUOTA_WARNING
            record_event(
                ctx, kind, data, customer_id=customer.id, test_clock_id=customer.test_clock_id
            )


def start_grace_if_due(
    ctx: Context,
    customer: Customer,
    src: Sources,
    evaluation: Evaluation,
    *,
    state: QuotaState,
    now: datetime,
) -> None:
    """Begin the grace period the first time a soft quota is exceeded in a period.

    ``state`` must be locked by the caller.
    """
    quota = evaluation.quota
    if quota.enforcement != "soft" or quota.limit < 0 or evaluation.used <= quota.limit:
        return
    if evaluation.grace_started is not None:
        return
    days = quota_settings(ctx).grace_period_days
    plan_days = src.plan_features.get("grace_period_days")
    if isinstance(plan_days, int) and not isinstance(plan_days, bool) and plan_days >= 0:
        days = plan_days
    ends = now + timedelta(days=days)
    state.grace_period_start = evaluation.start
    state.grace_plan = src.plan_code
    state.grace_started_at = now
    state.grace_ends_at = ends
    record_event(
        ctx,
        events.GRACE_STARTED,
        {
            "metric": quota.metric,
            "used": str(evaluation.used),
            "limit": quota.limit,
            "grace_started": now.isoformat(),
            "grace_ends": ends.isoformat(),
            "period_start": evaluation.start.isoformat(),
        },
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )
    enqueue(
        ctx,
        GRACE_JOB,
        {
            "customer_id": customer.id,
            "metric": quota.metric,
            "period_start": evaluation.start.isoformat(),
        },
        due_at=ends,
        test_clock_id=customer.test_clock_id,
        dedup_key=(
            f"{GRACE_JOB}:{customer.id}:{quota.metric}:{src.plan_code}:{evaluation.start.isoformat()}"
        ),
    )
