"""Defects of the failure path, each reproduced on a real PostgreSQL (issue #10)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from relentless.engine.clock import ManualClock
from relentless.engine.engine import Engine
from relentless.engine.sweeper import _Pass
from relentless.engine.values import Completion, Failure, StartRequest
from relentless.vocabulary import GiveUpCause, JobState, SweepOutcome, Verdict, WorkflowStatus

DEADLINED = """
name: deadlined
start: charge
defaults: {timeout: 5s, attempts: 3, backoff: 1s}
nodes:
  charge:
    operation: charge_card
    deadline: 60s
    on: {ok: done, timeout: late}
  done: {}
  late: {}
"""


@pytest.fixture
def deadlined(engine: Engine, run: Any) -> Engine:
    run(engine.definitions.publish(DEADLINED))
    return engine


async def _sql(dsn: str, statement: str, *arguments: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(statement, *arguments)
        return rows
    finally:
        await connection.close()


def test_a_deadline_seen_through_a_stale_snapshot_closes_every_open_attempt(
        deadlined: Engine, clock: ManualClock, database_dsn: str, run: Any) -> None:
    """Two sweepers: S1 expires attempt 1 and schedules attempt 2; S2, which read the
    step before S1 committed, times the step out by its deadline. No attempt of the
    decided step may stay open (S2's rows are replayed here as it saw them)."""
    [started] = run(deadlined.workflows.start([StartRequest("deadlined")]))
    [job] = run(deadlined.workers.lease("w", ["charge_card"], 1, 5_000))
    clock.advance(6)
    stale = {"id": started.workflow_id, "definition_id": 1, "node": "charge", "step": 1,
             "deadline_passed": True, "attempt": 1, "job_state": "leased",
             "lease_expired": True, "sla_breached": False, "step_started_at": None,
             "created_at": None}
    [retry] = run(deadlined.sweeper.tick())  # S1
    assert retry.outcome is SweepOutcome.RETRY_SCHEDULED

    async def second_sweeper() -> None:
        loaded = await deadlined.definitions.by_id(1)
        sweep = _Pass(deadlined.sweeper._context, clock.now())
        sweep.handle(loaded, stale)  # type: ignore[arg-type]
        async with deadlined.database.transaction() as connection:
            await sweep.write(connection)

    run(second_sweeper())
    open_jobs = run(_sql(database_dsn, "SELECT step, attempt FROM relentless_jobs WHERE "
                         "state IN ('ready', 'leased')"))
    assert [tuple(row) for row in open_jobs] == [], "an attempt of a decided step is open"
    workflow = run(deadlined.workflows.get(started.workflow_id))
    assert (workflow.node, workflow.status) == ("late", WorkflowStatus.COMPLETED)
    assert job.job_id  # attempt 1 was leased


def test_a_row_the_sweeper_cannot_write_becomes_an_incident_and_the_rest_are_swept(
        deadlined: Engine, clock: ManualClock, database_dsn: str, run: Any) -> None:
    good, bad = run(deadlined.workflows.start([StartRequest("deadlined"),
                                              StartRequest("deadlined")]))
    # The step counter at its type's limit: taking the timeout edge cannot be written.
    run(_sql(database_dsn, "UPDATE relentless_jobs SET step = 2147483647 WHERE workflow_id = $1",
             bad.workflow_id))
    run(_sql(database_dsn, "UPDATE relentless_workflows SET step = 2147483647 WHERE id = $1",
             bad.workflow_id))
    clock.advance(61)
    events = run(deadlined.sweeper.tick())
    assert {(e.workflow_id, e.outcome, e.cause) for e in events} == {
        (good.workflow_id, SweepOutcome.TIMEOUT_ROUTED, GiveUpCause.DEADLINE_PASSED),
        (bad.workflow_id, SweepOutcome.INCIDENT, GiveUpCause.UNWRITABLE)}
    assert run(deadlined.workflows.get(good.workflow_id)).node == "late"
    stuck = run(deadlined.workflows.get(bad.workflow_id))
    assert (stuck.status, stuck.incident) == (WorkflowStatus.INCIDENT, GiveUpCause.UNWRITABLE)
    assert run(deadlined.sweeper.tick()) == [], "the incident is not swept again"


def test_a_failure_uses_an_attempt_and_the_last_one_gives_up(
        deadlined: Engine, clock: ManualClock, run: Any) -> None:
    [started] = run(deadlined.workflows.start([StartRequest("deadlined")]))
    for attempt in (1, 2, 3):
        [job] = run(deadlined.workers.lease("w", ["charge_card"], 1, 5_000))
        assert job.attempt == attempt
        if attempt > 1:
            waiting = run(deadlined.workflows.get(started.workflow_id))
            assert (waiting.attempt.attempt, waiting.last_error) == (  # type: ignore[union-attr]
                attempt, f"RuntimeError: try {attempt - 1}"), "the next try, the last error"
        failure = Failure(job.job_id, f"RuntimeError: try {attempt}")
        assert [a.verdict for a in run(deadlined.workers.fail([failure, failure]))] == [
            Verdict.ACCEPTED, Verdict.ACCEPTED], "a repeat is accepted and changes nothing"
        assert run(deadlined.workers.lease("w", ["charge_card"], 1, 5_000)) == [], \
            "the next attempt waits for the backoff"
        clock.advance(1)
    [stale] = run(deadlined.workers.complete([Completion(job.job_id, "ok")]))
    assert stale.verdict is Verdict.STALE
    workflow = run(deadlined.workflows.get(started.workflow_id))
    assert (workflow.status, workflow.incident) == (WorkflowStatus.INCIDENT, GiveUpCause.FAILED)
    assert workflow.attempt is not None
    assert (workflow.attempt.attempt, workflow.attempt.state, workflow.attempt.error) == (
        3, JobState.FAILED, "RuntimeError: try 3")
