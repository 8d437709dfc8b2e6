"""Relentless: ``relentless serve`` in a process of its own, workers on the worker SDK over HTTP.

The server is the command a user runs, unchanged, on the run's database. Each worker
process runs ``Trial.pollers_in`` SDK workers with a no-op handler for every step's
operation. Timestamps come from the SDK's own requests: the SDK has no hook for them,
so the worker processes give it a Gateway subclass that notes when each lease and
each completion was answered (see docs/performance.md for the hook this suggests).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any

import aiohttp
import asyncpg

from bench import fixtures
from bench.e2e.harness import Gate
from bench.e2e.samples import Recorder
from bench.e2e.systems import Endpoint
from bench.e2e.trial import Order, Trial

if TYPE_CHECKING:
    from relentless.worker.transport import Gateway

START_CHUNK = 1_000
"""Workflows per start request: the server's default batch limit."""
SERVER_START_TIMEOUT_S = 30.0
POOL_SIZE = 10
"""Server connections to PostgreSQL: the server's default."""


def worker_settings(trial: Trial) -> dict[str, Any]:
    """The SDK settings of every worker: a batch per lease, a second batch in flight.

    Concurrency is twice the batch so that the next lease overlaps the completion of
    the last batch; a completion goes out as soon as a batch is full, or after 5 ms.
    Long polls wait 1 s in throughput runs, 5 s in latency runs (idle workers).
    """
    return {"batch": trial.batch, "concurrency": 2 * trial.batch, "flush_seconds": 0.005,
            "wait_seconds": 5.0 if trial.paced else 1.0, "lease_seconds": 60.0}


class Relentless:
    """``relentless serve``; ``metrics=False`` serves with metrics off, to measure what
    counting costs (``--systems relentless,relentless_nometrics``)."""

    def __init__(self, name: str = "relentless", *, metrics: bool = True) -> None:
        self.name = name
        self._metrics = metrics

    def settings(self, trial: Trial) -> dict[str, Any]:
        per_process = max(trial.pollers, trial.workers) / trial.workers
        return {
            "server": f"relentless serve (all roles, one process, aiohttp), pool_size "
                      f"{POOL_SIZE}, sweeper every 1 s, metrics "
                      f"{'on' if self._metrics else 'off'}",
            "processes": f"{trial.workers} processes x {per_process:g} SDK workers",
            "worker_sdk": worker_settings(trial),
            "workload": f"linear definition of {trial.steps} steps, no-op handlers",
            "durability": "every completion batch committed (fsync) before it is answered",
        }

    def tuned(self, trial: Trial) -> Trial:
        """The trial as given: its defaults (4 processes, batches of 100) are the benchmark's."""
        return trial

    @asynccontextmanager
    async def serving(self, dsn: str, trial: Trial) -> AsyncIterator[Endpoint]:
        """``relentless serve`` on a free port until the run ends; stopped with SIGINT."""
        admin, worker = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
        url = f"http://127.0.0.1:{_free_port()}"
        environment = {**os.environ, "RELENTLESS_ADMIN_TOKEN": admin,
                       "RELENTLESS_WORKER_TOKEN": worker}
        with tempfile.NamedTemporaryFile(prefix="relentless-e2e-server-", suffix=".log") as log, \
                tempfile.NamedTemporaryFile("w", suffix=".toml") as config:
            config.write(f"metrics_enabled = {str(self._metrics).lower()}\n")
            config.flush()
            process = subprocess.Popen(
                [sys.executable, "-c", "import sys; from relentless.cli import main; "
                                       "sys.exit(main(sys.argv[1:]))",
                 "serve", "--dsn", dsn, "--listen", url.removeprefix("http://"),
                 "--config", config.name],
                stdout=log, stderr=subprocess.STDOUT, env=environment)
            try:
                await _until_ready(url, process, Path(log.name))
                yield Endpoint(dsn, url, worker, admin, process.pid)
            finally:
                await _stop(process)

    async def prepare(self, endpoint: Endpoint, trial: Trial) -> None:
        await _admin(endpoint, "v1/definitions", fixtures.linear_definition(trial.steps),
                     content_type="application/yaml")

    async def start(self, endpoint: Endpoint, trial: Trial, first: int, count: int) -> None:
        for offset in range(0, count, START_CHUNK):
            size = min(START_CHUNK, count - offset)
            await _admin(endpoint, "v1/workflows/batch",
                         {"workflows": [{"definition": fixtures.DEFINITION}] * size})

    async def finished(self, endpoint: Endpoint, trial: Trial) -> int:
        connection = await asyncpg.connect(endpoint.dsn)
        try:
            count: int = await connection.fetchval(
                "SELECT count(*) FROM relentless_workflows WHERE status = 'completed'")
        finally:
            await connection.close()
        return count


SYSTEM = Relentless()


async def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (a clean stop, as Ctrl-C would), then SIGKILL if it does not come."""
    process.send_signal(signal.SIGINT)
    try:
        await asyncio.to_thread(process.wait, 15)
    except subprocess.TimeoutExpired:
        process.kill()
        await asyncio.to_thread(process.wait)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def _until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /readyz until the server answers; a server that exits shows its log."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SERVER_START_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while loop.time() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"relentless serve exited:\n{log.read_text()[-2000:]}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"relentless serve did not get ready:\n{log.read_text()[-2000:]}")


async def _admin(endpoint: Endpoint, path: str, body: Any,
                 content_type: str = "application/json") -> Any:
    """POST to the operator API; any error status is a failed run."""
    headers = {"Authorization": f"Bearer {endpoint.admin_token}", "Content-Type": content_type}
    data = body.encode() if isinstance(body, str) else None
    async with aiohttp.ClientSession() as session, session.post(
            f"{endpoint.url}/{path}", data=data, json=None if data else body,
            headers=headers) as response:
        answer = await response.json(content_type=None)
        if response.status >= 400:
            raise RuntimeError(f"POST /{path}: {response.status} {answer}")
        return answer


# -- the worker side (runs in the worker processes) -----------------------------------


async def work(order: Order, gate: Gate) -> Recorder:
    """Run this process's SDK workers from the go until the stop."""
    from relentless.worker import Worker, runner  # noqa: PLC0415 - worker processes only

    runner.Gateway = _timed_gateway(gate.recorder)  # type: ignore[attr-defined]
    trial = order.trial
    workers = [Worker(order.url, order.token, name=f"e2e-{order.index}-{number}",
                      **worker_settings(trial))
               for number in range(trial.pollers_in(order.index))]
    for worker in workers:
        for operation in fixtures.operations(trial.steps):
            worker.operation(operation)(_noop)
    gate.ready()
    await gate.wait_go()
    serving = [asyncio.create_task(worker.run()) for worker in workers]
    await gate.wait_stop()
    for worker in workers:
        worker.stop()
    await asyncio.gather(*serving)
    return gate.recorder


async def _noop(job: object) -> str:
    return fixtures.LABEL


def _timed_gateway(recorder: Recorder) -> type[Gateway]:
    """The SDK's Gateway, noting when leases and completions were answered."""
    from relentless import protocol  # noqa: PLC0415 - worker processes only
    from relentless.worker.transport import Gateway  # noqa: PLC0415

    class TimedGateway(Gateway):
        async def post(self, path: str, body: Any, answer: Any, **options: Any) -> Any:
            sent = monotonic()
            decoded = await super().post(path, body, answer, **options)
            answered = monotonic()
            if isinstance(decoded, protocol.LeaseResponse):
                for job in decoded.jobs:
                    recorder.lease((job.workflow_id, job.step), answered)
            elif isinstance(decoded, protocol.CompleteResponse):
                _note_completions(recorder, decoded, sent, answered)
            return decoded

    return TimedGateway


def _note_completions(recorder: Recorder, answer: Any, sent: float, answered: float) -> None:
    """Each accepted completion of step s makes step s + 1 of its workflow ready now."""
    results = answer.results
    accepted = [item.job_id for item in results if item.verdict == "accepted"]
    for job_id in accepted:
        workflow, step, _ = job_id.split(".")
        recorder.made_ready((int(workflow), int(step) + 1), answered)
    recorder.round_trip(answered - sent, len(results))
    recorder.done(len(accepted), answered)
