"""Job handlers by kind, and the periodic jobs the scheduler keeps enqueued."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tollway.kernel.context import Context

Handler = Callable[[Context, dict[str, Any]], None]
"""A job handler: does its work in ``ctx.session`` and never commits."""


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

    def register(self, kind: str, handler: Handler) -> None:
        if kind in self.handlers:
            raise ValueError(f"job kind {kind!r} is already registered")
        self.handlers[kind] = handler

    def include(
        self, handlers: Mapping[str, Handler], periodic: list[Periodic] | None = None
    ) -> None:
        for kind, handler in handlers.items():
            self.register(kind, handler)
        self.periodic.extend(periodic or [])


def default_registry() -> Registry:
    """Every handler of every domain, and the periodic schedule."""
    from tollway.jobs import housekeeping
    from tollway.metering import tasks as metering_tasks
    from tollway.quotas import tasks as quota_tasks
    from tollway.subscriptions import tasks as subscription_tasks

    registry = Registry()
    registry.include(housekeeping.HANDLERS, housekeeping.PERIODIC)
    registry.include(subscription_tasks.HANDLERS)
    registry.include(
        metering_tasks.HANDLERS,
        [Periodic(kind, every) for kind, every in metering_tasks.PERIODIC.items()],
    )
    registry.include(quota_tasks.HANDLERS)
    return registry
