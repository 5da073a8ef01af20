"""The worker loop: keep periodic jobs enqueued, run due jobs, sleep when idle.

``tollway worker`` runs it standalone (start as many as you like on PostgreSQL);
``tollway serve`` runs the same loop in a thread.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from tollway.jobs.registry import Registry
from tollway.jobs.runner import DEFAULT_BATCH, DEFAULT_LEASE, run_due
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.jobs import enqueue

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STOP_TIMEOUT_SECONDS = 30.0
"""How long a stopping server waits for its embedded worker's jobs in hand."""


def periodic_slots(registry: Registry, now: datetime) -> dict[str, int]:
    """The current slot number of each periodic kind: slots are ``every`` long from 1970."""
    return {p.kind: (now - _EPOCH) // p.every for p in registry.periodic}


def schedule_periodic(
    factory: sessionmaker[Session], registry: Registry, clock: Clock
) -> dict[str, int]:
    """Enqueue each periodic job for the current slot, once across all workers.

    The job is due at the start of its slot and deduplicated by (kind, slot), also
    when several workers race. Returns the slots now scheduled, by kind.
    """
    now = clock.now()
    slots = periodic_slots(registry, now)
    if not slots:
        return slots
    with unit_of_work(factory) as session:
        ctx = Context(session=session, product_id="", clock=clock, actor="scheduler")
        for periodic in registry.periodic:
            slot = slots[periodic.kind]
            enqueue(
                ctx,
                periodic.kind,
                {},
                due_at=_EPOCH + slot * periodic.every,
                dedup_key=f"periodic:{periodic.kind}:{slot}",
                product_scoped=False,
            )
    return slots


def new_worker_id() -> str:
    """Unique per worker: host, process and a random part (threads share a pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Runs jobs until told to stop."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        registry: Registry,
        clock: Clock,
        *,
        poll_seconds: float = 1.0,
        lease: timedelta = DEFAULT_LEASE,
        batch: int = DEFAULT_BATCH,
        worker_id: str | None = None,
    ) -> None:
        self.factory = factory
        self.registry = registry
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lease = lease
        self.batch = batch
        self.worker_id = worker_id or new_worker_id()
        self._scheduled: dict[str, int] = {}

    def tick(self) -> int:
        """Schedule periodic jobs (once per slot) and run one batch of due jobs."""
        if periodic_slots(self.registry, self.clock.now()) != self._scheduled:
            self._scheduled = schedule_periodic(self.factory, self.registry, self.clock)
        return run_due(
            self.factory,
            self.registry,
            self.clock,
            worker_id=self.worker_id,
            lease=self.lease,
            batch=self.batch,
        )

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; survives database hiccups."""
        log.info("worker %s started", self.worker_id)
        while not stop.is_set():
            try:
                ran = self.tick()
            except Exception:
                log.exception("worker tick failed; retrying after %.1fs", self.poll_seconds)
                ran = 0
            if ran == 0:
                stop.wait(self.poll_seconds)
        log.info("worker %s stopped", self.worker_id)

    def start_thread(self, stop: threading.Event | None = None) -> RunningWorker:
        """Run in a daemon thread until ``stop`` (a new event when not given) is set."""
        if stop is None:
            stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="tollway-worker", daemon=True)
        thread.start()
        return RunningWorker(thread, stop)


@dataclass(frozen=True)
class RunningWorker:
    """A worker loop running in a thread."""

    thread: threading.Thread
    stop_event: threading.Event

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Let the loop finish the jobs in hand, then wait for it (at most ``timeout``
        seconds: a job still running then is taken over when its lease expires)."""
        self.stop_event.set()
        self.thread.join(timeout)
        if self.thread.is_alive():
            log.warning("worker thread still busy after %.0fs; leaving it", timeout)


def stop_on_signals(stop: threading.Event) -> None:
    """On the first SIGINT or SIGTERM put the handlers that were there back (a second
    signal stops the process at once), then set ``stop``: the loop finishes the jobs
    in hand and returns. A signal that was ignored stays ignored. Main thread only,
    and that thread must not run the loop itself: a handler runs in it between two
    steps of whatever it does, and setting the event while the loop's own wait holds
    the event's lock would block forever."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handle(signum: int, frame: object) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("stopping after the jobs in hand (signal again to stop now)")
        stop.set()

    for sig, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, handle)
