"""Stored history in bulk: finished workflows with their closed jobs and history rows.

The claim under test is that a lease or a completion costs the same with a million
finished workflows stored as with none. Making those workflows through the engine
would take an hour, so they are written set-based (``INSERT ... SELECT`` over
``generate_series``), one statement per table, each table on a connection of its
own with its indexes set aside and rebuilt once at the end. The rows are what the
engine itself leaves behind for a workflow that walked a linear definition to its
leaf: node ``done``, one completed job and one history entry per step.

On a 2-core machine 100,000 workflows (2.1 million rows) load in about 5 s and
1,000,000 (21 million rows, 3.5 GB with indexes) in about a minute, plus the
VACUUM ANALYZE that follows.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

DEFINITION = "linear"
STEPS = 10
"""Steps of the benchmark's linear definition: s1 .. s10, then the leaf ``done``."""

LABEL = "ok"
LEAF = "done"
WORKER = "bench-loader"
TIMEOUT_MS = 30_000

# Finished work is older than anything the engine does during a run.
LOADED_AT = datetime(2025, 1, 1, tzinfo=UTC)

# $1 definition id, $2 first workflow id, $3 last workflow id, $4 steps, $5 time of
# the first workflow. Each workflow is a millisecond younger than the one before,
# so ids and times grow together, as they do in a real database.
_WORKFLOWS = """
INSERT INTO relentless_workflows (id, definition_id, idempotency_key, node, step, status,
                                  context, step_started_at, step_deadline, created_at,
                                  updated_at)
SELECT w, $1, NULL, 'done', $4 + 1, 'completed', jsonb_build_object('n', w), at, NULL, at, at
FROM generate_series($2::bigint, $3::bigint) AS w,
     LATERAL (SELECT $5::timestamptz + (w - $2) * interval '1 ms' AS at) AS t
"""

# $1 first workflow id, $2 last, $3 steps, $4 time of the first workflow, $5 first
# seq, $6 timeout (ms), $7 holder. One series numbered in primary-key order
# (workflow, then step), as the engine writes them: a cross join of two series is
# planned step-major and scatters the rows. ``seq`` is given, and the identity moved
# past it afterwards, to save a nextval() a row.
_JOBS = """
INSERT INTO relentless_jobs (workflow_id, step, attempt, node, operation, manual, timeout_ms,
                             state, ready_at, holder, leased_at, lease_expires_at, label,
                             completed_by, closed_at, seq)
OVERRIDING SYSTEM VALUE
SELECT w, s, 1, 's' || s, 'step' || s, false, $6::bigint, 'completed', at, $7::text, at,
       at + $6::bigint * interval '1 ms', 'ok', NULL, at, $5 + n
FROM generate_series(0, ($2::bigint - $1::bigint + 1) * $3::integer - 1) AS n,
     LATERAL (SELECT $1 + n / $3 AS w, (n % $3)::integer + 1 AS s) AS k,
     LATERAL (SELECT $4::timestamptz + (w - $1) * interval '1 ms' AS at) AS t
"""

# $1 first workflow id, $2 last, $3 steps, $4 time of the first workflow; in
# primary-key order, as above.
_HISTORY = """
INSERT INTO relentless_history (workflow_id, step, source, target, kind, label, attempt, at,
                                by, reason, output)
SELECT w, s, 's' || s, CASE WHEN s = $3 THEN 'done' ELSE 's' || (s + 1) END, 'completed',
       'ok', 1, $4::timestamptz + (w - $1) * interval '1 ms', NULL, NULL, NULL
FROM generate_series(0, ($2::bigint - $1::bigint + 1) * $3::integer - 1) AS n,
     LATERAL (SELECT $1 + n / $3 AS w, (n % $3)::integer + 1 AS s) AS k
"""

# Ids the engine draws next must not collide with the loaded ones.
_ADVANCE_SEQUENCES = """
SELECT setval(pg_get_serial_sequence('relentless_workflows', 'id'),
              greatest((SELECT max(id) FROM relentless_workflows), 1)),
       setval(pg_get_serial_sequence('relentless_jobs', 'seq'),
              greatest((SELECT max(seq) FROM relentless_jobs), 1))
"""

TABLES = ("relentless_workflows", "relentless_jobs", "relentless_history")


@dataclass(frozen=True, slots=True)
class LoadTimes:
    """Seconds spent writing the rows (indexes rebuilt included), then vacuuming them."""

    workflows: int
    insert_s: float
    vacuum_analyze_s: float


def linear_definition(steps: int = STEPS, name: str = DEFINITION) -> str:
    """YAML of ``s1 -> s2 -> ... -> s<steps> -> done``, every edge labelled ``ok``.

    Each step has an operation of its own (``step<n>``), as real definitions do.
    """
    lines = [f"name: {name}", "start: s1", "defaults:", f"  timeout: {TIMEOUT_MS // 1000}s",
             "nodes:"]
    for step in range(1, steps + 1):
        target = f"s{step + 1}" if step < steps else LEAF
        lines += [f"  s{step}:", f"    operation: step{step}", f"    on: {{{LABEL}: {target}}}"]
    lines.append(f"  {LEAF}: {{}}")
    return "\n".join(lines) + "\n"


def operations(steps: int = STEPS) -> list[str]:
    """Every operation of the linear definition: what a benchmark worker leases."""
    return [f"step{step}" for step in range(1, steps + 1)]


async def store_finished(dsn: str, definition_id: int, count: int, *, steps: int = STEPS,
                         analyze: bool = True) -> LoadTimes:
    """Store ``count`` completed workflows of the linear definition ``definition_id``.

    Their ids follow the largest stored id; call this before the engine starts
    workflows of its own, or at least while none is being started.
    """
    started = time.perf_counter()
    if count > 0:
        first, first_seq = await _next_ids(dsn)
        span = (first, first + count - 1, steps, LOADED_AT)
        await asyncio.gather(
            _load(dsn, "relentless_workflows", _WORKFLOWS, definition_id, *span),
            _load(dsn, "relentless_jobs", _JOBS, *span, first_seq, TIMEOUT_MS, WORKER),
            _load(dsn, "relentless_history", _HISTORY, *span))
        await _execute(dsn, _ADVANCE_SEQUENCES)
    inserted = time.perf_counter()
    if analyze:
        await vacuum_analyze(dsn)
    return LoadTimes(count, inserted - started, time.perf_counter() - inserted)


async def vacuum_analyze(dsn: str) -> None:
    """Fresh statistics and visibility maps, as autovacuum would leave them; concurrently."""
    await asyncio.gather(*(_execute(dsn, f"VACUUM ANALYZE {table}") for table in TABLES))


async def _next_ids(dsn: str) -> tuple[int, int]:
    """The first free workflow id and job seq."""
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow(
            "SELECT (SELECT coalesce(max(id), 0) + 1 FROM relentless_workflows) AS id,"
            " (SELECT coalesce(max(seq), 0) + 1 FROM relentless_jobs) AS seq")
    finally:
        await connection.close()
    assert row is not None
    return int(row["id"]), int(row["seq"])


# Constraints backed by an index or a trigger, in the order they can be added back.
_CONSTRAINTS = """
SELECT conname AS name, pg_get_constraintdef(oid) AS definition
FROM pg_constraint
WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'f')
ORDER BY contype = 'f', conname
"""

_PLAIN_INDEXES = """
SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS definition
FROM pg_index i
WHERE indrelid = $1::regclass
  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""


async def _load(dsn: str, table: str, statement: str, *arguments: object) -> None:
    """Insert into ``table`` with its indexes and foreign keys set aside meanwhile.

    Building an index once from all the rows, and checking a foreign key with one
    join, cost a fraction of maintaining them row by row. It all happens in one
    transaction, so the schema is back exactly as it was whatever happens.
    """
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            restore = await _set_aside_indexes(connection, table)
            await connection.execute(statement, *arguments)
            for ddl in restore:
                await connection.execute(ddl)
    finally:
        await connection.close()


async def _set_aside_indexes(connection: asyncpg.Connection, table: str) -> list[str]:
    """Drop ``table``'s indexes and key constraints; returns the DDL that makes them again."""
    restore = []
    for row in await connection.fetch(_CONSTRAINTS, table):
        await connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{row["name"]}"')
        restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{row["name"]}" {row["definition"]}')
    for row in await connection.fetch(_PLAIN_INDEXES, table):
        await connection.execute(f"DROP INDEX {row['name']}")
        restore.append(row["definition"])
    return restore


async def _execute(dsn: str, statement: str, *arguments: object) -> None:
    """One statement on a connection of its own, so that loads can run side by side."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement, *arguments)
    finally:
        await connection.close()
