"""Hot statements are index-backed: their plans never scan the stored history.

With 100,000 finished workflows stored (a million closed jobs, a million history
rows) and a few hundred live ones, PostgreSQL plans each statement that workers,
the sweeper and operators run against single workflows or batches of them, and the
test fails on any plan node that reads a hot table whole: a sequential scan, or an
index scan with no condition on an index that covers finished rows too (a partial
index of open work may be read whole: it is as small as the open work). Both plans
PostgreSQL may use are checked: the custom plan for these very parameters, and the
generic plan that asyncpg's prepared statements switch to after five executions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bench import fixtures
from relentless.engine.clock import ManualClock
from relentless.engine.engine import Engine
from relentless.engine.values import Completion, StartRequest
from relentless.store.queries import query

STORED = 100_000
LIVE = 300
LEASED = 100
WORKER = "explain-worker"
HOT_TABLES = frozenset({"relentless_jobs", "relentless_workflows", "relentless_history",
                        "relentless_events"})
INDEX_SCANS = frozenset({"Index Scan", "Index Only Scan", "Bitmap Index Scan"})


@dataclass(frozen=True, slots=True)
class Stored:
    """The loaded database: its engine, and the keys parameters are made of."""

    engine: Engine
    now: datetime
    definition_id: int
    finished_id: int
    running_id: int
    leased: list[tuple[int, int, int]]
    full_indexes: frozenset[str]


def _with_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


async def _administer(server_dsn: str, statement: str) -> None:
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


async def _load(dsn: str, clock: ManualClock) -> Stored:
    """100,000 finished workflows set-based, then live ones through the engine, analysed."""
    engine = await Engine.connect(dsn, clock, min_size=1, max_size=2)
    await engine.definitions.publish(fixtures.linear_definition())
    loaded = await engine.definitions.resolve(fixtures.DEFINITION)
    assert loaded is not None
    await fixtures.store_finished(dsn, loaded.id, STORED, analyze=False)
    started = await engine.workflows.start([StartRequest(fixtures.DEFINITION)] * LIVE)
    jobs = await engine.workers.lease(WORKER, fixtures.operations(), LEASED * 2, 30_000)
    # Half the leased jobs completed: workflows on step 2 with ready jobs, the rest leased.
    await engine.workers.complete([Completion(job.job_id, fixtures.LABEL)
                                   for job in jobs[LEASED:]])
    await fixtures.vacuum_analyze(dsn)
    async with engine.database.pool.acquire() as connection:
        full = await connection.fetch(
            "SELECT indexrelid::regclass::text AS name FROM pg_index"
            " WHERE indrelid::regclass::text = ANY($1::text[]) AND indpred IS NULL",
            sorted(HOT_TABLES))
    return Stored(engine, clock.now(), loaded.id, 1, started[-1].workflow_id or 0,
                  [(job.workflow_id, job.step, job.attempt) for job in jobs[:LEASED]],
                  frozenset(row["name"] for row in full))


@pytest.fixture(scope="module")
def stored(server_dsn: str, run: Any) -> Iterator[Stored]:
    """One database for the whole module: loading it is the expensive part."""
    name = f"relentless_explain_{os.getpid()}"
    run(_administer(server_dsn, f'CREATE DATABASE "{name}"'))
    try:
        loaded: Stored = run(_load(_with_database(server_dsn, name), ManualClock()))
        yield loaded
        run(loaded.engine.close())
    finally:
        run(_administer(server_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _keys(keys: list[tuple[int, int, int]]) -> tuple[list[int], list[int], list[int]]:
    return [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]


def _moves(s: Stored) -> tuple[Any, ...]:
    """take_transitions' columns: each leased job completed with ``ok``, s1 -> s2 and on."""
    count = len(s.leased)
    workflows, steps, attempts = _keys(s.leased)
    return (s.now, workflows, steps, [f"s{step}" for step in steps],
            [f"s{step + 1}" for step in steps], ["completed"] * count, ["ok"] * count,
            attempts, [None] * count, [None] * count, [None] * count, [False] * count,
            [None] * count, [f"step{step + 1}" for step in steps], [False] * count,
            [30_000] * count)


def _starts(s: Stored) -> tuple[Any, ...]:
    ids = list(range(10_000_000, 10_000_100))
    return (s.now, ids, [s.definition_id] * 100, ["bench"] * 100, [f"key-{i}" for i in ids],
            ["fingerprint"] * 100, ["s1"] * 100, [{}] * 100,
            [s.now + timedelta(hours=1)] * 100, ["step1"] * 100, [False] * 100,
            [30_000] * 100, [None] * 100)


FIRST_PAGE = 2**63 - 1

# Realistic parameters of each statement: a batch of 100 keys where it takes a batch.
ARGUMENTS: dict[str, Callable[[Stored], tuple[Any, ...]]] = {
    "lease_jobs": lambda s: (s.now, fixtures.operations(), 100, WORKER, 30_000),
    "heartbeat_jobs": lambda s: (s.now, WORKER, 30_000, *_keys(s.leased)),
    "release_jobs": lambda s: (s.now, WORKER, *_keys(s.leased)),
    "lock_jobs_for_completion": lambda s: _keys(s.leased),
    "take_transitions": _moves,
    "lock_sweepable": lambda s: (s.now, 1_000),
    "close_jobs": lambda s: (s.now, *_keys(s.leased), ["expired"] * len(s.leased)),
    "schedule_retries": lambda s: (
        *_keys([(workflow, step, attempt + 1) for workflow, step, attempt in s.leased]),
        ["s1"] * len(s.leased), ["step1"] * len(s.leased), [False] * len(s.leased),
        [30_000] * len(s.leased), [s.now] * len(s.leased)),
    "raise_incidents": lambda s: (s.now, *_keys(s.leased),
                                  ["attempts_exhausted"] * len(s.leased),
                                  [None] * len(s.leased)),
    "note_sla_breaches": lambda s: (s.now, [s.running_id]),
    "fail_jobs": lambda s: (s.now, *_keys(s.leased), ["RuntimeError: down"] * len(s.leased),
                            [None] * len(s.leased)),
    "start_workflows": _starts,
    # The last day's workflows of the version, for its stats (the stored ones are older).
    "definition_attempt_stats": lambda s: (
        s.definition_id, s.now - timedelta(days=1), [0.0, 10.0, 100.0, 1_000.0], 100_000),
    "definition_workflows_since": lambda s: (s.definition_id, s.now - timedelta(days=1)),
    "workflows_by_key": lambda s: (["bench"] * 100, [f"key-{i}" for i in range(100)]),
    "workflow": lambda s: (s.finished_id,),
    "history": lambda s: (s.finished_id,),
    "jobs_of": lambda s: (s.finished_id,),
    "lock_workflow": lambda s: (s.running_id,),
    "close_steps": lambda s: (s.now, [s.running_id], [1]),
    "cancel_workflow": lambda s: (s.now, s.running_id),
    "latest_attempt": lambda s: (s.finished_id, 1),
    "timeline_attempts": lambda s: (s.finished_id, 0, 100),
    "timeline_transitions": lambda s: (s.finished_id, 0, 100),
    "timeline_events": lambda s: (s.finished_id, 0, 100),
    "ready_jobs_by_operation": lambda s: (s.now,),
    "prune_finished": lambda s: (s.now - timedelta(days=3650), 1_000),
    "count_prunable": lambda s: (s.now - timedelta(days=3650),),
    "active_workflows": lambda s: (s.now, 0.8),
    "list_workflows": lambda s: (FIRST_PAGE, 50),
    "list_workflows_by_status": lambda s: ("running", FIRST_PAGE, 50),
    "list_workflows_by_definition": lambda s: (fixtures.DEFINITION, FIRST_PAGE, 50),
    "list_workflows_by_status_and_definition": lambda s: (
        "running", fixtures.DEFINITION, FIRST_PAGE, 50),
    # the console's
    "list_active_workflows_matching": lambda s: (
        FIRST_PAGE, None, None, None, "s1", None, False, None, None, None, None, 50),
    "list_workflows_matching": lambda s: (
        FIRST_PAGE, "completed", fixtures.DEFINITION, 1, None, None, False, None, None, None,
        None, 50),
    "list_workflows_by_key": lambda s: ("key-1", FIRST_PAGE, None, None, None, 50),
    "edge_traversals": lambda s: (s.finished_id,),
    "resume_incident": lambda s: (s.now, s.running_id, s.now),
    "hasten_retry": lambda s: (s.now, s.running_id, 1),
    "claim_manual_step": lambda s: (s.now, "ana", s.running_id, 1, 1),
    "manual_claim": lambda s: (s.running_id, 1, 1),
    "finished_since": lambda s: (s.now - timedelta(minutes=15),),
    "workflows_per_version": lambda s: (fixtures.DEFINITION,),
}


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a plan tree, sub-plans and CTEs included."""
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _full_scans(plan: dict[str, Any], full_indexes: frozenset[str]) -> list[str]:
    """Nodes that read a hot table (or a whole-table index of one) from end to end."""
    found = []
    for node in _nodes(plan):
        kind = node["Node Type"]
        if kind == "Seq Scan" and node.get("Relation Name") in HOT_TABLES:
            found.append(f"Seq Scan on {node['Relation Name']}")
        elif (kind in INDEX_SCANS and "Index Cond" not in node
              and node.get("Index Name") in full_indexes):
            found.append(f"{kind} of all of {node['Index Name']} (no Index Cond)")
    return found


async def _plans(s: Stored, name: str) -> dict[str, dict[str, Any]]:
    """The custom plan for realistic arguments, and the generic plan (any arguments)."""
    arguments = ARGUMENTS[name](s)
    async with s.engine.database.pool.acquire() as connection:
        custom = await connection.fetchval(f"EXPLAIN (FORMAT JSON) {query(name)}", *arguments)
        generic = await _generic_plan(connection, query(name), len(arguments))
    return {"custom": _root(custom), "generic": _root(generic)}


async def _generic_plan(connection: Any, statement: str, parameters: int) -> Any:
    """The plan a prepared statement settles on when it stops planning per execution.

    A generic plan does not depend on the values, so it is shown for NULLs.
    """
    await connection.execute(f"PREPARE relentless_explain AS {statement}")
    try:
        await connection.execute("SET plan_cache_mode = force_generic_plan")
        nulls = ", ".join(["NULL"] * parameters)
        return await connection.fetchval(
            f"EXPLAIN (FORMAT JSON) EXECUTE relentless_explain({nulls})")
    finally:
        await connection.execute("DEALLOCATE relentless_explain; RESET plan_cache_mode")


def _root(explained: Any) -> dict[str, Any]:
    document = json.loads(explained) if isinstance(explained, str) else explained
    root: dict[str, Any] = document[0]["Plan"]
    return root


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_hot_statement_never_scans_stored_history(stored: Stored, run: Any,
                                                  name: str) -> None:
    plans = run(_plans(stored, name))
    problems = {mode: found for mode, plan in plans.items()
                if (found := _full_scans(plan, stored.full_indexes))}
    assert not problems, (
        f"{name} scans a hot table whole with {STORED:,} finished workflows stored: "
        f"{problems}\n" + "\n".join(f"--- {mode} plan ---\n{json.dumps(plans[mode], indent=1)}"
                                    for mode in problems))


def test_the_stored_history_is_what_the_plans_were_made_against(stored: Stored,
                                                                run: Any) -> None:
    async def counts() -> asyncpg.Record:
        async with stored.engine.database.pool.acquire() as connection:
            row = await connection.fetchrow(
                "SELECT (SELECT count(*) FROM relentless_workflows"
                "        WHERE status = 'completed') AS finished,"
                " (SELECT count(*) FROM relentless_workflows WHERE status = 'running') AS live,"
                " (SELECT count(*) FROM relentless_jobs WHERE state = 'leased') AS leased,"
                " (SELECT count(*) FROM relentless_history) AS history")
        assert row is not None
        return row

    row = run(counts())
    assert (row["finished"], row["live"], row["leased"]) == (STORED, LIVE, LEASED)
    assert row["history"] == STORED * fixtures.STEPS + LEASED


BACKLOG = 20_000


def _rows_read(plan: dict[str, Any]) -> int:
    """Rows every scan of relentless_jobs looked at: returned plus filtered out."""
    return sum(node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
               + node.get("Rows Removed by Filter", 0)
               for node in _nodes(plan) if node.get("Relation Name") == "relentless_jobs")


def test_a_backlog_of_an_operation_nobody_serves_is_not_read_by_leases(
        stored: Stored, run: Any) -> None:
    """20,000 ready jobs of an unserved operation, older than any other: a lease of the
    others reads none of them."""
    async def explained() -> dict[str, Any]:
        async with stored.engine.database.pool.acquire() as connection, \
                connection.transaction():
            await connection.execute(
                "INSERT INTO relentless_jobs (workflow_id, step, attempt, node, operation,"
                " manual, timeout_ms, state, ready_at)"
                " SELECT 900000000 + n, 1, 1, 's1', 'nobody_serves', false, 30000, 'ready', $1"
                " FROM generate_series(1, $2) AS n", stored.now - timedelta(hours=1), BACKLOG)
            await connection.execute("ANALYZE relentless_jobs")
            explained = await connection.fetchval(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {query('lease_jobs')}",
                stored.now, fixtures.operations(), 100, WORKER, 30_000)
            raise _Rollback(explained)

    try:
        run(explained())
    except _Rollback as rollback:
        plan = _root(rollback.plan)
    assert _rows_read(plan) < 2 * LIVE, f"the lease read {_rows_read(plan)} job rows"


class _Rollback(Exception):
    def __init__(self, plan: Any) -> None:
        super().__init__("rolled back")
        self.plan = plan
