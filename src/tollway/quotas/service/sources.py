"""Where a customer's quotas come from: the live subscription's plan (or the default
plan), the paused-quota policy, and per-customer overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tollway.catalog import Plan, default_plan, get_plan
from tollway.customers import Customer
from tollway.kernel.context import Context
from tollway.quotas.repository import QuotaRepository
from tollway.quotas.schemas import DEFAULT_THRESHOLDS
from tollway.subscriptions import current_subscription, paused_quota_policy


@dataclass(frozen=True)
class Quota:
    """One effective quota: a limit (``-1`` unlimited) on a metric per period."""

    metric: str
    limit: int
    period: str
    enforcement: str
    thresholds: tuple[int, ...]
    source: str
    """``plan``, ``override``, ``paused`` (a paused subscription under ``block``) or
    ``none`` (no quota: unlimited)."""


@dataclass
class Sources:
    """What governs a customer's quotas right now."""

    plan_code: str | None
    plan_features: dict[str, Any]
    billing_period: tuple[datetime, datetime | None] | None
    blocked: bool
    quotas: dict[str, Quota] = field(default_factory=dict)

    def quota(self, metric: str) -> Quota | None:
        """The quota on ``metric``; under ``block`` every metric is limited to 0."""
        if self.blocked:
            return Quota(metric, 0, "monthly", "hard", (), "paused")
        return self.quotas.get(metric)


def _plan_quotas(plan: Plan | None) -> dict[str, Quota]:
    if plan is None:
        return {}
    return {
        q["metric"]: Quota(
            q["metric"],
            int(q["limit"]),
            q["period"],
            q.get("enforcement", "hard"),
            tuple(q.get("thresholds") or DEFAULT_THRESHOLDS),
            "plan",
        )
        for q in plan.quotas
    }


def sources(ctx: Context, customer: Customer, metric: str | None = None) -> Sources:
    """The customer's plan, billing period and effective quotas (only ``metric``'s
    override is read when one metric is asked for)."""
    sub = current_subscription(ctx, customer.id)
    plan: Plan | None
    blocked = False
    if sub is None:
        plan = default_plan(ctx)
    elif sub.status == "paused":
        policy = paused_quota_policy(ctx)
        if policy == "keep":
            plan = get_plan(ctx, sub.plan_code)
        elif policy == "free_plan":
            plan = default_plan(ctx)
            blocked = plan is None
        else:
            plan, blocked = None, True
    else:
        plan = get_plan(ctx, sub.plan_code)
    found = Sources(
        plan_code=plan.code if plan else (sub.plan_code if sub else None),
        plan_features=dict(plan.features) if plan else {},
        billing_period=(sub.current_period_start, sub.current_period_end) if sub else None,
        blocked=blocked,
        quotas=_plan_quotas(plan),
    )
    repo = QuotaRepository(ctx)
    overrides = repo.overrides(customer.id, metric)
    for row in overrides:
        found.quotas[row.metric_code] = Quota(
            row.metric_code,
            row.limit,
            row.period,
            row.enforcement,
            tuple(row.thresholds),
            "override",
        )
    return found
