"""The charge job and the invoice-event consumer of payments, bound to the
process's providers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
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
from tollway.payments.service.outcomes import CANCEL_JOB, CHARGE_JOB, REFUND_JOB
from tollway.payments.service.settlement import (
    complete_cancel,
    complete_refund,
    perform_cancel,
    perform_refund,
    prepare_cancel,
    prepare_refund,
)
from tollway.payments.service.stale import PERIODIC, SWEEP_JOB, sweep_processing

CONSUMER = "payments"
INVOICE_EVENTS = frozenset(("invoice.finalized", "invoice.paid", "invoice.voided"))

JobHandler = Callable[[Context, dict[str, Any]], None] | OutsideWork


@dataclass(frozen=True)
class Tasks:
    handlers: dict[str, JobHandler]
    consumers: list[Consumer]
    periodic: dict[str, timedelta]
    """Job kinds the scheduler runs every so often, and how often."""


def build(providers: Providers) -> Tasks:
    """The ``payments.charge``, ``payments.refund`` and ``payments.cancel_charge`` jobs
    and the ``payments`` consumer of invoice events."""
    return Tasks(
        handlers={
            CHARGE_JOB: OutsideWork(
                prepare=prepare_charge,
                perform=partial(perform_charge, providers=providers),
                complete=complete_charge,
            ),
            REFUND_JOB: OutsideWork(
                prepare=prepare_refund,
                perform=partial(perform_refund, providers=providers),
                complete=complete_refund,
            ),
            SWEEP_JOB: sweep_processing,
            CANCEL_JOB: OutsideWork(
                prepare=prepare_cancel,
                perform=partial(perform_cancel, providers=providers),
                complete=complete_cancel,
            ),
        },
        consumers=[
            Consumer(
                CONSUMER, partial(on_invoice_events, providers=providers), types=INVOICE_EVENTS
            )
        ],
        periodic=PERIODIC,
    )
