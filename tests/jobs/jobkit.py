"""Helpers of the job runtime tests.

Every helper opens its own short transaction and commits it: on SQLite each
transaction begins with ``BEGIN IMMEDIATE``, so a session left open in the test
thread would block the runner's transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tollway.jobs import Registry, run_due
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import Job, enqueue
from tollway.kernel.outbox import Event, record_event


class Jobs:
    """Short committed transactions against the test database."""

    def __init__(self, factory: sessionmaker[Session], clock: Clock, product_id: str) -> None:
        self.factory = factory
        self.clock = clock
        self.product_id = product_id

    def context(self, session: Session) -> Context:
        return Context(session=session, product_id=self.product_id, clock=self.clock)

    def enqueue(self, kind: str, payload: dict[str, Any] | None = None, **options: Any) -> str:
        with unit_of_work(self.factory) as session:
            return enqueue(self.context(session), kind, payload or {}, **options).id

    def get(self, job_id: str) -> Job:
        with unit_of_work(self.factory) as session:
            return session.get_one(Job, job_id)

    def all(self) -> list[Job]:
        with unit_of_work(self.factory) as session:
            return list(session.scalars(select(Job).order_by(Job.id)))

    def count(self) -> int:
        with unit_of_work(self.factory) as session:
            return session.scalar(select(func.count()).select_from(Job)) or 0

    def events(self, event_type: str) -> list[Event]:
        with unit_of_work(self.factory) as session:
            return list(
                session.scalars(select(Event).where(Event.type == event_type).order_by(Event.id))
            )

    def run_due(self, registry: Registry, *, worker_id: str = "worker-a", **options: Any) -> int:
        return run_due(self.factory, registry, self.clock, worker_id=worker_id, **options)

    def drain(self, registry: Registry, *, worker_id: str = "worker-a") -> int:
        """Run batches until nothing is due; returns how many jobs ran."""
        total = 0
        while ran := self.run_due(registry, worker_id=worker_id):
            total += ran
        return total


def recording(
    calls: list[tuple[datetime, dict[str, Any]]], event_type: str | None = None
) -> Callable[[Context, dict[str, Any]], None]:
    """A handler that notes (now, payload) and optionally writes an outbox event."""

    def handler(ctx: Context, payload: dict[str, Any]) -> None:
        calls.append((ctx.now(), payload))
        if event_type is not None:
            record_event(ctx, event_type, payload)

    return handler
