"""Job handlers by kind, and the periodic jobs the scheduler keeps enqueued."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.outside import OutsideWork
from tollway.kernel.relay import Consumer
from tollway.kernel.settings import Settings
from tollway.payments import Providers

Handler = Callable[[Context, dict[str, Any]], None] | OutsideWork
"""A job handler: does its work in ``ctx.session`` and never commits; or, for jobs
that wait on the network, an :class:`OutsideWork` in three steps."""


@dataclass(frozen=True)
class Periodic:
    """Run ``kind`` once every ``every``, across all workers together."""

    kind: str
    every: timedelta


@dataclass
class Registry:
    """What the runtime knows how to run."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    periodic: list[Periodic] = field(default_factory=list)
    consumers: list[Consumer] = field(default_factory=list)
    """Readers of the outbox, in the order the relay serves them."""
    claim_apart: set[str] = field(default_factory=set)
    """Kinds a worker claims at most one of at a time (the relay's shards), so that
    several workers run them side by side instead of one running them in turn."""
    providers: Providers | None = None
    """The payment providers the jobs (and the API of the same process) use."""

    def register(self, kind: str, handler: Handler) -> None:
        if kind in self.handlers:
            raise ValueError(f"job kind {kind!r} is already registered")
        self.handlers[kind] = handler

    def register_consumer(self, consumer: Consumer) -> None:
        if any(c.name == consumer.name for c in self.consumers):
            raise ValueError(f"event consumer {consumer.name!r} is already registered")
        self.consumers.append(consumer)

    def include(
        self,
        handlers: Mapping[str, Handler],
        periodic: list[Periodic] | None = None,
        consumers: list[Consumer] | None = None,
    ) -> None:
        for kind, handler in handlers.items():
            self.register(kind, handler)
        self.periodic.extend(periodic or [])
        for consumer in consumers or []:
            self.register_consumer(consumer)


def default_registry(
    settings: Settings | None = None,
    *,
    wall_clock: Clock | None = None,
    providers: Providers | None = None,
) -> Registry:
    """Every handler of every domain, the periodic schedule and the event consumers.

    ``settings`` configure outgoing channels (SMTP, private targets, timeouts);
    ``wall_clock`` is the real time stamped on webhook attempts (tests inject one);
    ``providers`` the payment providers (built from ``settings`` by default).
    """
    from tollway.dunning import tasks as dunning_tasks
    from tollway.invoicing import tasks as invoicing_tasks
    from tollway.jobs import housekeeping, retention, stalled
    from tollway.jobs.relay import tasks as relay_tasks
    from tollway.kernel.clock import SystemClock
    from tollway.kernel.settings import get_settings
    from tollway.ledger import tasks as ledger_tasks
    from tollway.metering import tasks as metering_tasks
    from tollway.notifications import tasks as notification_tasks
    from tollway.payments import tasks as payment_tasks
    from tollway.quotas import tasks as quota_tasks
    from tollway.subscriptions import tasks as subscription_tasks
    from tollway.webhooks import tasks as webhook_tasks

    settings = settings or get_settings()
    wall_clock = wall_clock or SystemClock()
    providers = providers or Providers(settings)
    registry = Registry(providers=providers)
    registry.include(housekeeping.HANDLERS, housekeeping.PERIODIC)
    registry.include(stalled.HANDLERS, stalled.PERIODIC)
    registry.include(retention.HANDLERS, retention.PERIODIC)
    registry.include(subscription_tasks.HANDLERS)
    registry.include(invoicing_tasks.HANDLERS, consumers=invoicing_tasks.CONSUMERS)
    registry.include(
        metering_tasks.HANDLERS,
        [Periodic(kind, every) for kind, every in metering_tasks.PERIODIC.items()],
    )
    registry.include(*relay_tasks(registry, shards=settings.relay_shards))
    webhooks = webhook_tasks.build(settings, wall_clock=wall_clock)
    registry.include(webhooks.handlers, consumers=webhooks.consumers)
    notifications = notification_tasks.build(settings)
    registry.include(notifications.handlers, consumers=notifications.consumers)
    registry.include(quota_tasks.HANDLERS)
    registry.include(ledger_tasks.HANDLERS, consumers=ledger_tasks.CONSUMERS)
    payment_jobs = payment_tasks.build(providers)
    registry.include(
        payment_jobs.handlers,
        [Periodic(kind, every) for kind, every in payment_jobs.periodic.items()],
        payment_jobs.consumers,
    )
    registry.include(dunning_tasks.HANDLERS, consumers=dunning_tasks.CONSUMERS)
    return registry
