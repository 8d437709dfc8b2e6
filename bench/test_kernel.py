"""pytest-benchmark suite of the transition kernel: ``pytest bench -m benchmark``.

Each case advances one batch through one implementation; compare the groups by batch
size in pytest-benchmark's table (``--benchmark-group-by=param:rows``).
"""

from __future__ import annotations

import pytest

from bench import workload

pytestmark = pytest.mark.benchmark

COMPILED = workload.definitions()
TABLES = workload.tables(COMPILED)
IMPLEMENTATIONS = workload.implementations(COMPILED)


@pytest.mark.parametrize("rows", workload.BATCH_SIZES)
@pytest.mark.parametrize("implementation", sorted(IMPLEMENTATIONS))
def test_advance_batch(benchmark, implementation: str, rows: int) -> None:  # type: ignore[no-untyped-def]
    batch = workload.batch(COMPILED, rows)
    advance = IMPLEMENTATIONS[implementation]
    moved = benchmark(advance, TABLES, batch.def_ids, batch.nodes, batch.labels,
                      batch.out_next, batch.out_status)
    assert moved == rows, "every row of the workload completes with an offered label"
