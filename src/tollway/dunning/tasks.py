"""The dunning consumer of payment and invoice events, and the escalation job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tollway.dunning.service.cases import RECOVERED, VOIDED, invoice_settled, payment_failed
from tollway.dunning.service.common import ESCALATE_JOB
from tollway.dunning.service.escalation import escalate
from tollway.kernel.context import Context
from tollway.kernel.outbox import Event
from tollway.kernel.relay import Consumer

CONSUMER = "dunning"

PAYMENT_FAILED, PAYMENT_SUCCEEDED = "payment.failed", "payment.succeeded"
INVOICE_PAID, INVOICE_VOIDED = "invoice.paid", "invoice.voided"


def on_event(ctx: Context, event: Event) -> None:
    """A failed payment opens or updates a case; a paid or voided invoice closes it."""
    data = event.data
    if event.type == PAYMENT_FAILED:
        payment_failed(ctx, data, event.created_at)
    elif event.type == PAYMENT_SUCCEEDED:
        invoice_settled(ctx, data["invoice_id"], resolution=RECOVERED)
    elif event.type == INVOICE_PAID:
        invoice_settled(ctx, data["id"], resolution=RECOVERED)
    elif event.type == INVOICE_VOIDED:
        invoice_settled(ctx, data["id"], resolution=VOIDED)


def _escalate(ctx: Context, payload: dict[str, Any]) -> None:
    escalate(
        ctx, payload["case_id"], int(payload["step"]), after_retry=bool(payload.get("after_retry"))
    )


HANDLERS: dict[str, Callable[[Context, dict[str, Any]], None]] = {ESCALATE_JOB: _escalate}
CONSUMERS = [
    Consumer(
        CONSUMER,
        on_event,
        types=frozenset({PAYMENT_FAILED, PAYMENT_SUCCEEDED, INVOICE_PAID, INVOICE_VOIDED}),
    )
]
