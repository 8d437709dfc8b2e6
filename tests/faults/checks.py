"""What must hold after every fault, checked from outside: over HTTP (workflows and
their histories) and, for what no API shows, with one query on relentless_jobs.

- every workflow ends at a leaf, or as an incident a person can act on;
- every history is a walk of the definition's graph from its start;
- every acknowledged completion is in the histories exactly once;
- nothing is left open (ready or leased) for a decided step.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import yaml

from tests.faults.cluster import ADMIN, Cluster
from tests.faults.http import call

ACTIONABLE = {"completed", "incident"}

DEFINITION = """
name: fault
start: a
defaults: {timeout: 60s, attempts: 5, backoff: 200ms}
nodes:
  a: {operation: work, on: {ok: b}}
  b: {operation: work, on: {ok: c}}
  c: {operation: work, on: {ok: done}}
  done: {}
"""

OPEN_FOR_DECIDED_STEPS = """
SELECT j.workflow_id, j.step, j.attempt, j.state::text AS state, w.step AS current,
       w.status::text AS status
FROM relentless_jobs j JOIN relentless_workflows w ON w.id = j.workflow_id
WHERE j.state IN ('ready', 'leased') AND (w.status <> 'running' OR j.step < w.step)
"""


@dataclass
class Outcome:
    """What the checks saw; ``figures`` is what a fault test reports."""

    workflows: list[dict[str, Any]]
    histories: dict[int, list[dict[str, Any]]]
    acknowledged: int
    lost: list[str]
    duplicates: list[str]
    open_jobs: list[dict[str, Any]]
    statuses: Counter[str] = field(default_factory=Counter)

    def figures(self, **more: object) -> dict[str, object]:
        return {"workflows": len(self.workflows), "statuses": dict(self.statuses),
                "acknowledged_completions": self.acknowledged, "lost": len(self.lost),
                "duplicates": len(self.duplicates), "steps_redone": self.redone(), **more}

    def redone(self) -> int:
        """Steps decided by a later attempt than the first (a lease lost to the fault)."""
        return sum(1 for history in self.histories.values() for entry in history
                   if (entry.get("attempt") or 1) > 1)


def publish(cluster_url: str, source: str = DEFINITION) -> None:
    status, body = call("POST", f"{cluster_url}/v1/definitions", raw=source.encode(),
                        token=ADMIN, content_type="application/yaml")
    assert status in (200, 201), body


def start_workflows(url: str, count: int, definition: str = "fault") -> list[int]:
    """Start ``count`` workflows in batches of 1,000; their ids."""
    ids: list[int] = []
    for first in range(0, count, 1000):
        batch = [{"definition": definition} for _ in range(min(1000, count - first))]
        status, body = call("POST", f"{url}/v1/workflows/batch", {"workflows": batch},
                            token=ADMIN, timeout=120)
        assert status in (200, 201), body
        ids.extend(item["workflow_id"] for item in body["results"])
    return ids


async def _workflows(session: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = f"{url}/v1/workflows?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        async with session.get(query) as response:
            page = await response.json()
        found.extend(page["workflows"])
        cursor = page.get("next_cursor")
        if not cursor:
            return found


async def _histories(session: aiohttp.ClientSession, url: str,
                     ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    limit = asyncio.Semaphore(16)

    async def one(workflow_id: int) -> tuple[int, list[dict[str, Any]]]:
        async with limit, session.get(f"{url}/v1/workflows/{workflow_id}/history") as response:
            assert response.status == 200, await response.text()
            return workflow_id, (await response.json())["history"]

    return dict(await asyncio.gather(*(one(workflow_id) for workflow_id in ids)))


async def _open_jobs(cluster: Cluster) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(cluster.dsn())
    try:
        return [dict(row) for row in await connection.fetch(OPEN_FOR_DECIDED_STEPS)]
    finally:
        await connection.close()


def wait_until_settled(url: str, timeout: float = 180.0) -> float:
    """Seconds until no workflow is running (over HTTP, via ``url``)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            status, page = call("GET", f"{url}/v1/workflows?status=running&limit=1",
                                token=ADMIN, timeout=10)
        except OSError:
            status, page = 0, None
        if status == 200 and not page["workflows"]:
            return time.monotonic() - began
        time.sleep(0.2)
    raise AssertionError(f"workflows still running after {timeout}s")


def walk_problems(history: list[dict[str, Any]], workflow: dict[str, Any],
                  graph: dict[str, Any]) -> list[str]:
    """Why ``history`` is not a walk of ``graph`` ending where ``workflow`` is (none if it is)."""
    problems, here = [], graph["start"]
    for entry in history:
        node = graph["nodes"][entry["source"]]
        edges = node.get("on") or node.get(True) or {}  # YAML 1.1 reads `on` as true
        if entry["source"] != here:
            problems.append(f"step {entry['step']} leaves {entry['source']}, not {here}")
        if entry["kind"] != "moved" and edges.get(entry["label"]) != entry["target"]:
            problems.append(f"step {entry['step']}: no edge {entry['source']} "
                            f"-{entry['label']}-> {entry['target']}")
        here = entry["target"]
    if here != workflow["node"]:
        problems.append(f"history ends at {here}, the workflow is at {workflow['node']}")
    return problems


def check(cluster: Cluster, url: str, *sources: str) -> Outcome:
    """Run every check against the cluster through ``url``; assert they all hold.

    ``sources`` are the definitions published (DEFINITION if none are given).
    """
    outcome = asyncio.run(_gather(cluster, url))
    graphs = {graph["name"]: graph for graph in map(yaml.safe_load, sources or [DEFINITION])}
    assert outcome.statuses.keys() <= ACTIONABLE, f"unfinished workflows: {outcome.statuses}"
    for workflow in outcome.workflows:
        problems = walk_problems(outcome.histories[workflow["workflow_id"]], workflow,
                                 graphs[workflow["definition"]])
        assert not problems, f"workflow {workflow['workflow_id']}: {problems}"
    assert not outcome.lost, f"acknowledged but not in any history: {outcome.lost[:10]}"
    assert not outcome.duplicates, f"in the histories twice: {outcome.duplicates[:10]}"
    assert not outcome.open_jobs, f"open jobs of decided steps: {outcome.open_jobs[:10]}"
    return outcome


async def _gather(cluster: Cluster, url: str) -> Outcome:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        workflows = await _workflows(session, url)
        histories = await _histories(session, url, [w["workflow_id"] for w in workflows])
    in_histories = Counter(entry["job_id"] for history in histories.values()
                           for entry in history if entry.get("job_id"))
    acks = cluster.acknowledged()
    return Outcome(
        workflows=workflows, histories=histories, acknowledged=len(acks),
        lost=sorted(job_id for job_id in acks if in_histories[job_id] == 0),
        duplicates=sorted(job_id for job_id, count in in_histories.items() if count > 1),
        open_jobs=await _open_jobs(cluster),
        statuses=Counter(w["status"] for w in workflows))


def recovered_after(cluster: Cluster, fault_at: float) -> float | None:
    """Seconds from the fault (wall clock) to the first acknowledgement after it."""
    later = [at for at in cluster.acknowledged().values() if at > fault_at]
    return round(min(later) - fault_at, 3) if later else None
