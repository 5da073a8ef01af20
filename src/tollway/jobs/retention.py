"""Retention: delivery logs, relay receipts and read notifications are pruned.

- webhook deliveries that finished (succeeded or failed) more than 30 days ago,
  with their attempts;
- relay receipts (``done``) older than 90 days of events their consumer's cursor has
  passed (the relay reads only past the cursor, and its sweep looks back 24 hours),
  not of test-clock customers' events (their relay reads every event of the clock);
  ``failed``/``dead`` are kept. A receipt the relay could still look for is never
  pruned, or its event would be handled again;
- notifications read more than 90 days ago (unread ones are kept).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from tollway.customers import Customer
from tollway.jobs.registry import Handler, Periodic
from tollway.kernel.context import Context
from tollway.kernel.outbox import Event
from tollway.kernel.relay import DONE, EventReceipt, RelayCursor
from tollway.notifications import Notification
from tollway.webhooks import WebhookAttempt, WebhookDelivery

PRUNE_KIND = "housekeeping.prune_delivery_logs"
DELIVERY_RETENTION = timedelta(days=30)
RECEIPT_RETENTION = timedelta(days=90)
READ_NOTIFICATION_RETENTION = timedelta(days=90)
_FINISHED = ("succeeded", "failed")


def prune_delivery_logs(ctx: Context, payload: dict[str, Any]) -> None:
    """Delete what the retention periods above have passed (every product)."""
    now = ctx.now()
    old_deliveries = select(WebhookDelivery.id).where(
        WebhookDelivery.status.in_(_FINISHED),
        WebhookDelivery.updated_at < now - DELIVERY_RETENTION,
    )
    ctx.session.execute(
        delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(old_deliveries))
    )
    ctx.session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.status.in_(_FINISHED),
            WebhookDelivery.updated_at < now - DELIVERY_RETENTION,
        )
    )
    behind_cursor = (
        select(EventReceipt.id)
        .join(RelayCursor, RelayCursor.consumer == EventReceipt.consumer)
        .join(Event, Event.id == EventReceipt.event_id)
        .outerjoin(Customer, Customer.id == Event.customer_id)
        .where(
            EventReceipt.status == DONE,
            EventReceipt.updated_at < now - RECEIPT_RETENTION,
            EventReceipt.event_id <= RelayCursor.position,
            Customer.test_clock_id.is_(None),
        )
    )
    ctx.session.execute(delete(EventReceipt).where(EventReceipt.id.in_(behind_cursor)))
    ctx.session.execute(
        delete(Notification).where(
            Notification.read_at.is_not(None),
            Notification.read_at < now - READ_NOTIFICATION_RETENTION,
        )
    )


HANDLERS: dict[str, Handler] = {PRUNE_KIND: prune_delivery_logs}
PERIODIC = [Periodic(PRUNE_KIND, timedelta(days=1))]
