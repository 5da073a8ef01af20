"""Output shapes of dunning: a case as the API and the events show it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tollway.dunning.models import DunningCase
from tollway.dunning.repository import OPEN


class DunningCaseOut(BaseModel):
    """An unpaid subscription invoice in dunning; amounts in minor units of ``currency``."""

    id: str
    customer_id: str
    """The customer's external id."""
    subscription_id: str
    invoice_id: str
    invoice_number: str | None
    amount: int
    currency: str
    status: str
    """``past_due``, ``suspended``, ``downgraded``, ``canceled`` (open) or
    ``recovered``, ``voided`` (closed)."""
    open: bool
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    last_failure_code: str | None
    last_failure_message: str | None
    next_retry_at: datetime | None
    grace_ends: datetime
    next_action: str | None
    """The next step's action (``suspend``, ``downgrade``, ``cancel``) if it is unpaid."""
    next_action_at: datetime | None
    closed_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, case: DunningCase) -> DunningCaseOut:
        is_open = case.status in OPEN
        pending = is_open and case.next_step < len(case.steps)
        return cls(
            id=case.id,
            customer_id=case.customer_external_id,
            subscription_id=case.subscription_id,
            invoice_id=case.invoice_id,
            invoice_number=case.invoice_number,
            amount=case.amount,
            currency=case.currency,
            status=case.status,
            open=is_open,
            attempts=case.attempts,
            first_failed_at=case.first_failed_at,
            last_failed_at=case.last_failed_at,
            last_failure_code=case.last_failure_code,
            last_failure_message=case.last_failure_message,
            next_retry_at=case.next_retry_at if is_open else None,
            grace_ends=case.grace_ends,
            next_action=case.steps[case.next_step]["action"] if pending else None,
            next_action_at=case.next_action_at if pending else None,
            closed_at=case.closed_at,
            created_at=case.created_at,
        )


class CustomerDunningOut(BaseModel):
    """``GET /v1/customers/{external_id}/dunning``: the customer's cases, newest first."""

    customer_id: str
    in_dunning: bool
    """Whether an invoice of the customer's subscriptions is unpaid after a failed payment."""
    suspended: bool
    """Whether the customer's consumes are refused (by dunning or for another reason)."""
    data: list[DunningCaseOut]
    has_more: bool = False
