"""Job handlers and the event consumer of webhooks."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.outside import OutsideWork
from tollway.kernel.relay import Consumer
from tollway.kernel.settings import Settings
from tollway.webhooks.service import (
    DELIVER_KIND,
    Sender,
    complete_attempt,
    fan_out,
    prepare_attempt,
    send_attempt,
)

CONSUMER = "webhooks"

JobHandler = Callable[[Context, dict[str, Any]], None] | OutsideWork


@dataclass(frozen=True)
class Tasks:
    handlers: dict[str, JobHandler]
    consumers: list[Consumer]


def _jitter() -> float:
    return secrets.randbelow(1_000_000) / 1_000_000


def build(settings: Settings, *, wall_clock: Clock, jitter: Callable[[], float] = _jitter) -> Tasks:
    """The delivery job bound to ``wall_clock`` (real time for ``webhook-timestamp``)."""
    sender = Sender(
        wall_clock=wall_clock,
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private=settings.allow_private_targets,
        jitter=jitter,
    )
    return Tasks(
        handlers={
            DELIVER_KIND: OutsideWork(
                prepare=partial(prepare_attempt, sender=sender),
                perform=partial(send_attempt, sender=sender),
                complete=partial(complete_attempt, sender=sender),
            )
        },
        consumers=[Consumer(CONSUMER, fan_out)],
    )
