"""What the dunning use cases share: events, the next step's job, the suspension."""

from __future__ import annotations

from typing import Any

from tollway.customers import get_customer_by_id
from tollway.dunning.models import DunningCase
from tollway.dunning.repository import DunningRepository
from tollway.dunning.schemas import DunningCaseOut
from tollway.kernel.context import Context
from tollway.kernel.jobs import enqueue
from tollway.kernel.outbox import record_event
from tollway.quotas import lift_suspension
from tollway.subscriptions import add_days

ESCALATE_JOB = "dunning.escalate"
SUSPENSION_REASON = "dunning: a subscription invoice is unpaid"
"""The reason dunning suspends customers with; only a suspension with it is lifted."""


def emit(ctx: Context, case: DunningCase, event_type: str, **extra: Any) -> None:
    """Record ``event_type`` with the case's snapshot (and ``extra``)."""
    ctx.session.flush()
    data = {**DunningCaseOut.of(case).model_dump(mode="json"), **extra}
    record_event(
        ctx, event_type, data, customer_id=case.customer_id, test_clock_id=case.test_clock_id
    )


def schedule_next_step(ctx: Context, case: DunningCase) -> None:
    """Enqueue the job of the case's next step, due ``after_days`` after the first
    failure on the customer's clock (in its time zone); none when no step is left."""
    if case.next_step >= len(case.steps):
        case.next_action_at = None
        return
    step = case.steps[case.next_step]
    timezone = get_customer_by_id(ctx, case.customer_id).timezone
    due = add_days(case.first_failed_at, step["after_days"], timezone)
    case.next_action_at = due
    enqueue(
        ctx,
        ESCALATE_JOB,
        {"case_id": case.id, "step": case.next_step},
        due_at=due,
        test_clock_id=case.test_clock_id,
        dedup_key=f"dunning-step:{case.id}:{case.next_step}",
    )


def lift_dunning_suspension(ctx: Context, case: DunningCase) -> bool:
    """Lift the customer's dunning suspension unless another of its cases is still
    suspended; a suspension made for another reason stays."""
    if DunningRepository(ctx).others_open(case, status="suspended"):
        return False
    return lift_suspension(ctx, get_customer_by_id(ctx, case.customer_id), SUSPENSION_REASON)
