"""One measured run of one system: a fresh database, its server if any, its workers.

The order is the same for every system: create the database, start what serves it,
set up the schema, start the workflows (all of them, unless the trial paces
arrivals), CHECKPOINT, spawn the worker processes and wait until each is connected,
then open the gate. The clock is what the workers saw: from the first step leased to
the last one acknowledged, so process start-up and connecting count for no one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bench.e2e import database
from bench.e2e.harness import Pool
from bench.e2e.samples import Summary, summarise
from bench.e2e.systems import Endpoint, System, load
from bench.e2e.trial import Order, Trial

PACE_TICK_S = 0.02
"""Paced runs start a small batch of workflows this often."""

Progress = Callable[[int], None]
"""Told the steps finished so far, several times a second."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one run measured, and whether every workflow reached its end."""

    trial: Trial
    summary: Summary
    finished: int
    start_s: float
    capped: bool

    @property
    def steps_per_s(self) -> float:
        return self.summary.steps_per_s

    @property
    def complete(self) -> bool:
        """Every workflow reached its leaf, as the database says after the run."""
        return self.finished == self.trial.workflows

    def as_dict(self) -> dict[str, Any]:
        """The figures; workflows/s is steps/s over steps per workflow, which a capped run
        (whose workflows are mostly part-way when it stops) measures as well as a full one."""
        summary = self.summary
        return {"steps_per_s": round(summary.steps_per_s),
                "workflows_per_s": round(summary.steps_per_s / self.trial.steps),
                "seconds": round(summary.seconds, 3), "steps": summary.steps,
                "workflows_finished": self.finished, "complete": self.complete,
                "capped_at_s": self.trial.timeout_s if self.capped else None,
                "lease_ms": summary.lease_ms.as_dict(),
                "round_trip_ms": summary.round_trip_ms.as_dict()}


class Watcher(Protocol):
    """Something that observes the system's server process while the workers run."""

    async def start(self, pid: int) -> None: ...

    async def stop(self) -> None: ...


async def run(server_dsn: str, trial: Trial, progress: Progress,
              watcher: Watcher | None = None) -> Outcome:
    """Run ``trial`` on a database of its own, dropped afterwards.

    ``watcher`` (a profiler) watches the system's server process, if it has one, from
    the go until the last step is done.
    """
    system = load(trial.system)
    name = database.unique_name(trial.system)
    dsn = await database.create_database(server_dsn, name)
    try:
        async with system.serving(dsn, trial) as endpoint:
            if endpoint.server_pid is None:
                watcher = None
            return await _measure(system, endpoint, trial, progress, watcher)
    finally:
        await database.drop_database(server_dsn, name)


async def _measure(system: System, endpoint: Endpoint, trial: Trial, progress: Progress,
                   watcher: Watcher | None) -> Outcome:
    await system.prepare(endpoint, trial)
    began = time.perf_counter()
    if not trial.paced:
        await system.start(endpoint, trial, 0, trial.workflows)
    start_s = time.perf_counter() - began
    await database.checkpoint(endpoint.dsn)
    orders = [Order(trial, index, endpoint.dsn, endpoint.url, endpoint.token)
              for index in range(trial.workers)]
    async with Pool(orders) as pool:
        await pool.ready()
        if watcher is not None and endpoint.server_pid is not None:
            await watcher.start(endpoint.server_pid)
        pool.go()
        pacer = asyncio.create_task(_pace(system, endpoint, trial)) if trial.paced else None
        try:
            reached = await pool.until(trial.total_steps, trial.timeout_s, progress)
        finally:
            if watcher is not None:
                await watcher.stop()
            if pacer is not None:
                pacer.cancel()
                await asyncio.gather(pacer, return_exceptions=True)
        recorders = await pool.collect()
    finished = await system.finished(endpoint, trial)
    return Outcome(trial, summarise(recorders), finished, start_s, capped=not reached)


async def _pace(system: System, endpoint: Endpoint, trial: Trial) -> None:
    """Start the trial's workflows at ``arrivals_per_s``, a small batch every tick."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    started = 0
    while started < trial.workflows:
        due = min(trial.workflows, int((loop.time() - began) * trial.arrivals_per_s) + 1)
        if due > started:
            await system.start(endpoint, trial, started, due - started)
            started = due
        await asyncio.sleep(PACE_TICK_S)
