"""Where a customer's quotas come from: the live subscription's plan (or the default
plan), the paused-quota policy, and per-customer overrides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from tollway.catalog import default_plan, get_plan
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


class PlanLike(Protocol):
    """What quotas read of a plan (a catalog :class:`Plan` or :class:`PlanParts`)."""

    @property
    def code(self) -> str: ...
    @property
    def features(self) -> dict[str, Any]: ...
    @property
    def quotas(self) -> list[dict[str, Any]]: ...


class PlanParts(NamedTuple):
    code: str
    features: dict[str, Any]
    quotas: list[dict[str, Any]]


class LiveSubscription(NamedTuple):
    """What quotas read of the customer's live subscription."""

    status: str
    plan_code: str
    period: tuple[datetime, datetime | None]


def _plan_quotas(plan: PlanLike | None) -> dict[str, Quota]:
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


def override_quota(
    metric: str, limit: int, period: str, enforcement: str, thresholds: list[int]
) -> Quota:
    """A customer's override of ``metric``'s quota."""
    return Quota(metric, limit, period, enforcement, tuple(thresholds), "override")


def sources(ctx: Context, customer: Customer, metric: str | None = None) -> Sources:
    """The customer's plan, billing period and effective quotas (only ``metric``'s
    override is read when one metric is asked for)."""
    sub = current_subscription(ctx, customer.id)
    live = (
        None
        if sub is None
        else LiveSubscription(
            sub.status, sub.plan_code, (sub.current_period_start, sub.current_period_end)
        )
    )
    found = compose(
        ctx,
        live,
        plan=lambda: get_plan(ctx, live.plan_code) if live else None,
        default=lambda: default_plan(ctx),
    )
    for row in QuotaRepository(ctx).overrides(customer.id, metric):
        found.quotas[row.metric_code] = override_quota(
            row.metric_code, row.limit, row.period, row.enforcement, row.thresholds
        )
    return found


def compose(
    ctx: Context,
    live: LiveSubscription | None,
    *,
    plan: Callable[[], PlanLike | None],
    default: Callable[[], PlanLike | None],
) -> Sources:
    """The sources of a customer with the ``live`` subscription, before overrides:
    its ``plan`` (or the ``default`` plan) as the paused-quota policy decides."""
    chosen: PlanLike | None
    blocked = False
    if live is None:
        chosen = default()
    elif live.status == "paused":
        policy = paused_quota_policy(ctx)
        if policy == "keep":
            chosen = plan()
        elif policy == "free_plan":
            chosen = default()
            blocked = chosen is None
        else:
            chosen, blocked = None, True
    else:
        chosen = plan()
    return Sources(
        plan_code=chosen.code if chosen else (live.plan_code if live else None),
        plan_features=dict(chosen.features) if chosen else {},
        billing_period=live.period if live else None,
        blocked=blocked,
        quotas=_plan_quotas(chosen),
    )
