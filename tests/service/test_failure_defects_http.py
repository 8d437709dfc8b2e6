"""Defects of the failure path seen over real HTTP (issue #10): the SDK and the service."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestServer

from relentless.service.app import create_app
from relentless.worker import Job, Worker
from tests.service.conftest import ADMIN, WORKER, Server, config_for
from tests.service.test_worker import (
    all_ended,
    eventually,
    fast_worker,
    publish_and_start,
    running,
    workflows,
)

SHORT = """
name: short
start: work
defaults: {timeout: 1s, attempts: 2, backoff: 10ms}
nodes:
  work:
    operation: work
    on: {ok: done}
  done: {}
"""


def test_a_handler_outliving_its_granted_lease_is_cancelled_before_the_next_attempt(
        server: Server, run: Any) -> None:
    """The node's 1s timeout caps the lease though the worker asks for 30s: the handler of
    attempt 1 must be stopped, never running beside attempt 2."""
    running_now: set[int] = set()
    overlaps: list[tuple[int, ...]] = []
    cancelled: list[int] = []

    async def scenario() -> dict[str, Any]:
        worker = fast_worker(server.url, lease_seconds=30.0)

        @worker.operation("work")
        async def work(job: Job) -> str:
            if running_now:
                overlaps.append((job.attempt, *running_now))
            running_now.add(job.attempt)
            try:
                if job.attempt == 1:
                    await asyncio.sleep(10)
                return "ok"
            except asyncio.CancelledError:
                cancelled.append(job.attempt)
                raise
            finally:
                running_now.discard(job.attempt)

        [workflow_id] = await publish_and_start(server, SHORT, "short", [{}])
        async with running(worker):
            await eventually(lambda: all_ended(server, [workflow_id]))
        [ended] = await workflows(server, [workflow_id])
        return ended

    ended = run(scenario())
    assert overlaps == [], "attempt 2 ran while attempt 1 still did"
    assert cancelled == [1]
    assert ended["outcome"] == "done"


def test_one_refused_completion_does_not_drop_the_others(database_dsn: str, run: Any) -> None:
    """A body over max_body_bytes (413) is split: four good completions are accepted and
    the one too large to send fails its attempt with the server's reason."""
    app = create_app(config_for(database_dsn, max_body_bytes=20_000))
    server = TestServer(app, host="127.0.0.1")

    async def scenario() -> list[dict[str, Any]]:
        await server.start_server()
        url = str(server.make_url("")).rstrip("/")
        import aiohttp  # noqa: PLC0415

        async with aiohttp.ClientSession(base_url=url, headers={
                "Authorization": f"Bearer {ADMIN}"}) as admin:
            shim = Server(url, admin, admin, admin, app, admin, admin)
            worker = Worker(url, WORKER, name="w", batch=5, concurrency=5, flush_seconds=0.5,
                            wait_seconds=0.2, retry_initial_seconds=0.05)

            @worker.operation("work")
            async def work(job: Job) -> tuple[str, dict[str, Any]]:
                size = 50_000 if job.context["big"] else 10
                return "ok", {"blob": "x" * size}

            ids = await publish_and_start(shim, SHORT.replace("attempts: 2", "attempts: 1"),
                                          "short", [{"big": n == 2} for n in range(5)])
            async with running(worker):
                await eventually(lambda: all_ended(shim, ids))
            return await workflows(shim, ids)

    try:
        ended = run(scenario())
    finally:
        run(server.close())
    assert [w.get("outcome") for w in ended] == ["done", "done", None, "done", "done"]
    big = ended[2]
    assert (big["status"], big["incident"]) == ("incident", "failed")
    assert "the completion was refused" in big["attempt"]["error"]
    assert "413" in big["attempt"]["error"]


def test_one_bad_start_in_a_batch_is_refused_alone(server: Server, run: Any) -> None:
    async def scenario() -> tuple[int, dict[str, Any]]:
        published = await server.admin.post("/v1/definitions", data=SHORT)
        assert published.status == 201
        answer = await server.admin.post("/v1/workflows/batch", json={"workflows": [
            {"definition": "short", "context": {"n": 1}},
            {"definition": "short", "context": {"bad": "\u0000"}},
            {"definition": "short", "surprise": True},
            {"definition": "short", "context": {"n": 2}}]})
        return answer.status, await answer.json()

    status, body = run(scenario())
    assert status == 200
    results = body["results"]
    assert [(r["result"], r.get("reason")) for r in results] == [
        ("accepted", None), ("rejected", "invalid_start"), ("rejected", "invalid_start"),
        ("accepted", None)]
    assert "NUL" in results[1]["detail"]
    assert "surprise" in results[2]["detail"]
