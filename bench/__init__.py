"""Benchmarks: pytest-benchmark suites (``pytest bench -m benchmark``) and ``python -m bench.*``."""
