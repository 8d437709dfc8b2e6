"""Several nodes on one database: long-polls woken across nodes, work shared, a node
stopped mid-run loses nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from relentless.service import waker
from relentless.service.app import create_app
from tests.service.conftest import ADMIN, WORKER, config_for

LINEAR = """
name: linear
start: s1
defaults: {timeout: 30s, attempts: 3, backoff: 1s}
nodes:
  s1: {operation: step, on: {ok: s2}}
  s2: {operation: step, on: {ok: s3, again: s1}}
  s3: {operation: step, on: {ok: done}}
  done: {}
"""


async def _start_nodes(dsn: str, count: int) -> list[TestServer]:
    servers = [TestServer(create_app(config_for(dsn)), host="127.0.0.1") for _ in range(count)]
    for server in servers:
        await server.start_server()
    return servers


def _session(server: TestServer, token: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=str(server.make_url("")).rstrip("/"),
                                 headers={"Authorization": f"Bearer {token}"})


def test_a_waiting_lease_on_one_node_wakes_when_another_node_makes_work(
        database_dsn: str, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the fallback poll pushed out of reach, only a NOTIFY can wake the lease."""
    monkeypatch.setattr(waker, "POLL_SECONDS", 60.0)

    async def scenario() -> tuple[list[Any], float]:
        first, second = await _start_nodes(database_dsn, 2)
        try:
            async with _session(first, WORKER) as worker, _session(second, ADMIN) as admin:
                await admin.post("/v1/definitions", data=LINEAR)
                loop = asyncio.get_running_loop()
                began = loop.time()
                waiting = asyncio.create_task(worker.post("/v1/jobs/lease", json={
                    "worker": "w", "operations": ["step"], "wait_seconds": 30}))
                await asyncio.sleep(0.5)
                assert not waiting.done(), "the lease should be waiting for work"
                await admin.post("/v1/workflows", json={"definition": "linear"})
                response = await asyncio.wait_for(waiting, 10)
                return (await response.json())["jobs"], loop.time() - began
        finally:
            for server in (first, second):
                await server.close()

    jobs, waited = run(scenario())
    assert [job["node"] for job in jobs] == ["s1"]
    assert waited < 30, "woken by the other node's NOTIFY, not by the end of the wait"


async def _work(nodes: list[TestServer], name: str, stop: asyncio.Event,
                served: Counter[int]) -> None:
    """A plain worker that moves to the next node when its node goes away."""
    turn = 0
    while not stop.is_set():
        node = nodes[turn % len(nodes)]
        try:
            async with _session(node, WORKER) as client:
                while not stop.is_set():
                    # Short leases: a lease granted by the node that stops, whose answer
                    # never arrives, expires soon and its job is offered again.
                    leased = await client.post("/v1/jobs/lease", json={
                        "worker": name, "operations": ["step"], "max_jobs": 20,
                        "wait_seconds": 0.2, "lease_seconds": 2})
                    jobs = (await leased.json())["jobs"]
                    if jobs:
                        served[id(node)] += len(jobs)
                        await client.post("/v1/jobs/complete", json={"completions": [
                            {"job_id": job["job_id"], "label": "ok"} for job in jobs]})
        except (aiohttp.ClientError, OSError):
            turn += 1  # this node is gone: go to the next one
            await asyncio.sleep(0.1)


def test_three_nodes_share_the_work_and_losing_one_loses_no_workflow(
        database_dsn: str, run: Any) -> None:
    async def scenario() -> tuple[list[Any], Counter[int], list[int]]:
        nodes = await _start_nodes(database_dsn, 3)
        node_ids = [id(node) for node in nodes]
        stop, served = asyncio.Event(), Counter[int]()
        async with _session(nodes[0], ADMIN) as admin:
            await admin.post("/v1/definitions", data=LINEAR)
            await admin.post("/v1/workflows/batch", json={
                "workflows": [{"definition": "linear"} for _ in range(150)]})
            workers = [asyncio.create_task(_work(nodes[i % 3:] + nodes[:i % 3], f"w{i}",
                                                 stop, served)) for i in range(6)]
            await asyncio.sleep(0.3)
            await nodes[1].close()  # a node stops mid-run
            for _ in range(600):  # up to a minute, for a loaded machine
                page = await (await admin.get("/v1/workflows?status=running&limit=1")).json()
                if not page["workflows"]:
                    break
                await asyncio.sleep(0.1)
            stop.set()
            await asyncio.gather(*workers)
            done = await (await admin.get("/v1/workflows?status=completed&limit=1000")).json()
            histories = [await (await admin.get(f"/v1/workflows/{w['workflow_id']}/history")
                                ).json() for w in done["workflows"]]
        for node in (nodes[0], nodes[2]):
            await node.close()
        return histories, served, node_ids

    histories, served, node_ids = run(scenario())
    assert len(histories) == 150, "every workflow completed"
    for history in histories:
        assert [(h["source"], h["label"], h["target"]) for h in history["history"]] == [
            ("s1", "ok", "s2"), ("s2", "ok", "s3"), ("s3", "ok", "done")]
    assert sum(1 for node in node_ids if served[node]) >= 2, "the work was spread over nodes"
