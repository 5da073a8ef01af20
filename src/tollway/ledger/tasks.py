"""The ledger's job (grant expiry) and its event consumer (plan allocations)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tollway.kernel.context import Context
from tollway.kernel.relay import Consumer
from tollway.ledger.service.allocations import on_subscription_event
from tollway.ledger.service.expiry import expire_grant
from tollway.ledger.service.grants import EXPIRE_JOB

CONSUMER = "ledger"
SUBSCRIPTION_EVENTS = frozenset(
    {
        "subscription.created",
        "subscription.updated",
        "subscription.renewed",
        "subscription.canceled",
        "subscription.paused",
        "subscription.resumed",
        "subscription.expired",
        "subscription.reactivated",
    }
)
"""The events that open a period (``billing``) or close one (``closed_period``)."""


def _expire(ctx: Context, payload: dict[str, Any]) -> None:
    expire_grant(ctx, payload["grant_id"])


HANDLERS: dict[str, Callable[[Context, dict[str, Any]], None]] = {EXPIRE_JOB: _expire}
CONSUMERS = [Consumer(CONSUMER, on_subscription_event, types=SUBSCRIPTION_EVENTS)]
