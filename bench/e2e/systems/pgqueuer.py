"""pgqueuer: a workflow is a chain of jobs, one entrypoint per step, each enqueuing the next.

Each worker process runs one QueueManager (its own asyncpg connection for dequeues,
LISTEN/NOTIFY and the completion log) and enqueues the next step through a small
asyncpg pool, so a handler's write never waits behind the dequeue loop. Tables are
installed with pgqueuer's default durability (every table logged) and the server
commits synchronously, as for every system.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from importlib.metadata import version
from time import monotonic
from typing import Any

import asyncpg

from bench.e2e.harness import Gate
from bench.e2e.samples import Recorder
from bench.e2e.systems import Endpoint
from bench.e2e.trial import Order, Trial

ENQUEUE_POOL = 10
"""Connections per worker process for the handlers' enqueues."""
TUNED = {"workers": 1, "batch": 10}
"""Tried on the 2-core machine: 1 to 4 processes x batches of 5, 10, 20, 25, 50 and 100 x
enqueue pools of 1, 4, 10 and 20. One process with batches of 10 and a pool of 10 was
fastest; more processes contend for the same rows and wake each other on every NOTIFY."""


def entrypoint(step: int) -> str:
    return f"step{step}"


def queue_settings(trial: Trial) -> dict[str, Any]:
    """What every QueueManager runs with: the trial's batch, completions logged in batches."""
    return {"batch_size": trial.batch, "dequeue_timeout_s": 1.0,
            "max_concurrent_tasks": None, "log_aggregation_interval_s": 30.0}


class PgQueuer:
    name = "pgqueuer"

    def settings(self, trial: Trial) -> dict[str, Any]:
        return {
            "version": version("pgqueuer"),
            "processes": f"{trial.workers} processes x 1 QueueManager (asyncpg), "
                       f"enqueue pool of {ENQUEUE_POOL} connections each",
            "queue_manager": queue_settings(trial),
            "workload": f"{trial.steps} entrypoints; each no-op handler enqueues the next "
                        f"step's job (one INSERT, committed before the handler returns)",
            "durability": "pgqueuer default install (all tables logged); completions are "
                          "logged in batches of batch_size or every 0.1 s",
        }

    def tuned(self, trial: Trial) -> Trial:
        return trial.but(**TUNED)

    @asynccontextmanager
    async def serving(self, dsn: str, trial: Trial) -> AsyncIterator[Endpoint]:
        yield Endpoint(dsn)

    async def prepare(self, endpoint: Endpoint, trial: Trial) -> None:
        from pgqueuer import Queries  # noqa: PLC0415

        connection = await asyncpg.connect(endpoint.dsn)
        try:
            await Queries.from_asyncpg_connection(connection).install()
        finally:
            await connection.close()

    async def start(self, endpoint: Endpoint, trial: Trial, first: int, count: int) -> None:
        from pgqueuer import Queries  # noqa: PLC0415

        connection = await asyncpg.connect(endpoint.dsn)
        try:
            await Queries.from_asyncpg_connection(connection).enqueue(
                [entrypoint(1)] * count, [str(n).encode() for n in range(first, first + count)],
                [0] * count)
        finally:
            await connection.close()

    async def finished(self, endpoint: Endpoint, trial: Trial) -> int:
        connection = await asyncpg.connect(endpoint.dsn)
        try:
            count: int = await connection.fetchval(
                "SELECT count(*) FROM pgqueuer_log WHERE entrypoint = $1 "
                "AND status = 'successful'", entrypoint(trial.steps))
        finally:
            await connection.close()
        return count


SYSTEM = PgQueuer()


# -- the worker side (runs in the worker processes) -----------------------------------


async def work(order: Order, gate: Gate) -> Recorder:
    """One QueueManager from the go until the stop."""
    from pgqueuer import Queries, QueueManager  # noqa: PLC0415

    trial, recorder = order.trial, gate.recorder
    settings = queue_settings(trial)
    connection = await asyncpg.connect(order.dsn)
    pool = await asyncpg.create_pool(order.dsn, min_size=ENQUEUE_POOL, max_size=ENQUEUE_POOL)
    enqueue = Queries.from_asyncpg_pool(pool).enqueue
    manager = QueueManager(Queries.from_asyncpg_connection(connection))
    for step in range(1, trial.steps + 1):
        manager.entrypoint(entrypoint(step))(_handler(step, trial.steps, enqueue, recorder))
    gate.ready()
    await gate.wait_go()
    running = asyncio.create_task(manager.run(
        dequeue_timeout=timedelta(seconds=settings["dequeue_timeout_s"]),
        batch_size=trial.batch,
        log_aggregation_interval=timedelta(seconds=settings["log_aggregation_interval_s"])))
    await gate.wait_stop()
    manager.shutdown.set()
    await running
    await pool.close()
    await connection.close()
    return recorder


def _handler(step: int, steps: int, enqueue: Callable[..., Awaitable[Any]],
             recorder: Recorder) -> Callable[[Any], Awaitable[None]]:
    """The no-op of ``step``: enqueue the next step's job (unless last), note the times."""

    async def handle(job: Any) -> None:
        workflow = int(job.payload)
        recorder.lease((workflow, step))
        if step < steps:
            sent = monotonic()
            await enqueue(entrypoint(step + 1), job.payload)
            done = monotonic()
            recorder.made_ready((workflow, step + 1), done)
            recorder.round_trip(done - sent)
        recorder.done(1, monotonic())

    return handle
