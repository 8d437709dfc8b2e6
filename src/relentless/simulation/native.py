"""The Cython simulation loop behind a checked Python call, split across threads.

This is the only module that imports relentless._simulate. Runs are cut into chunks
that the threads take in turn; each chunk runs with the GIL released and its own
per-node totals (in a block the loop allocates, so the threads share no cache line
they write), and since every run has its own random stream the answer does not
depend on the number of threads or of chunks.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from relentless.errors import InternalError, KernelUnavailable
from relentless.simulation.runs import RunArrays, empty_runs
from relentless.simulation.tables import SimulationTables

try:
    from relentless import _simulate
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise KernelUnavailable(
        "the compiled simulation loop (relentless._simulate) is missing or does not load "
        f"({exc}); rebuild it with `pip install -e .` (needs a C compiler, Cython and NumPy)"
    ) from exc

_FAILURES = {
    -1: "simulation tables have the wrong types or lengths; build them with build_tables",
    -2: "the simulation outputs have the wrong types or lengths, or max_steps < 1",
    -3: "simulation tables point outside their own arrays; build them with build_tables",
}

MIN_RUNS_PER_THREAD = 10_000
"""Fewer runs than this are not worth a thread of their own."""

CHUNKS_PER_THREAD = 8
"""Runs are cut into this many chunks per thread, which the threads take in turn: a
thread on a core that another process is using then does fewer of them, instead of
holding the others up at the end."""

MIN_RUNS_PER_CHUNK = 100_000
"""Smaller chunks are not cut further (each call checks and packs the tables once)."""

CHUNK_ALIGNMENT = 64
"""Chunks start at a multiple of this many runs, so that two threads writing the ends of
their slices of the per-run outputs never share a cache line (64 int8 entries)."""


def default_threads() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def simulate(tables: SimulationTables, runs: int, seed: int, max_steps: int,
             threads: int | None = None) -> RunArrays:
    """``runs`` runs seeded ``seed`` on up to ``threads`` threads (default: every core)."""
    wanted = threads if threads is not None else default_threads()
    workers = max(1, min(wanted, runs // MIN_RUNS_PER_THREAD if threads is None else runs))
    chunks = workers if workers == 1 else max(workers, min(
        workers * CHUNKS_PER_THREAD, runs // MIN_RUNS_PER_CHUNK))
    out = empty_runs(runs, tables.node_count)
    bounds = np.linspace(0, runs, chunks + 1).astype(np.int64)
    bounds[1:-1] -= bounds[1:-1] % CHUNK_ALIGNMENT
    totals = [empty_runs(0, tables.node_count) for _ in range(chunks)]

    def chunk(index: int) -> int:
        low, high = int(bounds[index]), int(bounds[index + 1])
        mine = totals[index]
        return _simulate.simulate(
            tables, low, seed, max_steps, out.end_node[low:high], out.status[low:high],
            out.time_ms[low:high], out.steps[low:high],
            mine.node_time_ms, mine.node_visits, mine.node_attempts)

    if chunks == 1:
        results = [chunk(0)]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(chunk, range(chunks)))
    for result in results:
        if result < 0:
            raise InternalError(_FAILURES.get(result, f"unknown simulation failure {result}"))
    for mine in totals:
        out.node_time_ms[:] += mine.node_time_ms
        out.node_visits[:] += mine.node_visits
        out.node_attempts[:] += mine.node_attempts
    return out
