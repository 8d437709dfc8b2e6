"""The worker SDK against a real server: handlers run, failures fail their attempts,
answers are batched, leases are kept alive, stopping is clean, and network errors are
survived."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from relentless.cli import main
from relentless.service.app import create_app
from relentless.worker import Job, RequestRefused, Result, Worker, WorkerConfigError
from tests.service.conftest import WORKER, Server, config_for

ROOT = Path(__file__).resolve().parents[2]

STEPS = """
name: steps
start: work
defaults: {timeout: 30s, attempts: 3, backoff: 1s}
nodes:
  work:
    operation: work
    on: {ok: finish, declined: declined}
  finish:
    operation: finish
    on: {done: done}
  done: {}
  declined: {}
"""


def fast_worker(url: str, **settings: Any) -> Worker:
    """A worker tuned for tests: short polls, quick flushes, quick retries."""
    options: dict[str, Any] = {"name": "test-worker", "wait_seconds": 0.5,
                               "flush_seconds": 0.01, "retry_initial_seconds": 0.05,
                               "retry_max_seconds": 0.2, **settings}
    return Worker(url, WORKER, **options)


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[asyncio.Task[None]]:
    """The worker running in a task; stopped (and its errors raised) on the way out."""
    task = asyncio.create_task(worker.run())
    try:
        yield task
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


async def publish_and_start(server: Server, definition: str, name: str,
                            contexts: list[dict[str, Any]]) -> list[int]:
    published = await server.admin.post("/v1/definitions", data=definition)
    assert published.status in (200, 201), await published.text()
    started = await server.admin.post("/v1/workflows/batch", json={
        "workflows": [{"definition": name, "context": context} for context in contexts]})
    return [result["workflow_id"] for result in (await started.json())["results"]]


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        assert loop.time() < deadline, "gave up waiting"
        await asyncio.sleep(0.05)


async def workflows(server: Server, ids: list[int]) -> list[dict[str, Any]]:
    return [await (await server.admin.get(f"/v1/workflows/{i}")).json() for i in ids]


async def all_ended(server: Server, ids: list[int]) -> bool:
    return all(w["status"] != "running" for w in await workflows(server, ids))


async def history(server: Server, workflow_id: int) -> list[dict[str, Any]]:
    answer = await server.admin.get(f"/v1/workflows/{workflow_id}/history")
    entries: list[dict[str, Any]] = (await answer.json())["history"]
    return entries


def steps_worker(url: str, **settings: Any) -> Worker:
    worker = fast_worker(url, **settings)

    @worker.operation("work")
    async def work(job: Job) -> str | tuple[str, dict[str, Any]]:
        if job.context.get("decline"):
            return "declined"
        return "ok", {"seen": job.context["n"]}

    @worker.operation("finish")
    async def finish(job: Job) -> Result:
        return Result("done")

    return worker


def test_handlers_run_and_workflows_reach_their_leaves(server: Server, run: Any) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], Worker]:
        worker = steps_worker(server.url, concurrency=8, batch=8)
        ids = await publish_and_start(server, STEPS, "steps",
                                      [{"n": n, "decline": n % 5 == 0} for n in range(20)])
        async with running(worker):
            await eventually(lambda: all_ended(server, ids))
        return await workflows(server, ids), worker

    ended, worker = run(scenario())
    assert [w["outcome"] for w in ended] == [
        "declined" if n % 5 == 0 else "done" for n in range(20)]
    assert (worker.stats.accepted, worker.stats.stale, worker.stats.rejected) == (36, 0, 0)
    assert worker.held == 0


def test_completions_are_sent_in_batches(server: Server, run: Any) -> None:
    """Seen by the server too: a batch is one transaction, so its transitions share a time."""

    async def scenario() -> tuple[Worker, set[str]]:
        worker = steps_worker(server.url, concurrency=50, batch=50, flush_seconds=0.2)
        ids = await publish_and_start(server, STEPS, "steps", [{"n": n} for n in range(50)])
        async with running(worker):
            await eventually(lambda: all_ended(server, ids))
        moments = {entry["at"] for i in ids for entry in await history(server, i)}
        return worker, moments

    worker, moments = run(scenario())
    assert worker.stats.accepted == 100
    assert worker.stats.requests["/v1/jobs/complete"] <= 10, worker.stats.requests
    assert len(moments) <= worker.stats.requests["/v1/jobs/complete"]


def test_a_failing_handler_fails_its_attempt_and_the_next_runs_after_the_backoff(
        server: Server, run: Any) -> None:
    seen: list[tuple[str, int]] = []
    times: list[float] = []

    async def scenario() -> tuple[list[dict[str, Any]], Worker]:
        worker = steps_worker(server.url)

        @worker.operation("flaky")
        async def flaky(job: Job) -> str:
            seen.append((job.job_id, job.attempt))
            times.append(asyncio.get_running_loop().time())
            if len(seen) == 1:
                raise ConnectionError("the card processor hung up")
            return "ok"

        definition = STEPS.replace("name: steps", "name: flaky").replace(
            "operation: work", "operation: flaky")
        [workflow_id] = await publish_and_start(server, definition, "flaky", [{"n": 1}])
        async with running(worker):
            await eventually(lambda: all_ended(server, [workflow_id]))
        return await history(server, workflow_id), worker

    path, worker = run(scenario())
    workflow_id = int(seen[0][0].split(".")[0])
    assert seen == [(f"{workflow_id}.1.1", 1), (f"{workflow_id}.1.2", 2)], "a new attempt"
    assert times[1] - times[0] >= 1.0, "the next attempt waits for the node's backoff (1s)"
    assert (worker.stats.handler_errors, worker.stats.failed, worker.stats.released) == (
        1, 1, 0)
    assert [(entry["label"], entry["attempt"]) for entry in path] == [("ok", 2), ("done", 1)]


def test_a_label_the_node_does_not_offer_is_never_sent_and_gives_the_step_up(
        server: Server, run: Any) -> None:
    answers = iter(["shipped", ("ok", {"n": 1})])

    async def scenario() -> tuple[list[dict[str, Any]], Worker]:
        worker = steps_worker(server.url)

        @worker.operation("buggy")
        async def buggy(job: Job) -> Any:
            return next(answers)

        definition = STEPS.replace("name: steps", "name: buggy").replace(
            "operation: work", "operation: buggy")
        [workflow_id] = await publish_and_start(server, definition, "buggy", [{"n": 1}])
        async with running(worker):
            await eventually(lambda: all_ended(server, [workflow_id]))
        [ended] = await workflows(server, [workflow_id])
        return ended, worker

    ended, worker = run(scenario())
    assert (ended["status"], ended["incident"]) == ("incident", "failed")
    assert "label 'shipped' is not offered" in ended["attempt"]["error"]
    assert (worker.stats.handler_bugs, worker.stats.failed, worker.stats.rejected) == (1, 1, 0)


def test_heartbeats_keep_a_long_job_alive_past_its_lease(server: Server, run: Any) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], Worker]:
        worker = steps_worker(server.url, lease_seconds=1.0)

        @worker.operation("slow")
        async def slow(job: Job) -> str:
            await asyncio.sleep(2.5)
            return "ok"

        definition = STEPS.replace("name: steps", "name: slow").replace(
            "operation: work", "operation: slow")
        [workflow_id] = await publish_and_start(server, definition, "slow", [{"n": 1}])
        async with running(worker):
            await eventually(lambda: all_ended(server, [workflow_id]))
        return await history(server, workflow_id), worker

    path, worker = run(scenario())
    assert [(entry["label"], entry["attempt"]) for entry in path] == [("ok", 1), ("done", 1)]
    assert worker.stats.leases_extended >= 2
    assert (worker.stats.leases_lost, worker.stats.stale) == (0, 0)


def test_a_job_whose_lease_is_lost_is_cancelled(server: Server, run: Any) -> None:
    """Heartbeats cannot extend a lease past the attempt's timeout; once it is gone the
    handler's answer would be stale, so the worker stops it."""
    capped = """
name: capped
start: work
defaults: {timeout: 1s, attempts: 1, backoff: 1s}
nodes:
  work: {operation: capped, on: {ok: done, timeout: late}}
  done: {}
  late: {}
"""
    cancelled = asyncio.Event()

    async def scenario() -> tuple[list[dict[str, Any]], Worker]:
        worker = fast_worker(server.url, lease_seconds=0.6)

        @worker.operation("capped")
        async def overrun(job: Job) -> str:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return "ok"

        ids = await publish_and_start(server, capped, "capped", [{}])
        async with running(worker):
            await asyncio.wait_for(cancelled.wait(), 10)
            await eventually(lambda: all_ended(server, ids))
        return await workflows(server, ids), worker

    ended, worker = run(scenario())
    assert [w["outcome"] for w in ended] == ["late"]
    assert (worker.stats.leases_lost, worker.stats.accepted, worker.held) == (1, 0, 0)


def test_the_worker_command_refuses_a_bad_target_or_a_missing_token(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELENTLESS_WORKER_TOKEN", raising=False)
    assert main(["worker", "no_such_module:worker", "--token", "t"]) == 2
    assert "cannot import 'no_such_module'" in capsys.readouterr().err
    assert main(["worker", "relentless.examples.payment_worker:REVIEWER", "--token", "t"]) == 2
    assert "not a relentless.worker.Worker" in capsys.readouterr().err
    assert main(["worker", "relentless.examples.payment_worker:order", "--token", "t"]) == 2
    assert "needs arguments" in capsys.readouterr().err
    assert main(["worker", "relentless.examples.payment_worker:worker"]) == 2
    assert "needs token" in capsys.readouterr().err


def test_stop_lets_running_jobs_finish(server: Server, run: Any) -> None:
    started = asyncio.Event()

    async def scenario() -> tuple[list[dict[str, Any]], Worker]:
        worker = steps_worker(server.url)

        @worker.operation("slow")
        async def slow(job: Job) -> str:
            started.set()
            await asyncio.sleep(0.5)
            return "ok"

        definition = STEPS.replace("name: steps", "name: slow").replace(
            "operation: work", "operation: slow")
        [workflow_id] = await publish_and_start(server, definition, "slow", [{"n": 1}])
        task = asyncio.create_task(worker.run())
        await asyncio.wait_for(started.wait(), 10)
        worker.stop()
        await asyncio.wait_for(task, 5)
        return await history(server, workflow_id), worker

    path, worker = run(scenario())
    assert [entry["label"] for entry in path] == ["ok"], "finished, and nothing leased after"
    assert worker.held == 0


@pytest.mark.parametrize("how", ["grace", "forced"])
def test_stop_releases_jobs_still_running_after_the_grace_or_when_forced(
        server: Server, run: Any, how: str) -> None:
    started = asyncio.Event()

    async def scenario() -> tuple[float, list[dict[str, Any]]]:
        worker = steps_worker(server.url, grace_seconds=0.2 if how == "grace" else 30)

        @worker.operation("stuck")
        async def stuck(job: Job) -> str:
            started.set()
            await asyncio.sleep(60)
            return "ok"

        definition = STEPS.replace("name: steps", "name: stuck").replace(
            "operation: work", "operation: stuck")
        await publish_and_start(server, definition, "stuck", [{"n": 1}])
        task = asyncio.create_task(worker.run())
        await asyncio.wait_for(started.wait(), 10)
        loop = asyncio.get_running_loop()
        began = loop.time()
        worker.stop()
        if how == "forced":
            await asyncio.sleep(0.1)
            worker.stop(force=True)
        await asyncio.wait_for(task, 5)
        took = loop.time() - began
        again = await server.worker.post("/v1/jobs/lease", json={
            "worker": "another", "operations": ["stuck"], "max_jobs": 5})
        return took, (await again.json())["jobs"]

    took, jobs = run(scenario())
    assert took < 2
    assert [job["attempt"] for job in jobs] == [1], "released: ready again, no attempt used"


def test_network_errors_are_retried_until_the_server_answers(
        server: Server, database_dsn: str, run: Any) -> None:
    """The worker starts before its server exists, retries, then does the work."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario() -> tuple[list[dict[str, Any]], int]:
        worker = steps_worker(f"http://127.0.0.1:{port}")
        ids = await publish_and_start(server, STEPS, "steps", [{"n": n} for n in range(3)])
        late = TestServer(create_app(config_for(database_dsn)), host="127.0.0.1", port=port)
        try:
            async with running(worker) as task:
                await asyncio.sleep(1.0)
                assert not task.done()
                retried_while_down = worker.stats.retried_requests
                await late.start_server()
                await eventually(lambda: all_ended(server, ids))
        finally:
            await late.close()
        return await workflows(server, ids), retried_while_down

    ended, retried = run(scenario())
    assert retried >= 3
    assert [w["outcome"] for w in ended] == ["done"] * 3


def test_a_refused_token_ends_the_run_with_the_reason(server: Server, run: Any) -> None:
    async def scenario() -> None:
        worker = steps_worker(server.url)
        worker.configure(token="not-a-token")
        await asyncio.wait_for(worker.run(), 5)

    with pytest.raises(RequestRefused, match="401"):
        run(scenario())


def test_handlers_must_be_async_and_settings_valid() -> None:
    worker = Worker("http://127.0.0.1:1", "token")

    def blocking(job: Job) -> str:
        return "ok"

    with pytest.raises(WorkerConfigError, match="async def"):
        worker.operation("blocking")(blocking)  # type: ignore[arg-type]
    with pytest.raises(WorkerConfigError, match="concurrency"):
        Worker(concurrency=0)
    with pytest.raises(WorkerConfigError, match="unknown worker settings"):
        Worker(lease=3)


def test_sigterm_finishes_the_running_job_and_exits_zero(server: Server, run: Any) -> None:
    """``relentless worker`` in its own process: SIGTERM mid-job, exit 0, job completed."""
    slow_order = {"order_id": "order-1", "customer": "c", "amount_cents": 1227}  # slow charge

    async def scenario() -> tuple[int | None, float, list[dict[str, Any]], str]:
        [workflow_id] = await publish_and_start(
            server, (ROOT / "examples" / "payment.yaml").read_text(), "payment", [slow_order])
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "relentless.cli", "worker", "examples.payment_worker:worker",
            "--url", server.url, "--wait-seconds", "1", cwd=ROOT,
            env={**os.environ, "RELENTLESS_WORKER_TOKEN": WORKER},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            await eventually(lambda: _charging(server, process), 15)
            loop = asyncio.get_running_loop()
            began = loop.time()
            process.send_signal(signal.SIGTERM)
            _, errors = await asyncio.wait_for(process.communicate(), 15)
            took = loop.time() - began
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        return process.returncode, took, await history(server, workflow_id), errors.decode()

    code, took, path, errors = run(scenario())
    assert code == 0, errors
    assert took < 8, errors
    assert [(entry["source"], entry["label"]) for entry in path][:1] == [("charge", "ok")]


async def _charging(server: Server, process: asyncio.subprocess.Process) -> bool:
    """Whether the charge job is leased: another lease of charge_card finds nothing."""
    assert process.returncode is None, "the worker exited early"
    leased = await server.worker.post("/v1/jobs/lease", json={
        "worker": "probe", "operations": ["charge_card"], "max_jobs": 1})
    jobs = (await leased.json())["jobs"]
    if jobs:  # too early: give it back for the worker under test
        await server.worker.post("/v1/jobs/release", json={
            "worker": "probe", "job_ids": [job["job_id"] for job in jobs]})
    return not jobs
