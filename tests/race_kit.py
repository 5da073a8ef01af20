"""Racing work on real threads: everyone starts together, outcomes are counted."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tollway.kernel.errors import Conflict


def race(*work: Callable[[], None]) -> list[str]:
    """Run each job on its own thread, released at once by a barrier; the sorted
    outcomes, ``ok`` or ``conflict`` (a :class:`Conflict` raised)."""
    barrier = threading.Barrier(len(work))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
            outcome = "ok"
        except Conflict:
            outcome = "conflict"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)
