"""Applying a payment provider's view of a subscription (Stripe Billing): when the
provider runs the subscription, its status, plan, period and
``cancel_at_period_end`` are the truth, and Tollway's subscription follows them.

A provider's new period that starts at or after the subscription's current period
end is a renewal: Tollway first renews up to its own period end (exactly what the
renewal job does: the closed period's usage and the new period's fee are billed
once, ``subscription.renewed``; the job then finds the period moved and does
nothing), then applies the rest of the provider's state. Where the provider's new
boundaries differ from the ones Tollway computed, the provider's win: the period is
moved to them after renewing (the charges keep Tollway's boundaries; a provider
invoice matches a Tollway invoice by period overlap) and the renewal job follows
the provider's end. A redelivered state starts before the (moved) period end, so it
renews nothing again. Otherwise no charges are recorded here (the provider bills);
the usual ``subscription.updated`` / ``subscription.canceled`` events tell the
rest."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tollway.catalog import get_plan
from tollway.kernel.audit import audit
from tollway.kernel.context import Context
from tollway.subscriptions import events
from tollway.subscriptions.models import Subscription
from tollway.subscriptions.service.common import (
    emit,
    load,
    now_for,
    plan_price,
    schedule_renewal,
    snapshot,
)
from tollway.subscriptions.service.timeline import renew
from tollway.subscriptions.states import (
    ACTIVE,
    CANCELED,
    EXPIRED,
    PAST_DUE,
    can_transition,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExternalState:
    """A provider's subscription, in Tollway's words."""

    status: str
    """One of Tollway's statuses (the caller maps the provider's)."""
    plan_code: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    cancel_at_period_end: bool | None = None


def apply_external_state(
    ctx: Context, subscription_id: str, state: ExternalState, *, provider: str
) -> Subscription:
    """Make the subscription match ``state``; a status the state machine does not
    allow from the current one is left as it is, logged and audited
    (``subscription.mirror_<provider>_refused``) for an operator to see. Emits only
    when something changed."""
    sub = load(ctx, subscription_id)
    if _renewed(sub, state):
        _renew_first(ctx, sub)
    before = snapshot(ctx, sub)
    now = now_for(ctx, sub)
    if state.status != sub.status and can_transition(sub.status, state.status):
        sub.status = state.status
        if state.status in (CANCELED, EXPIRED):
            sub.canceled_at = sub.canceled_at or now
            sub.ended_at = now
    elif state.status != sub.status:
        _refused(ctx, sub, state.status, provider)
    if state.plan_code is not None and state.plan_code != sub.plan_code:
        plan = get_plan(ctx, state.plan_code)
        sub.amount = plan_price(plan, sub.billing_cycle, sub.currency, sub.price_override)
        sub.plan_id, sub.plan_code = plan.id, plan.code
    start = state.period_start or sub.current_period_start
    if state.period_end is not None and (start, state.period_end) != (
        sub.current_period_start,
        sub.current_period_end,
    ):
        sub.current_period_start = start
        sub.current_period_end = state.period_end
        schedule_renewal(ctx, sub)  # Tollway invoices the period the provider collects
    if state.cancel_at_period_end is not None:
        sub.cancel_at_period_end = state.cancel_at_period_end
    if snapshot(ctx, sub) != before:
        canceled = sub.status == CANCELED and before["status"] != CANCELED
        emit(
            ctx,
            sub,
            events.SUBSCRIPTION_CANCELED if canceled else events.SUBSCRIPTION_UPDATED,
            action=f"subscription.mirror_{provider}",
            before=before,
        )
    return sub


def _renewed(sub: Subscription, state: ExternalState) -> bool:
    """Whether ``state`` is a live subscription the provider renewed: its period starts
    at or after the end of the subscription's current one."""
    return (
        state.status in (ACTIVE, PAST_DUE)
        and sub.status in (ACTIVE, PAST_DUE)
        and state.period_start is not None
        and sub.current_period_end is not None
        and state.period_start >= sub.current_period_end
    )


def _renew_first(ctx: Context, sub: Subscription) -> None:
    """Tollway's renewal at its period end, as the renewal job runs it. The provider
    started a new period, so a cancellation at the old period's end did not happen:
    it is cleared first (the provider's ``cancel_at_period_end`` for the new period
    is applied after)."""
    assert sub.current_period_end is not None
    sub.cancel_at_period_end = False
    renew(ctx, sub.id, sub.current_period_end)


def _refused(ctx: Context, sub: Subscription, status: str, provider: str) -> None:
    """A provider's status our state machine forbids from the current one."""
    log.warning(
        "%s says subscription %s is %s; %s -> %s is not allowed, status kept",
        provider,
        sub.id,
        status,
        sub.status,
        status,
    )
    audit(
        ctx,
        f"subscription.mirror_{provider}_refused",
        subject_type="subscription",
        subject_id=sub.id,
        before={"status": sub.status},
        after={"status": status, "applied": False},
        customer_id=sub.customer_id,
        test_clock_id=sub.test_clock_id,
    )
