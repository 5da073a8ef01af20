"""Quota jobs: a grace period's end, and recounting counters after ingestion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from tollway.kernel.context import Context
from tollway.quotas.service.admin import evaluate_stale, grace_expired
from tollway.quotas.service.core import EVALUATE_JOB, GRACE_JOB


def _grace_expired(ctx: Context, payload: dict[str, Any]) -> None:
    grace_expired(
        ctx,
        payload["customer_id"],
        payload["metric"],
        datetime.fromisoformat(payload["period_start"]),
    )


def _evaluate(ctx: Context, payload: dict[str, Any]) -> None:
    evaluate_stale(ctx, payload.get("test_clock_id"))


HANDLERS: dict[str, Callable[[Context, dict[str, Any]], None]] = {
    GRACE_JOB: _grace_expired,
    EVALUATE_JOB: _evaluate,
}
