"""The stats route counts a version's audit trail per node, and simulate --from and
analyze --url read a published version (and what its workers did) from the server."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
from typing import Any

from relentless.simulation.commands import register
from relentless.worker import Job, PermanentFailure
from tests.service.conftest import ADMIN, VIEWER, Server
from tests.service.test_worker import (
    all_ended,
    eventually,
    fast_worker,
    publish_and_start,
    running,
)

COUNTED = """
name: counted
start: work
defaults: {timeout: 30s, attempts: 3, backoff: 10ms}
nodes:
  work:
    operation: work
    on: {ok: done, no: declined}
  done: {}
  declined: {}
"""
RUNS = 40


def cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="relentless")
    register(parser.add_subparsers(required=True))
    arguments = parser.parse_args(argv)
    out = io.StringIO()
    return arguments.run(arguments, out, io.StringIO()), out.getvalue()


def in_thread(run: Any, *argv: str) -> tuple[int, str]:
    """The command in a thread of its own, while the server's loop answers it."""
    async def call() -> tuple[int, str]:
        return await asyncio.to_thread(cli, *argv)

    found: tuple[int, str] = run(call())
    return found


def _counted_history(server: Server, run: Any) -> dict[str, Any]:
    """Workflow n: answers ``no`` if n % 4 == 0, fails once first if n % 5 == 0, and fails
    for good (no retry) if n % 10 == 1; the stats of the version after."""
    async def scenario() -> dict[str, Any]:
        worker = fast_worker(server.url)

        @worker.operation("work")
        async def work(job: Job) -> str:
            n = job.context["n"]
            if n % 10 == 1:
                raise PermanentFailure("card reported stolen")
            if n % 5 == 0 and job.attempt == 1:
                raise RuntimeError("processor is down")
            return "no" if n % 4 == 0 else "ok"

        ids = await publish_and_start(server, COUNTED, "counted",
                                      [{"n": n} for n in range(RUNS)])
        async with running(worker):
            await eventually(lambda: all_ended(server, ids), 20)
        answer = await server.viewer.get("/v1/definitions/counted/1/stats")
        assert answer.status == 200, await answer.text()
        stats: dict[str, Any] = await answer.json()
        return stats

    found: dict[str, Any] = run(scenario())
    return found


def test_the_stats_count_labels_failures_and_durations_per_node(server: Server,
                                                                run: Any) -> None:
    stats = _counted_history(server, run)
    assert (stats["name"], stats["version"], stats["workflows"]) == ("counted", 1, RUNS)
    work = stats["nodes"]["work"]
    permanent = len([n for n in range(RUNS) if n % 10 == 1])
    retried = len([n for n in range(RUNS) if n % 5 == 0 and n % 10 != 1])
    declined = len([n for n in range(RUNS) if n % 4 == 0 and n % 10 != 1])
    assert work["labels"] == {"ok": RUNS - permanent - declined, "no": declined}
    assert (work["completed"], work["failed"], work["expired"], work["permanent"]) == (
        RUNS - permanent, permanent + retried, 0, permanent)
    assert work["attempts"] == RUNS + retried
    assert work["permanent_rate"] == permanent / work["attempts"]
    assert work["fail_rate"] == retried / work["attempts"]
    histogram = work["durations"]
    assert sum(histogram["counts"]) == work["completed"] + work["failed"]
    assert len(histogram["edges_ms"]) == len(histogram["counts"]) + 1
    assert histogram["edges_ms"] == sorted(set(histogram["edges_ms"]))


def test_stats_since_a_later_time_count_nothing_and_unknown_versions_are_404(
        server: Server, run: Any) -> None:
    _counted_history(server, run)

    async def ask() -> tuple[dict[str, Any], int, int]:
        later = await server.viewer.get("/v1/definitions/counted/1/stats",
                                        params={"since": "2999-01-01T00:00:00Z"})
        missing = await server.viewer.get("/v1/definitions/counted/9/stats")
        bad = await server.viewer.get("/v1/definitions/counted/1/stats",
                                      params={"since": "last tuesday"})
        return await later.json(), missing.status, bad.status

    later, missing, bad = run(ask())
    assert (later["workflows"], later["nodes"]) == (0, {})
    assert (missing, bad) == (404, 400)


def test_simulate_from_a_server_learns_the_scenario_of_its_history(server: Server,
                                                                   run: Any) -> None:
    stats = _counted_history(server, run)
    code, out = in_thread(run, "simulate", "--from", server.url, "--token", VIEWER,
                          "counted", "--runs", "200000", "--json", "--seed", "3")
    assert code == 0
    summary = json.loads(out)
    shares = {o["outcome"]: o["share"] for o in summary["outcomes"]} if isinstance(
        summary["outcomes"], list) else {k: v["share"] for k, v in summary["outcomes"].items()}
    work = stats["nodes"]["work"]
    # Each attempt fails for good with q, fails and is retried with f: an incident after
    # q, f q, f f q, or three failures; the rest end at the leaf their label names.
    q, f = work["permanent_rate"], work["fail_rate"]
    incident = q * (1 + f + f * f) + f ** 3
    assert abs(shares["incident"] - incident) < 0.005
    assert abs(shares["declined"] - (1 - incident) * work["labels"]["no"]
               / work["completed"]) < 0.005


def test_analyze_reads_a_published_version(server: Server, run: Any) -> None:
    _counted_history(server, run)
    code, out = in_thread(run, "analyze", "--url", server.url, "--token", ADMIN, "counted@1",
                          "--json")
    assert code == 0
    data = json.loads(out)
    assert data["nodes"]["work"]["leaves"]["done"] == {"best_ms": 0, "worst_ms": 3 * 30_000 + 20}
