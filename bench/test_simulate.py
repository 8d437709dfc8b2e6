"""pytest-benchmark suite of the simulators: ``pytest bench -m benchmark -k simulate``.

Each case simulates one batch of runs of one workload with one implementation;
compare them grouped by run count (``--benchmark-group-by=param:runs``).
"""

from __future__ import annotations

import pytest

from bench import simulate

pytestmark = pytest.mark.benchmark

WORKLOADS = simulate.workloads()
CASES = [("cython_1", 100_000), ("cython_2", 100_000), ("cython_1", 1_000_000),
         ("numpy", 1_000), ("numpy", 100_000), ("python", 1_000)]


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
@pytest.mark.parametrize(("implementation", "runs"), CASES)
def test_simulate_runs(benchmark, workload: str, implementation: str, runs: int) -> None:  # type: ignore[no-untyped-def]
    run = simulate.runner(implementation, *WORKLOADS[workload])
    result = benchmark(run, runs)
    assert result.runs == runs and result.total_steps >= runs
