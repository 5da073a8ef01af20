"""Relaying in several worker processes, as that many ``tollway worker`` processes
with ``relay_shards`` set to their number do: each relays its shard of the outbox.

The processes start, connect and freeze their startup objects out of the cyclic GC
before the clock starts (a worker is long-lived); the clock runs from the moment
they are released together until the last one has caught up.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event, Semaphore

from sqlalchemy import Engine, event

from tollway.cli.main import freeze_long_lived
from tollway.jobs import Registry, Shard, relay_events
from tollway.kernel.clock import FixedClock
from tollway.kernel.db import make_engine, make_session_factory
from tollway.kernel.relay import Consumer


def count_statements(engine: Engine) -> tuple[list[int], Callable[..., None]]:
    """A counter of the statements ``engine`` executes from now on (its one element),
    and the listener that counts them (to remove with ``event.remove``)."""
    count = [0]

    def tick(*_: object) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", tick)
    return count, tick


def relay_in_processes(
    url: str, consumers: list[Consumer], clock: FixedClock, count: int
) -> tuple[int, float, int]:
    """Relay with ``count`` sharded relayers, one process each: (pairs handled,
    seconds, statements executed)."""
    spawn = multiprocessing.get_context("spawn")
    ready, go, results = spawn.Semaphore(0), spawn.Event(), spawn.Queue()
    processes = [
        spawn.Process(
            target=_relayer,
            args=(_Relayer(url, consumers, clock, Shard(index, count)), ready, go, results),
        )
        for index in range(count)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    outcomes = [_result(results, processes) for _ in processes]
    seconds = time.perf_counter() - started
    for process in processes:
        process.join()
    return sum(o[0] for o in outcomes), seconds, sum(o[1] for o in outcomes)


def _result(
    results: Queue[tuple[int, int]], processes: list[multiprocessing.process.BaseProcess]
) -> tuple[int, int]:
    """The next relayer's outcome; raises if a relayer died without one."""
    while True:
        try:
            return results.get(timeout=1)
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a relayer process died (exit code {dead[0]})") from None


@dataclass(frozen=True)
class _Relayer:
    """What one worker process relays, and where."""

    url: str
    consumers: list[Consumer]
    clock: FixedClock
    shard: Shard


def _relayer(job: _Relayer, ready: Semaphore, go: Event, results: Queue[tuple[int, int]]) -> None:
    engine = make_engine(job.url)
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    statements, _ = count_statements(engine)
    registry = Registry()
    registry.include({}, consumers=job.consumers)
    factory = make_session_factory(engine)
    freeze_long_lived()
    ready.release()
    go.wait()
    handled = relay_events(factory, registry, job.clock, shard=job.shard)
    results.put((handled, statements[0]))
    engine.dispose()
