"""Metering jobs: forget refusals older than 30 days.

``PERIODIC`` maps job kinds to their interval (metering sits below the jobs
package, so :func:`tollway.jobs.registry.default_registry` wraps them).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tollway.kernel.context import Context
from tollway.metering.repository import prune_rejections

REJECTION_RETENTION = timedelta(days=30)


def prune_old_rejections(ctx: Context, payload: dict[str, Any]) -> None:
    """Delete recorded refusals older than 30 days, in every product."""
    prune_rejections(ctx.session, before=ctx.now() - REJECTION_RETENTION)


HANDLERS: dict[str, Callable[[Context, dict[str, Any]], None]] = {
    "metering.prune_rejections": prune_old_rejections,
}
PERIODIC: dict[str, timedelta] = {"metering.prune_rejections": timedelta(days=1)}
