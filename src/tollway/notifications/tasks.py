"""Job handlers and the event consumer of notifications."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from tollway.kernel.context import Context
from tollway.kernel.outside import OutsideWork
from tollway.kernel.relay import Consumer
from tollway.kernel.settings import Settings
from tollway.notifications.channels import Outbound
from tollway.notifications.events import NOTIFICATION_TYPES
from tollway.notifications.service import (
    SEND_KIND,
    complete_send,
    notify_event,
    perform_send,
    prepare_send,
)

CONSUMER = "notifications"

JobHandler = Callable[[Context, dict[str, Any]], None] | OutsideWork


@dataclass(frozen=True)
class Tasks:
    handlers: dict[str, JobHandler]
    consumers: list[Consumer]


def build(settings: Settings) -> Tasks:
    """The send job and the consumer, bound to the process's SMTP and HTTP settings."""
    outbound = Outbound(
        smtp_url=settings.smtp_url,
        smtp_from=settings.smtp_from,
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private=settings.allow_private_targets,
    )
    return Tasks(
        handlers={
            SEND_KIND: OutsideWork(
                prepare=prepare_send,
                perform=partial(perform_send, outbound=outbound),
                complete=complete_send,
            )
        },
        consumers=[
            Consumer(
                CONSUMER,
                partial(notify_event, outbound=outbound),
                types=frozenset(NOTIFICATION_TYPES),
            )
        ],
    )
