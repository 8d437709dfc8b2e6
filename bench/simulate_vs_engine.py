"""The simulator against the real engine: ``python -m bench.simulate_vs_engine [--json]``.

Runs ``--workflows`` payment workflows (examples/payment.yaml with short timeouts and a
jittered backoff, so that it finishes in a minute), started at ``--rate`` a second,
through a real server on an embedded PostgreSQL, with a worker that follows a scenario:
per node it draws the outcome (complete, fail and retry, fail for good, or lose the
attempt so that its lease runs out), the duration and the label from the scenario's own
distributions; the script reviews the manual ``escalate`` steps the same way. Then the
Cython simulator runs the same definition under the same scenario, and the two are
compared: the share of workflows at each outcome (within 2 percentage points) and the
p50 and p95 of time to a leaf (within 10%). The engine's times are each workflow's
start to its last transition, as the server recorded them; they include what the
simulator leaves out (HTTP round trips, leases waking, the sweeper's interval), which
is why the durations are not much shorter than a second. Exit status 1 if they disagree.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from aiohttp import web

from relentless import compile_definition
from relentless.config import Config
from relentless.core.definition import Definition
from relentless.core.reader import definition_from_data
from relentless.core.source import parse_text
from relentless.core.status import Status
from relentless.service.app import create_app
from relentless.simulation import native
from relentless.simulation.scenario import Scenario, StepScenario, scenario_from_data
from relentless.simulation.tables import build_tables

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {"timeout": "3s", "attempts": 3,
            "backoff": {"initial": "300ms", "multiplier": 2, "jitter": 0.5}}
SCENARIO: dict[str, Any] = {
    "name": "payment, short",
    "nodes": {
        "charge": {"labels": {"ok": 0.90, "declined": 0.06, "error": 0.04},
                   "duration": {"lognormal": {"median": "600ms", "sigma": 0.5}},
                   "fail": 0.03, "lost": 0.01, "permanent": 0.005},
        "wait_and_retry": {"labels": {"again": 0.8, "give_up": 0.2}, "duration": "500ms"},
        "escalate": {"labels": {"retry": 0.3, "refund": 0.7},
                     "duration": {"uniform": ["1s", "3s"]}},
        "ship": {"duration": {"uniform": ["300ms", "1500ms"]}, "fail": 0.02},
        "refund": {"duration": "400ms"},
        "notify_declined": {"duration": "300ms"},
    },
}
SIMULATED_RUNS = 1_000_000
START_TICK_SECONDS = 0.2
LEASE_BATCH = 200
SHARE_TOLERANCE = 0.02
TIME_TOLERANCE = 0.10


def definition_source() -> dict[str, Any]:
    """examples/payment.yaml with the short defaults."""
    data = parse_text((ROOT / "examples" / "payment.yaml").read_text(), "yaml")
    return {**dict(data), "defaults": DEFAULTS}


def definition() -> Definition:
    return definition_from_data(definition_source(), "payment (short timeouts)")


class ScenarioWorker:
    """Leases every worker operation and does what the scenario says, one task per job."""

    def __init__(self, session: aiohttp.ClientSession, definition: Definition,
                 scenario: Scenario, rng: random.Random) -> None:
        self._session = session
        self._nodes = definition.nodes
        self._scenario = scenario
        self._rng = rng
        self._tasks: set[asyncio.Task[None]] = set()
        self.operations = sorted({node.operation for node in definition.nodes.values()
                                  if node.operation and not node.manual})

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            async with self._session.post("/v1/jobs/lease", json={
                    "worker": "scenario", "operations": self.operations,
                    "max_jobs": LEASE_BATCH, "lease_seconds": 3600,
                    "wait_seconds": 0.5}) as answer:
                jobs = (await answer.json())["jobs"]
            for job in jobs:
                task = asyncio.create_task(self._perform(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _perform(self, job: dict[str, Any]) -> None:
        node = self._nodes[job["node"]]
        step = self._scenario.steps[job["node"]]
        outcome, duration = self._rng.random(), step.duration.sample(self._rng.random())
        if duration >= node.timeout_ms or step.fail_below <= outcome < step.lost_below:
            return  # lost: nobody answers, the lease runs out at the timeout
        await asyncio.sleep(duration / 1000)
        if outcome < step.fail_below:
            await self._session.post("/v1/jobs/fail", json={"worker": "scenario", "failures": [
                {"job_id": job["job_id"], "error": "scenario: failed",
                 "retryable": outcome >= step.permanent_below}]})
        else:
            await self._session.post("/v1/jobs/complete", json={"completions": [
                {"job_id": job["job_id"], "label": pick(step, self._rng)}]})


def pick(step: StepScenario, rng: random.Random) -> str:
    labels = list(step.labels)
    return rng.choices(labels, weights=[step.labels[label] for label in labels])[0]


async def review(session: aiohttp.ClientSession, scenario: Scenario, rng: random.Random,
                 stop: asyncio.Event) -> None:
    """The person at the manual steps: each decided its sampled duration after it is ready."""
    seen: set[str] = set()

    async def decide(step: dict[str, Any]) -> None:
        settings = scenario.steps[step["node"]]
        ready = datetime.fromisoformat(step["ready_at"])
        wait = settings.duration.sample(rng.random()) / 1000
        await asyncio.sleep(max(0.0, wait - (datetime.now(UTC) - ready).total_seconds()))
        await session.post(f"/v1/manual-steps/{step['job_id']}/complete",
                           json={"label": pick(settings, rng)})

    tasks: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        async with session.get("/v1/manual-steps", params={"limit": "1000"}) as answer:
            steps = (await answer.json())["steps"]
        for step in steps:
            if step["job_id"] not in seen:
                seen.add(step["job_id"])
                task = asyncio.create_task(decide(step))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        await asyncio.sleep(0.02)


async def engine_runs(workflows: int, definition: Definition, scenario: Scenario,
                      seed: int, rate: float) -> list[tuple[str, int]]:
    """Each workflow's outcome (a leaf, or ``incident``) and time from start to it, in ms."""
    admin, worker = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="relentless-cmp-") as directory:
        config = Config(data_dir=Path(directory), admin_token=admin, worker_token=worker,
                        sweeper_interval_seconds=0.02, metrics_enabled=False)
        runner = web.AppRunner(create_app(config, temporary_database=True), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            url = f"http://127.0.0.1:{port}"
            return await _drive(url, admin, worker, workflows, definition, scenario, seed,
                                rate)
        finally:
            await runner.cleanup()


async def _drive(url: str, admin_token: str, worker_token: str, workflows: int,
                 definition: Definition, scenario: Scenario, seed: int, rate: float
                 ) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    limit = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {admin_token}"},
                                     connector=limit) as admin, \
            aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {worker_token}"},
                                  connector=aiohttp.TCPConnector(limit=200)) as work:
        source = json.dumps(definition_source())
        async with admin.post("/v1/definitions", data=source,
                              headers={"Content-Type": "application/json"}) as answer:
            assert answer.status in (200, 201), await answer.text()
        stop = asyncio.Event()
        worker = ScenarioWorker(work, definition, scenario, rng)
        background = [asyncio.create_task(worker.run(stop)),
                      asyncio.create_task(review(admin, scenario, rng, stop))]
        try:
            # A steady arrival rate, as traffic comes, well below what the server can take:
            # a queue at the server would add its wait to every step.
            per_tick = max(1, round(rate * START_TICK_SECONDS))
            for first in range(0, workflows, per_tick):
                batch = [{"definition": definition.name}] * min(per_tick, workflows - first)
                async with admin.post("/v1/workflows/batch",
                                      json={"workflows": batch}) as answer:
                    assert answer.status in (200, 201), await answer.text()
                await asyncio.sleep(START_TICK_SECONDS)
            while True:
                async with admin.get("/v1/workflows", params={
                        "status": "running", "definition": definition.name,
                        "limit": "1"}) as answer:
                    if not (await answer.json())["workflows"]:
                        break
                await asyncio.sleep(0.5)
        finally:
            stop.set()
            await asyncio.gather(*background, return_exceptions=True)
        return await _outcomes(admin, definition.name)


async def _outcomes(admin: aiohttp.ClientSession, name: str) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    cursor: str | None = None
    while True:
        params = {"definition": name, "limit": "1000", **({"cursor": cursor} if cursor else {})}
        async with admin.get("/v1/workflows", params=params) as answer:
            page = await answer.json()
        for workflow in page["workflows"]:
            took = (datetime.fromisoformat(workflow["updated_at"])
                    - datetime.fromisoformat(workflow["created_at"]))
            outcome = workflow.get("outcome") if workflow["status"] == "completed" else \
                workflow["status"]
            found.append((str(outcome), int(took.total_seconds() * 1000)))
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def simulated_runs(definition: Definition, scenario: Scenario,
                   runs: int, seed: int) -> list[tuple[str, int]]:
    compiled = compile_definition(definition)
    result = native.simulate(build_tables(compiled, scenario, 10_000), runs, seed, 10_000)
    names = np.array(compiled.node_names, dtype=object)
    outcome = np.where(result.status == Status.REACHED_LEAF, names[result.end_node],
                       np.where(result.status == Status.LABEL_NOT_OFFERED, "incident",
                                "unfinished"))
    return list(zip(outcome.tolist(), result.time_ms.tolist(), strict=True))


def compare(engine: list[tuple[str, int]], simulated: list[tuple[str, int]]) -> dict[str, Any]:
    """Shares per outcome, and p50 and p95 of time to a leaf (all leaves, and each)."""
    def shares(runs: list[tuple[str, int]]) -> dict[str, float]:
        counts = Counter(outcome for outcome, _ in runs)
        return {outcome: count / len(runs) for outcome, count in counts.items()}

    def quantiles(runs: list[tuple[str, int]], which: str | None) -> dict[str, float]:
        times = np.array([t for o, t in runs if o not in ("incident", "unfinished")
                          and (which is None or o == which)], dtype=np.int64)
        if times.size == 0:
            return {}
        return {"p50": float(np.quantile(times, 0.5)), "p95": float(np.quantile(times, 0.95))}

    engine_shares, simulated_shares = shares(engine), shares(simulated)
    outcomes = sorted(set(engine_shares) | set(simulated_shares))
    rows = []
    for outcome in outcomes:
        e, s = engine_shares.get(outcome, 0.0), simulated_shares.get(outcome, 0.0)
        rows.append({"outcome": outcome, "engine": e, "simulator": s,
                     "within": abs(e - s) <= SHARE_TOLERANCE})
    times = []
    for which in (None, *[o for o in outcomes if o not in ("incident", "unfinished")]):
        e, s = quantiles(engine, which), quantiles(simulated, which)
        for q in ("p50", "p95"):
            if q in e and q in s:
                times.append({"leaf": which or "any leaf", "quantile": q, "engine_ms": e[q],
                              "simulator_ms": s[q],
                              "within": abs(e[q] - s[q]) <= TIME_TOLERANCE * s[q]})
    return {"workflows": len(engine), "simulated_runs": len(simulated), "shares": rows,
            "time_to_leaf": times,
            "agree": all(r["within"] for r in rows) and all(
                t["within"] for t in times if t["leaf"] == "any leaf")}


def table(result: dict[str, Any]) -> str:
    lines = [f"{result['workflows']:,} workflows through the engine, "
             f"{result['simulated_runs']:,} simulated runs",
             "", "| outcome | engine | simulator | difference |", "|---|---:|---:|---:|"]
    for row in result["shares"]:
        lines.append(f"| {row['outcome']} | {row['engine']:.2%} | {row['simulator']:.2%} | "
                     f"{(row['engine'] - row['simulator']) * 100:+.2f} pp |")
    lines += ["", "| time to leaf | engine | simulator | difference |", "|---|---:|---:|---:|"]
    for row in result["time_to_leaf"]:
        difference = row["engine_ms"] / row["simulator_ms"] - 1
        lines.append(f"| {row['leaf']} {row['quantile']} | {row['engine_ms'] / 1000:.2f}s | "
                     f"{row['simulator_ms'] / 1000:.2f}s | {difference:+.1%} |")
    lines.append("")
    lines.append("agree (shares within 2 pp, p50 and p95 to any leaf within 10%): "
                 f"{'yes' if result['agree'] else 'NO'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.simulate_vs_engine",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=50.0,
                        help="workflows started per second (default 50)")
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args(argv)
    shape = definition()
    scenario = scenario_from_data(SCENARIO, shape)
    engine = asyncio.run(engine_runs(arguments.workflows, shape, scenario, arguments.seed,
                                     arguments.rate))
    result = compare(engine, simulated_runs(shape, scenario, SIMULATED_RUNS, arguments.seed))
    print(json.dumps(result, indent=2) if arguments.json else table(result))
    return 0 if result["agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
