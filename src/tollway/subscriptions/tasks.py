"""Job handlers: renewals, trial warnings and ends, automatic resumes.

Each payload names the instant it was scheduled for; a subscription that moved
on meanwhile (canceled, changed, trial extended) makes the job a no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from tollway.kernel.context import Context
from tollway.subscriptions.service.common import RENEW, RESUME, TRIAL_END, TRIAL_WILL_END
from tollway.subscriptions.service.timeline import auto_resume, end_trial, renew, trial_will_end

Handler = Callable[[Context, dict[str, Any]], None]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _renew(ctx: Context, payload: dict[str, Any]) -> None:
    renew(ctx, payload["subscription_id"], _at(payload["period_end"]))


def _trial_will_end(ctx: Context, payload: dict[str, Any]) -> None:
    trial_will_end(ctx, payload["subscription_id"], _at(payload["trial_end"]))


def _trial_end(ctx: Context, payload: dict[str, Any]) -> None:
    end_trial(ctx, payload["subscription_id"], _at(payload["trial_end"]))


def _resume(ctx: Context, payload: dict[str, Any]) -> None:
    auto_resume(ctx, payload["subscription_id"], _at(payload["resumes_at"]))


HANDLERS: dict[str, Handler] = {
    RENEW: _renew,
    TRIAL_WILL_END: _trial_will_end,
    TRIAL_END: _trial_end,
    RESUME: _resume,
}
