"""The context every service call runs in: session, tenant, clock and actor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tollway.kernel.clock import Clock, TestClock


@dataclass
class Context:
    """One unit of work on behalf of ``actor`` inside product ``product_id``.

    Services take it as their first argument and never commit; whoever built the
    context (a request, a CLI command, a job) owns the transaction. Repositories
    filter every read by ``product_id``, and by ``customer_scope`` when it is set.
    """

    session: Session
    product_id: str
    clock: Clock
    actor: str = "system"
    customer_scope: str | None = None
    """Internal id of the only customer a customer-scoped caller may reach."""
    _clock_times: dict[str, datetime] = field(default_factory=dict, repr=False)

    def now(self, test_clock_id: str | None = None) -> datetime:
        """Now on the system clock, or on the given test clock (a customer's)."""
        if test_clock_id is None:
            return self.clock.now()
        if test_clock_id not in self._clock_times:
            frozen = self.session.scalar(
                select(TestClock.frozen_time).where(
                    TestClock.id == test_clock_id, TestClock.product_id == self.product_id
                )
            )
            if frozen is None:
                raise LookupError(f"test clock {test_clock_id} does not exist")
            self._clock_times[test_clock_id] = frozen
        return self._clock_times[test_clock_id]

    def forget_clock(self, test_clock_id: str) -> None:
        """Drop a cached test-clock time after the clock moved."""
        self._clock_times.pop(test_clock_id, None)
