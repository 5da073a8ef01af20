"""Jobs that talk to the outside world (webhooks, email, Slack).

Such a job must not hold a database transaction while it waits on the network: on
SQLite every transaction holds the write lock, so one slow endpoint would stall
the whole application. An :class:`OutsideWork` handler is run in three steps:
``prepare`` in one transaction (which commits, leaving the job leased to its
worker), ``perform`` with no transaction open, and ``complete`` in a second
transaction that also marks the job done. If the worker dies between ``perform``
and ``complete`` the job runs again when its lease expires: the outside effect is
at least once (receivers deduplicate, e.g. by ``webhook-id``); the recorded
outcome is exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tollway.kernel.context import Context


@dataclass(frozen=True)
class OutsideWork:
    """A job handler in three steps; ``prepare`` returns ``None`` when there is
    nothing to do (then neither ``perform`` nor ``complete`` runs)."""

    prepare: Callable[[Context, dict[str, Any]], Any]
    perform: Callable[[Any], Any]
    complete: Callable[[Context, dict[str, Any], Any, Any], None]

    def run_at_once(self, ctx: Context, payload: dict[str, Any]) -> None:
        """All three steps in the caller's transaction (test clocks do this)."""
        prepared = self.prepare(ctx, payload)
        if prepared is not None:
            self.complete(ctx, payload, prepared, self.perform(prepared))
