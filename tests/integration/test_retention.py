"""Retention deletes finished workflows past an age, with everything keyed by them, and
never touches a running or incident workflow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg

from relentless.engine.clock import ManualClock
from relentless.engine.engine import Engine
from relentless.engine.values import Completion, Failure, StartRequest

FLOW = """
name: flow
start: work
nodes:
  work: {operation: work, on: {ok: done}}
  done: {}
"""
TABLES = ("relentless_workflows", "relentless_jobs", "relentless_history", "relentless_events")


async def _rows(dsn: str) -> dict[str, set[int]]:
    connection = await asyncpg.connect(dsn)
    try:
        found = {}
        for table in TABLES:
            column = "id" if table == "relentless_workflows" else "workflow_id"
            rows = await connection.fetch(f"SELECT DISTINCT {column} AS id FROM {table}")
            found[table] = {row["id"] for row in rows}
        return found
    finally:
        await connection.close()


def test_prune_deletes_old_finished_workflows_and_keeps_the_rest(
        engine: Engine, clock: ManualClock, database_dsn: str, run: Any) -> None:
    run(engine.definitions.publish(FLOW))
    old_done, old_cancelled, old_incident, old_running = (
        s.workflow_id for s in run(engine.workflows.start([StartRequest("flow")] * 4)))
    jobs = {job.workflow_id: job for job in run(engine.workers.lease("w", ["work"], 4, 30_000))}
    run(engine.workers.complete([Completion(jobs[old_done].job_id, "ok")]))
    run(engine.workflows.cancel(old_cancelled, "ana", "test"))
    run(engine.workers.fail([Failure(jobs[old_incident].job_id, "down", retryable=False)]))
    clock.advance(10 * 86_400)
    [young] = run(engine.workflows.start([StartRequest("flow")]))
    [job] = run(engine.workers.lease("w", ["work"], 1, 30_000))
    run(engine.workers.complete([Completion(job.job_id, "ok")]))
    clock.advance(3600)

    assert run(engine.retention.prunable(timedelta(days=7))) == 2
    assert run(engine.retention.prune(timedelta(days=7), batch=1)) == 2, "in batches of 1"
    rows = run(_rows(database_dsn))
    kept = {old_incident, old_running, young.workflow_id}
    assert rows["relentless_workflows"] == kept
    for table in TABLES[1:]:
        assert not rows[table] & {old_done, old_cancelled}, f"{table} kept a pruned workflow"
    assert run(engine.retention.prune(timedelta(days=7))) == 0
