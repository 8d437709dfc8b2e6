"""Hypothesis profiles: a seeded, bounded one for CI and a deeper one on request."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=100, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "nightly", max_examples=5_000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("RELENTLESS_HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["tests.postgres"]
