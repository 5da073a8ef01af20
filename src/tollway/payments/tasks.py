"""The charge job and the invoice-event consumer of payments, bound to the
process's providers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from tollway.kernel.context import Context
from tollway.kernel.outside import OutsideWork
from tollway.kernel.relay import Consumer
from tollway.payments.gateway import Providers
from tollway.payments.service.charging import (
    complete_charge,
    on_invoice_events,
    perform_charge,
    prepare_charge,
)
from tollway.payments.service.outcomes import CHARGE_JOB

CONSUMER = "payments"
INVOICE_EVENTS = frozenset(("invoice.finalized", "invoice.paid", "invoice.voided"))

JobHandler = Callable[[Context, dict[str, Any]], None] | OutsideWork


@dataclass(frozen=True)
class Tasks:
    handlers: dict[str, JobHandler]
    consumers: list[Consumer]


def build(providers: Providers) -> Tasks:
    """The ``payments.charge`` job and the ``payments`` consumer of invoice events."""
    return Tasks(
        handlers={
            CHARGE_JOB: OutsideWork(
                prepare=prepare_charge,
                perform=partial(perform_charge, providers=providers),
                complete=complete_charge,
            )
        },
        consumers=[
            Consumer(
                CONSUMER, partial(on_invoice_events, providers=providers), types=INVOICE_EVENTS
            )
        ],
    )
