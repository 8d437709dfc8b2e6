"""procrastinate: a workflow is a chain of jobs, one task per step, each deferring the next.

Each worker process runs one procrastinate worker (psycopg 3 pool, LISTEN/NOTIFY on)
with ``CONCURRENCY`` jobs at a time; procrastinate fetches one job per query and
finishes each with a statement of its own, so ``Trial.batch`` has nothing to set.
Jobs are kept after they succeed (procrastinate's default), so the run can be
checked in the database afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from time import monotonic
from typing import Any

import asyncpg

from bench.e2e.harness import Gate
from bench.e2e.samples import Recorder
from bench.e2e.systems import QUEUE, Endpoint
from bench.e2e.trial import Order, Trial

CONCURRENCY = 20
"""Jobs one worker process runs at once."""
POOL_SIZE = 10
"""Connections of each process's psycopg pool (fetches, finishes, defers, LISTEN)."""
DEFER_CHUNK = 1_000
TUNED = {"workers": 2}
"""Tried on the 2-core machine: 1, 2 and 4 processes x concurrency 10, 20 and 50 x pools of
5, 10 and 20. Two processes of 20 gave the best run and a median as good as any other."""


def task_name(step: int) -> str:
    return f"step{step}"


def worker_options() -> dict[str, Any]:
    return {"concurrency": CONCURRENCY, "listen_notify": True,
            "fetch_job_polling_interval": 1.0, "delete_jobs": "never",
            "install_signal_handlers": False}


def _app(dsn: str, pool_size: int) -> Any:
    """A procrastinate App on ``dsn`` with a psycopg pool of ``pool_size``."""
    from procrastinate import App, PsycopgConnector  # noqa: PLC0415 - only when it runs

    return App(connector=PsycopgConnector(conninfo=dsn, min_size=pool_size,
                                          max_size=pool_size))


class Procrastinate:
    name = "procrastinate"

    def settings(self, trial: Trial) -> dict[str, Any]:
        import procrastinate  # noqa: PLC0415

        return {
            "version": procrastinate.__version__,
            "processes": f"{trial.workers} processes x 1 worker (psycopg pool of {POOL_SIZE})",
            "worker": worker_options(),
            "workload": f"{trial.steps} tasks; each no-op task defers the next step's job "
                        f"(one INSERT, committed before the task returns)",
            "durability": "every fetch, finish and defer is its own committed statement",
        }

    def tuned(self, trial: Trial) -> Trial:
        return trial.but(**TUNED)

    @asynccontextmanager
    async def serving(self, dsn: str, trial: Trial) -> AsyncIterator[Endpoint]:
        yield Endpoint(dsn)

    async def prepare(self, endpoint: Endpoint, trial: Trial) -> None:
        app = _app(endpoint.dsn, 1)
        async with app.open_async():
            await app.schema_manager.apply_schema_async()

    async def start(self, endpoint: Endpoint, trial: Trial, first: int, count: int) -> None:
        app = _app(endpoint.dsn, 1)
        async with app.open_async():
            task = app.configure_task(name=task_name(1), queue=QUEUE)
            for chunk in range(first, first + count, DEFER_CHUNK):
                numbers = range(chunk, min(chunk + DEFER_CHUNK, first + count))
                await task.batch_defer_async(*({"workflow": n} for n in numbers))

    async def finished(self, endpoint: Endpoint, trial: Trial) -> int:
        connection = await asyncpg.connect(endpoint.dsn)
        try:
            count: int = await connection.fetchval(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = $1 "
                "AND status = 'succeeded'", task_name(trial.steps))
        finally:
            await connection.close()
        return count


SYSTEM = Procrastinate()


# -- the worker side (runs in the worker processes) -----------------------------------


async def work(order: Order, gate: Gate) -> Recorder:
    """One procrastinate worker from the go until the stop."""
    trial, recorder = order.trial, gate.recorder
    app = _app(order.dsn, POOL_SIZE)
    async with app.open_async():
        for step in range(1, trial.steps + 1):
            app.task(name=task_name(step), queue=QUEUE)(
                _task(app, step, trial.steps, recorder))
        gate.ready()
        await gate.wait_go()
        running = asyncio.create_task(app.run_worker_async(queues=[QUEUE], **worker_options()))
        await gate.wait_stop()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    return recorder


def _task(app: Any, step: int, steps: int,
          recorder: Recorder) -> Callable[..., Awaitable[None]]:
    """The no-op of ``step``: defer the next step's job (unless last), note the times."""
    following = app.configure_task(name=task_name(step + 1), queue=QUEUE)

    async def perform(workflow: int) -> None:
        recorder.lease((workflow, step))
        if step < steps:
            sent = monotonic()
            await following.defer_async(workflow=workflow)
            done = monotonic()
            recorder.made_ready((workflow, step + 1), done)
            recorder.round_trip(done - sent)
        recorder.done(1, monotonic())

    perform.__name__ = task_name(step)
    return perform
