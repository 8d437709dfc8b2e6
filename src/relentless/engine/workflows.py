"""Starting workflows, what operators do to them, and reading them back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from relentless.engine.answers import (
    ACCEPTED,
    Answer,
    Job,
    ManualStep,
    Page,
    Reason,
    Started,
    StartRequest,
    TimeoutCause,
    Transition,
    TransitionKind,
    Verdict,
    Workflow,
    WorkflowStatus,
    rejected,
)
from relentless.engine.catalog import LoadedDefinition
from relentless.engine.context import EngineContext
from relentless.engine.job_ids import JobKey, key_columns
from relentless.engine.transitions import Edge, Transitions, deadline_from
from relentless.store.database import Connection, query

_ACTIVE = ("running", "incident")
_NO_CURSOR = 2**63 - 1
"""The cursor of the first page: every id is below it."""


class Workflows:
    def __init__(self, context: EngineContext) -> None:
        self._context = context

    async def start(self, requests: Sequence[StartRequest]) -> list[Started]:
        """Start each workflow on its version (the latest when none is given).

        A request whose idempotency key was seen before (in an earlier call or
        earlier in this batch) answers with the existing workflow and creates nothing.
        """
        now = self._context.clock.now()
        answers: list[Started | None] = [None] * len(requests)
        fresh: list[tuple[int, LoadedDefinition]] = []
        seen_keys: dict[str, int] = {}
        resolved: dict[tuple[str, int | None], LoadedDefinition | None] = {}
        for index, request in enumerate(requests):
            wanted = (request.definition, request.version)
            if wanted not in resolved:  # one look-up per distinct version, not per request
                resolved[wanted] = await self._context.catalog.resolve(*wanted)
            loaded = resolved[wanted]
            if loaded is None:
                known = await self._context.catalog.resolve(request.definition) is not None
                reason = Reason.UNKNOWN_VERSION if known else Reason.UNKNOWN_DEFINITION
                answers[index] = Started(Verdict.REJECTED, reason=reason)
            elif request.key is not None and request.key in seen_keys:
                continue  # answered below, as the first request with this key is
            else:
                if request.key is not None:
                    seen_keys[request.key] = index
                fresh.append((index, loaded))
        async with self._context.database.transaction() as connection:
            ids = [row["id"] for row in await connection.fetch(
                query("allocate_workflow_ids"), len(fresh))]
            created = await self._insert(connection, now, requests, fresh, ids)
            for (index, loaded), workflow_id in zip(fresh, ids, strict=True):
                if workflow_id in created:
                    answers[index] = Started(Verdict.ACCEPTED, workflow_id, loaded.version, True)
            existing = await connection.fetch(query("workflows_by_key"), [
                request.key for request, answer in zip(requests, answers, strict=True)
                if answer is None and request.key is not None])
        by_key = {row["idempotency_key"]: row for row in existing}
        for index, request in enumerate(requests):
            if answers[index] is None and request.key in by_key:
                row = by_key[request.key]
                answers[index] = Started(Verdict.ACCEPTED, row["id"], row["version"], False)
        return [answer or Started(Verdict.REJECTED, reason=Reason.UNKNOWN_WORKFLOW)
                for answer in answers]

    async def _insert(self, connection: Connection, now: datetime,
                      requests: Sequence[StartRequest],
                      fresh: list[tuple[int, LoadedDefinition]], ids: list[int]) -> set[int]:
        columns: list[list[object]] = [[] for _ in range(9)]
        for (index, loaded), workflow_id in zip(fresh, ids, strict=True):
            compiled = loaded.compiled
            step = compiled.step_settings(compiled.start)
            row = (workflow_id, loaded.id, requests[index].key,
                   compiled.node_names[compiled.start], requests[index].context or {},
                   deadline_from(now, step), step.operation, step.manual, step.timeout_ms)
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        rows = await connection.fetch(query("start_workflows"), now, *columns)
        if rows:
            await connection.execute(query("notify_ready"))
        return {row["id"] for row in rows}

    async def cancel(self, workflow_id: int) -> Answer:
        """Stop a running or incident workflow; its open job's completions become stale."""
        now = self._context.clock.now()
        async with self._context.database.transaction() as connection:
            row = await connection.fetchrow(query("lock_workflow"), workflow_id)
            if row is None:
                return rejected(Reason.UNKNOWN_WORKFLOW)
            if row["status"] == "cancelled":
                return ACCEPTED
            if row["status"] not in _ACTIVE:
                return rejected(Reason.FINISHED)
            await self._close_open_job(connection, now, row)
            await connection.execute(query("cancel_workflow"), now, workflow_id)
        return ACCEPTED

    async def move(self, workflow_id: int, node: str, by: str, reason: str = "") -> Answer:
        """A person puts a running or incident workflow on any node of its version."""
        now = self._context.clock.now()
        async with self._context.database.transaction() as connection:
            row = await connection.fetchrow(query("lock_workflow"), workflow_id)
            if row is None:
                return rejected(Reason.UNKNOWN_WORKFLOW)
            if row["status"] not in _ACTIVE:
                return rejected(Reason.FINISHED)
            loaded = await self._context.catalog.by_id(row["definition_id"], connection)
            if node not in loaded.compiled.node_index:
                return rejected(Reason.UNKNOWN_NODE)
            await self._close_open_job(connection, now, row)
            transitions = Transitions(now)
            transitions.add(loaded, Edge(workflow_id, row["step"], row["node"], node,
                                         TransitionKind.MOVED, by=by, reason=reason))
            await transitions.write(connection)
        return ACCEPTED

    async def _close_open_job(self, connection: Connection, now: datetime,
                              workflow: asyncpg.Record) -> None:
        rows = await connection.fetch(query("open_job_of"), workflow["id"], workflow["step"])
        if rows:
            keys = [JobKey(r["workflow_id"], r["step"], r["attempt"]) for r in rows]
            await connection.execute(query("close_jobs"), now, *key_columns(keys),
                                     ["closed"] * len(keys))

    async def get(self, workflow_id: int, *, with_history: bool = True) -> Workflow | None:
        """One workflow with its position, status, context and (by default) history."""
        rows = await self._context.database.fetch("workflow", workflow_id)
        if not rows:
            return None
        history = await self.history(workflow_id) if with_history else []
        return _workflow(rows[0], tuple(history))

    async def history(self, workflow_id: int) -> list[Transition]:
        """Every edge the workflow took, in order: a path of its graph from the start."""
        rows = await self._context.database.fetch("history", workflow_id)
        return [Transition(
            row["step"], row["source"], row["target"], TransitionKind(row["kind"]),
            row["label"], str(JobKey(workflow_id, row["step"], row["attempt"]))
            if row["attempt"] is not None else None, row["attempt"], row["at"], row["by"],
            row["reason"], row["output"]) for row in rows]

    async def jobs(self, workflow_id: int) -> list[Job]:
        """Every job (attempt) the workflow has had, oldest first."""
        rows = await self._context.database.fetch("jobs_of", workflow_id)
        return [_job(row) for row in rows]

    async def page(self, *, status: WorkflowStatus | None = None, definition: str | None = None,
                   limit: int = 100, cursor: int | None = None) -> Page:
        """Workflows newest first, filtered; ``cursor`` is the previous page's next_cursor."""
        before = cursor if cursor is not None else _NO_CURSOR
        if status is not None and definition is not None:
            rows = await self._context.database.fetch(
                "list_workflows_by_status_and_definition", status.value, definition, before,
                limit)
        elif status is not None:
            rows = await self._context.database.fetch(
                "list_workflows_by_status", status.value, before, limit)
        elif definition is not None:
            rows = await self._context.database.fetch(
                "list_workflows_by_definition", definition, before, limit)
        else:
            rows = await self._context.database.fetch("list_workflows", before, limit)
        workflows = tuple(_workflow(row, ()) for row in rows)
        next_cursor = workflows[-1].id if len(workflows) == limit else None
        return Page(workflows, next_cursor)

    async def manual_steps(self, limit: int = 100) -> list[ManualStep]:
        """Open manual steps waiting for a person, oldest first."""
        steps = []
        for row in await self._context.database.fetch("manual_steps", limit):
            compiled = (await self._context.catalog.by_id(row["definition_id"])).compiled
            steps.append(ManualStep(
                str(JobKey(row["workflow_id"], row["step"], row["attempt"])),
                row["workflow_id"], row["step"], row["node"], row["operation"],
                row["ready_at"], compiled.offered_labels(compiled.node_index[row["node"]])))
        return steps


def _workflow(row: asyncpg.Record, history: tuple[Transition, ...]) -> Workflow:
    context = row["context"]
    return Workflow(
        row["id"], row["definition"], row["version"], row["idempotency_key"], row["node"],
        row["step"], WorkflowStatus(row["status"]),
        TimeoutCause(row["incident"]) if row["incident"] else None,
        context if isinstance(context, dict) else json.loads(context),
        row["step_started_at"], row["step_deadline"], row["created_at"], row["updated_at"],
        history)


def _job(row: asyncpg.Record) -> Job:
    return Job(str(JobKey(row["workflow_id"], row["step"], row["attempt"])), row["workflow_id"],
               row["step"], row["attempt"], row["node"], row["operation"], row["manual"],
               row["state"], row["ready_at"], row["holder"], row["leased_at"],
               row["lease_expires_at"], row["label"], row["completed_by"])
