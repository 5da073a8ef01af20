"""The job runtime: registry, runner, worker loop and test clocks."""

from tollway.jobs.registry import Handler, Periodic, Registry, default_registry
from tollway.jobs.relay import Shard, relay, relay_events, relay_test_clock
from tollway.jobs.runner import backoff, run_due
from tollway.jobs.testclocks import advance_test_clock, create_test_clock
from tollway.jobs.worker import Worker, schedule_periodic, stop_on_signals

__all__ = [
    "Handler",
    "Periodic",
    "Registry",
    "Shard",
    "Worker",
    "advance_test_clock",
    "backoff",
    "create_test_clock",
    "default_registry",
    "relay",
    "relay_events",
    "relay_test_clock",
    "run_due",
    "schedule_periodic",
    "stop_on_signals",
]
