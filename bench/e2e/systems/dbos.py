"""DBOS Transact: a workflow of ``steps`` no-op async steps, run from a DBOS queue.

Workflows are enqueued (in one transaction, through DBOSClient) before the workers
go; each worker process launches DBOS, which polls the queue and runs up to
``WORKER_CONCURRENCY`` workflows at once. DBOS checkpoints every step's result in
its system database before the next step starts: that write is what the other
systems' completion is, and its time is the "round trip" reported for DBOS.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import monotonic
from typing import Any

import asyncpg

from bench.e2e.database import sqlalchemy_url
from bench.e2e.harness import Gate
from bench.e2e.samples import Key, Recorder
from bench.e2e.systems import QUEUE, Endpoint
from bench.e2e.trial import Order, Trial

APPLICATION = "relentless-e2e"
WORKFLOW = "e2e_chain"
STEP = "e2e_step"
WORKER_CONCURRENCY = 50
"""Workflows one worker process runs at once (the queue's per-process limit)."""
POLLING_INTERVAL_S = 0.1
"""How often each process's queue thread looks for workflows to start."""
POOL_SIZE = 20
"""Connections of each process's system-database pool."""


TUNED = {"workers": 2}
"""Tried on the 2-core machine: 1, 2 and 4 processes x 20, 50 and 100 workflows each, pools
of 10, 20 and 40, polling every 0.1 s and 1 s. One and two processes of 50 were the
fastest, within noise of each other; two use both cores. Polling every 1 s was slower."""


def queue_settings() -> dict[str, Any]:
    return {"worker_concurrency": WORKER_CONCURRENCY, "polling_interval_sec": POLLING_INTERVAL_S}


class Dbos:
    name = "dbos"

    def settings(self, trial: Trial) -> dict[str, Any]:
        from importlib.metadata import version  # noqa: PLC0415

        return {
            "version": version("dbos"),
            "processes": f"{trial.workers} processes, each DBOS.launch() with a system "
                       f"database pool of {POOL_SIZE} (psycopg 3, SQLAlchemy)",
            "queue": queue_settings(),
            "workload": f"a workflow of {trial.steps} no-op async steps, enqueued on a "
                        f"DBOS queue",
            "durability": "DBOS default: every step's result checkpointed (committed) "
                          "before the next step runs",
        }

    def tuned(self, trial: Trial) -> Trial:
        return trial.but(**TUNED)

    @asynccontextmanager
    async def serving(self, dsn: str, trial: Trial) -> AsyncIterator[Endpoint]:
        yield Endpoint(dsn)

    async def prepare(self, endpoint: Endpoint, trial: Trial) -> None:
        await asyncio.to_thread(_prepare, sqlalchemy_url(endpoint.dsn))

    async def start(self, endpoint: Endpoint, trial: Trial, first: int, count: int) -> None:
        await asyncio.to_thread(_enqueue, sqlalchemy_url(endpoint.dsn), trial, first, count)

    async def finished(self, endpoint: Endpoint, trial: Trial) -> int:
        connection = await asyncpg.connect(endpoint.dsn)
        try:
            count: int = await connection.fetchval(
                "SELECT count(*) FROM dbos.workflow_status WHERE name = $1 "
                "AND status = 'SUCCESS'", WORKFLOW)
        finally:
            await connection.close()
        return count


SYSTEM = Dbos()


def _prepare(url: str) -> None:
    """DBOS's system tables, and the queue registered with its settings."""
    from dbos import DBOS, DBOSClient  # noqa: PLC0415 - only when this system runs

    DBOS.migrate(url)
    client = DBOSClient(system_database_url=url, application_name=APPLICATION)
    try:
        client.register_queue(QUEUE, **queue_settings())
    finally:
        client.destroy()


def _enqueue(url: str, trial: Trial, first: int, count: int) -> None:
    """Enqueue workflows ``first`` .. ``first + count - 1`` in one transaction."""
    import sqlalchemy  # noqa: PLC0415
    from dbos import DBOSClient  # noqa: PLC0415

    client = DBOSClient(system_database_url=url, application_name=APPLICATION)
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as connection:
            for number in range(first, first + count):
                client.enqueue_in_transaction(
                    connection, {"queue_name": QUEUE, "workflow_name": WORKFLOW},
                    number, trial.steps)
    finally:
        engine.dispose()
        client.destroy()


# -- the worker side (runs in the worker processes) -----------------------------------

_ended: dict[Key, float] = {}
"""When each step's function returned, so the workflow can time the checkpoint after it."""


def _register(recorder: Recorder) -> None:
    """Declare the step and the workflow (before DBOS is created, as DBOS wants)."""
    from dbos import DBOS  # noqa: PLC0415

    @DBOS.step(name=STEP)
    async def step(workflow: int, number: int) -> None:
        recorder.lease((workflow, number))
        _ended[(workflow, number)] = monotonic()

    @DBOS.workflow(name=WORKFLOW)
    async def chain(workflow: int, steps: int) -> None:
        for number in range(1, steps + 1):
            await step(workflow, number)
            checkpointed = monotonic()
            recorder.round_trip(checkpointed - _ended.pop((workflow, number)))
            recorder.made_ready((workflow, number + 1), checkpointed)
            recorder.done(1, checkpointed)


async def work(order: Order, gate: Gate) -> Recorder:
    """Launch DBOS at the go (its queue thread starts the workflows); destroy it at the stop."""
    from dbos import DBOS  # noqa: PLC0415

    _register(gate.recorder)
    DBOS(config={"name": APPLICATION, "system_database_url": sqlalchemy_url(order.dsn),
                  "sys_db_pool_size": POOL_SIZE, "log_level": "ERROR",
                  "executor_id": f"e2e-{order.index}"})
    gate.ready()
    await gate.wait_go()
    await asyncio.to_thread(DBOS.launch)
    await gate.wait_stop()
    # A run stopped at its time cap leaves workflows part-way; DBOS logs each one its queue
    # thread can no longer start as an error. They are stopped on purpose: say nothing.
    logging.getLogger("dbos").setLevel(logging.CRITICAL)
    await asyncio.to_thread(DBOS.destroy)
    return gate.recorder
