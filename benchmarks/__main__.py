"""``python -m benchmarks [NAME-PREFIX ...] [--backend sqlite|postgresql]``.

Runs every registered benchmark on every backend and prints one JSON line per
figure. A backend that cannot be reached gives ``{"skipped": reason}`` lines.
"""

from __future__ import annotations

import argparse
import importlib

from benchmarks.harness import BACKENDS, Benchmark, emit, run_benchmark

MODULES = (
    "benchmarks.jobs",
    "benchmarks.testclocks",
    "benchmarks.metering",
    "benchmarks.quotas",
    "benchmarks.invoice_runs",
)
"""Benchmark modules, each with a ``BENCHMARKS`` list; later issues add theirs here."""


def registered() -> list[Benchmark]:
    found: list[Benchmark] = []
    for name in MODULES:
        found.extend(importlib.import_module(name).BENCHMARKS)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="run only benchmarks starting with these")
    parser.add_argument("--backend", action="append", choices=BACKENDS, help="repeatable")
    args = parser.parse_args(argv)
    backends = args.backend or list(BACKENDS)
    for benchmark in registered():
        if args.names and not any(benchmark.name.startswith(n) for n in args.names):
            continue
        for backend in backends:
            if backend in benchmark.backends:
                emit(run_benchmark(benchmark, backend))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
