"""Benchmarks: ``uv run python -m benchmarks`` (``make bench``) prints one JSON line per figure.

Every figure carries a baseline measured in the same run, on the same backend, so
numbers from different machines compare as ratios. Each benchmark module (``jobs``,
``testclocks``, ...) exposes ``BENCHMARKS``, a list of :class:`~benchmarks.harness.Benchmark`;
add a module and list it in ``benchmarks.__main__.MODULES``.
"""
