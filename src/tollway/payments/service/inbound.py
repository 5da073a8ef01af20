"""Inbound provider webhooks: verified by the adapter, deduplicated here, then
handled in the request's transaction (the provider gets 200 once it committed).

``payment_provider_events`` is unique per (provider, event id): the row is
inserted first, in a savepoint, so a second delivery of the same event (even a
concurrent one, which waits for the first to commit) finds it and changes nothing.
Types Tollway does not act on, and objects that are not Tollway's, are recorded as
``ignored`` and answered 200. A handled type whose subject Tollway does not know yet
(Stripe does not order its events) raises :class:`SubjectNotReady`: the request's
transaction, dedup row included, rolls back and the provider redelivers it later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tollway.kernel.context import Context
from tollway.kernel.ids import new_id
from tollway.payments.gateway import Providers
from tollway.payments.models import ProviderEventRecord
from tollway.payments.providers import ProviderEvent
from tollway.payments.repository import PaymentRepository
from tollway.payments.service import asaas_events, stripe_events

EventHandler = Callable[[Context, Mapping[str, Any]], bool]
"""Handles an event's object; ``False`` when it is not Tollway's. Raises
:class:`SubjectNotReady` (409) when it is but its subject is not there yet, and
:class:`WebhookRejected` (400) when the object is malformed."""

HANDLERS: dict[str, dict[str, EventHandler]] = {
    "stripe": stripe_events.HANDLERS,
    "asaas": asaas_events.HANDLERS,
}


def receive_webhook(
    ctx: Context,
    providers: Providers,
    provider_name: str,
    headers: Mapping[str, str],
    body: bytes,
) -> str:
    """Verify, deduplicate and handle one delivery: ``handled``, ``ignored`` or
    ``duplicate``. Raises the adapter's :class:`WebhookRejected` (400/401) first."""
    provider = providers.get(provider_name)
    event = provider.parse_webhook(headers, body, ctx.now())
    return handle_event(ctx, event)


def handle_event(ctx: Context, event: ProviderEvent) -> str:
    """Handle a verified event once per (provider, event id)."""
    record = ProviderEventRecord(
        id=new_id("pevt"),
        provider=event.provider,
        event_id=event.id,
        type=event.type,
        outcome="handled",
        received_at=ctx.now(),
    )
    if not PaymentRepository(ctx).insert_once(record):
        return "duplicate"
    handler = HANDLERS.get(event.provider, {}).get(event.type)
    if handler is None or not handler(ctx, event.data):
        record.outcome = "ignored"
    return record.outcome
