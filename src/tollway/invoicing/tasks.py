"""The invoicing consumer of subscription events, and the overdue job."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from tollway.invoicing.service.lifecycle import OVERDUE_JOB, notify_overdue
from tollway.invoicing.service.runs import RunItem, run_invoices
from tollway.kernel.context import Context
from tollway.kernel.outbox import Event
from tollway.kernel.relay import Consumer

CONSUMER = "invoicing"
RUN_BATCH = 500
"""Subscription events per relay pass, so per invoice run: a run's reads and
statements are partly fixed per run (500 against the relay's default 200 made
10,000 invoices about 8 % faster on PostgreSQL, docs/benchmarks.md), while a pass
stays short enough (about half a second) not to hold SQLite's write lock long."""

SUBSCRIPTION_EVENTS = frozenset(
    (
        "subscription.created",
        "subscription.updated",
        "subscription.renewed",
        "subscription.canceled",
        "subscription.paused",
        "subscription.resumed",
        "subscription.reactivated",
        "subscription.expired",
    )
)
"""Events that may carry ``billing`` (charges recorded) or ``closed_period`` (usage
to bill in arrears)."""


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _run_item(event: Event) -> RunItem | None:
    """What a subscription event makes billable: its unclaimed charges and, with
    ``closed_period``, that period's usage, rated with the plan the period was on (a
    trial's usage is free); ``None`` when it made nothing billable."""
    data = event.data
    closed = data.get("closed_period")
    if data.get("billing") is None and closed is None:
        return None
    period = None
    if closed is not None and closed.get("period_end") is not None:
        period = (_at(closed["period_start"]), _at(closed["period_end"]))
    previous = data.get("previous_attributes") or {}
    if previous.get("status", data["status"]) == "trialing":
        period = None  # usage during a trial is free
    return RunItem(data["id"], period, previous.get("plan_id", data["plan_id"]))


def on_subscription_event(ctx: Context, event: Event) -> None:
    """Run invoices for the event's subscription when it made something billable."""
    on_subscription_events(ctx, [event])


def on_subscription_events(ctx: Context, events: Sequence[Event]) -> None:
    """Run invoices for many events in one transaction (the relay's batch). A run
    invoices each subscription once, so a subscription with several events is run in
    rounds, its events in order."""
    rounds: list[list[RunItem]] = []
    last_round: dict[str, int] = {}
    for event in events:
        item = _run_item(event)
        if item is None:
            continue
        index = last_round.get(item.subscription_id, -1) + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(item)
        last_round[item.subscription_id] = index
    for items in rounds:
        run_invoices(ctx, items)


def _overdue(ctx: Context, payload: dict[str, Any]) -> None:
    notify_overdue(ctx, payload["invoice_ids"], _at(payload["due_date"]))


HANDLERS: dict[str, Callable[[Context, dict[str, Any]], None]] = {OVERDUE_JOB: _overdue}
CONSUMERS = [
    Consumer(
        CONSUMER,
        on_subscription_event,
        types=SUBSCRIPTION_EVENTS,
        batch_handler=on_subscription_events,
        pass_limit=RUN_BATCH,
    )
]
