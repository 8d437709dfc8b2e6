"""Every named statement with the names of its parameters, and the one way to run it.

A statement's SQL lives in ``sql/queries.sql``; here it gets its scalar parameters by
name (``$1``, ``$2``, ... in that order) and, for a batch, the row type whose fields
become the parallel arrays that follow. Callers pass values by name, so the order of
``$n`` is kept next to the statement and nowhere else; tests/unit/test_statements.py
checks every statement's SQL against its declaration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from relentless.store.job_ids import JobKey
from relentless.store.queries import query
from relentless.store.rows import (
    ClosingJob,
    ClosingStep,
    EventRow,
    FailedJob,
    IncidentRow,
    NewWorkflow,
    RetryJob,
    TransitionRow,
)

Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy
"""A connection of our own or one borrowed from the pool; both run queries alike."""

Queryable: TypeAlias = Connection | asyncpg.Pool
"""Anything a statement can run on: a connection, or the pool (outside a transaction)."""


def column_names(row_type: type) -> tuple[str, ...]:
    """The columns of a batch row type: a dataclass's or a named tuple's fields."""
    if dataclasses.is_dataclass(row_type):
        return tuple(field.name for field in dataclasses.fields(row_type))
    return tuple(row_type._fields)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Statement:
    """One named statement: scalar parameters by name, then one array per row field."""

    name: str
    parameters: tuple[str, ...] = ()
    rows: type | None = None

    @property
    def sql(self) -> str:
        return query(self.name)

    def arguments(self, rows: Sequence[Any] = (), /, **values: Any) -> list[Any]:
        """The positional arguments of the statement, from values given by name."""
        if set(values) != set(self.parameters):
            raise TypeError(f"statement {self.name!r} takes {list(self.parameters)}, "
                            f"not {sorted(values)}")
        arguments = [values[name] for name in self.parameters]
        if self.rows is not None:
            arguments += [[getattr(row, column) for row in rows]
                          for column in column_names(self.rows)]
        elif rows:
            raise TypeError(f"statement {self.name!r} takes no rows")
        return arguments

    async def fetch(self, connection: Queryable, rows: Sequence[Any] = (), /,
                    **values: Any) -> list[asyncpg.Record]:
        found: list[asyncpg.Record] = await connection.fetch(
            self.sql, *self.arguments(rows, **values))
        return found

    async def fetchrow(self, connection: Queryable, rows: Sequence[Any] = (), /,
                       **values: Any) -> asyncpg.Record | None:
        found: asyncpg.Record | None = await connection.fetchrow(
            self.sql, *self.arguments(rows, **values))
        return found

    async def execute(self, connection: Queryable, rows: Sequence[Any] = (), /,
                      **values: Any) -> None:
        await connection.execute(self.sql, *self.arguments(rows, **values))


# -- definitions ---------------------------------------------------------------------------
LOCK_DEFINITION_NAME = Statement("lock_definition_name", ("name",))
INSERT_DEFINITION = Statement(
    "insert_definition", ("name", "fingerprint", "source", "source_format", "canonical"))
LATEST_DEFINITION_WITH_FINGERPRINT = Statement("latest_definition_with_fingerprint",
                                               ("name", "fingerprint"))
DEFINITION_BY_ID = Statement("definition_by_id", ("id",))
DEFINITION_BY_VERSION = Statement("definition_by_version", ("name", "version"))
LATEST_DEFINITION = Statement("latest_definition", ("name",))
DEFINITION_VERSIONS = Statement("definition_versions", ("name",))
DEFINITION_NAMES = Statement("definition_names")
DEFINITION_ATTEMPT_STATS = Statement("definition_attempt_stats",
                                     ("definition_id", "since", "edges_ms", "limit"))
DEFINITION_WORKFLOWS_SINCE = Statement("definition_workflows_since",
                                       ("definition_id", "since"))

# -- workflows -----------------------------------------------------------------------------
ALLOCATE_WORKFLOW_IDS = Statement("allocate_workflow_ids", ("count",))
START_WORKFLOWS = Statement("start_workflows", ("now",), NewWorkflow)
WORKFLOWS_BY_KEY = Statement("workflows_by_key", ("scopes", "keys"))
LOCK_WORKFLOW = Statement("lock_workflow", ("id",))
CLOSE_STEPS = Statement("close_steps", ("now",), ClosingStep)
CANCEL_WORKFLOW = Statement("cancel_workflow", ("now", "id"))
RAISE_INCIDENTS = Statement("raise_incidents", ("now",), IncidentRow)
TAKE_TRANSITIONS = Statement("take_transitions", ("now",), TransitionRow)
WORKFLOW = Statement("workflow", ("id",))
HISTORY = Statement("history", ("workflow_id",))
JOBS_OF = Statement("jobs_of", ("workflow_id",))
LATEST_ATTEMPT = Statement("latest_attempt", ("workflow_id", "step"))
TIMELINE_ATTEMPTS = Statement("timeline_attempts", ("workflow_id", "after_step", "last_step"))
TIMELINE_TRANSITIONS = Statement("timeline_transitions",
                                 ("workflow_id", "after_step", "last_step"))
TIMELINE_EVENTS = Statement("timeline_events", ("workflow_id", "after_step", "last_step"))
LIST_WORKFLOWS = Statement("list_workflows", ("before", "limit"))
LIST_WORKFLOWS_BY_STATUS = Statement("list_workflows_by_status", ("status", "before", "limit"))
LIST_WORKFLOWS_BY_DEFINITION = Statement(
    "list_workflows_by_definition", ("definition", "before", "limit"))
LIST_WORKFLOWS_BY_STATUS_AND_DEFINITION = Statement(
    "list_workflows_by_status_and_definition", ("status", "definition", "before", "limit"))

_MATCHING = ("before", "status", "definition", "version", "node", "incident", "retrying",
             "created_after", "created_before", "updated_after", "updated_before", "limit")
"""The parameters of a filtered listing (see WorkflowFilter), in the order of ``$n``."""
LIST_ACTIVE_WORKFLOWS_MATCHING = Statement("list_active_workflows_matching", _MATCHING)
LIST_WORKFLOWS_MATCHING = Statement("list_workflows_matching", _MATCHING)
LIST_WORKFLOWS_BY_KEY = Statement(
    "list_workflows_by_key", ("key", "before", "status", "definition", "version", "limit"))
EDGE_TRAVERSALS = Statement("edge_traversals", ("workflow_id",))
RESUME_INCIDENT = Statement("resume_incident", ("now", "id", "step_deadline"))
HASTEN_RETRY = Statement("hasten_retry", ("now", "workflow_id", "step"))

# -- jobs ----------------------------------------------------------------------------------
LEASE_JOBS = Statement("lease_jobs", ("now", "operations", "limit", "worker", "lease_ms"))
HEARTBEAT_JOBS = Statement("heartbeat_jobs", ("now", "worker", "lease_ms"), JobKey)
RELEASE_JOBS = Statement("release_jobs", ("now", "worker"), JobKey)
LOCK_JOBS_FOR_COMPLETION = Statement("lock_jobs_for_completion", (), JobKey)
LOCK_SWEEPABLE = Statement("lock_sweepable", ("now", "limit"))
CLOSE_JOBS = Statement("close_jobs", ("now",), ClosingJob)
SCHEDULE_RETRIES = Statement("schedule_retries", (), RetryJob)
MANUAL_STEPS = Statement("manual_steps", ("limit",))
FAIL_JOBS = Statement("fail_jobs", ("now",), FailedJob)
NOTE_SLA_BREACHES = Statement("note_sla_breaches", ("now", "workflow_ids"))
RECORD_EVENTS = Statement("record_events", ("now",), EventRow)

# -- retention -----------------------------------------------------------------------------
PRUNE_FINISHED = Statement("prune_finished", ("before", "limit"))
COUNT_PRUNABLE = Statement("count_prunable", ("before",))

CLAIM_MANUAL_STEP = Statement("claim_manual_step",
                              ("now", "by", "workflow_id", "step", "attempt"))
MANUAL_CLAIM = Statement("manual_claim", ("workflow_id", "step", "attempt"))

# -- the console ---------------------------------------------------------------------------
FINISHED_SINCE = Statement("finished_since", ("since",))
WORKFLOWS_PER_VERSION = Statement("workflows_per_version", ("name",))

# -- metrics -------------------------------------------------------------------------------
READY_JOBS_BY_OPERATION = Statement("ready_jobs_by_operation", ("now",))
ACTIVE_WORKFLOWS = Statement("active_workflows", ("now", "at_risk_share"))

# -- the service ---------------------------------------------------------------------------
PING = Statement("ping")
DATABASE_TIME = Statement("database_time")
NOTIFY_READY = Statement("notify_ready", ("payload",))


def all_statements() -> dict[str, Statement]:
    """Every statement declared here, by name."""
    return {value.name: value for value in globals().values() if isinstance(value, Statement)}
