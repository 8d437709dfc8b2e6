"""Starting workflows, what operators do to them, and reading them back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from relentless.engine import keys
from relentless.engine.catalog import LoadedDefinition
from relentless.engine.context import EngineContext
from relentless.engine.observations import Observations
from relentless.engine.timelines import read_timeline, transition_of
from relentless.engine.transitions import Edge, Transitions, deadline_from
from relentless.engine.values import (
    ACCEPTED,
    STALE,
    Answer,
    Job,
    ManualStep,
    Page,
    Started,
    StartRequest,
    Transition,
    Workflow,
    rejected,
)
from relentless.protocol import AttemptView, Timeline
from relentless.store import statements as sql
from relentless.store.job_ids import JobKey
from relentless.store.listener import ready_payload
from relentless.store.rows import ClosingStep, EventRow, NewWorkflow
from relentless.store.statements import Connection
from relentless.vocabulary import (
    ACTIVE_STATUSES,
    EventKind,
    GiveUpCause,
    JobState,
    Reason,
    TransitionKind,
    Verdict,
    WorkflowStatus,
)

_NO_CURSOR = 2**63 - 1
"""The cursor of the first page: every id is below it."""


class Workflows:
    def __init__(self, context: EngineContext) -> None:
        self._context = context

    async def start(self, requests: Sequence[StartRequest]) -> list[Started]:
        """Start each workflow on its version (the latest when none is given).

        A request whose key was used before for its definition (in an earlier call or
        earlier in this batch) answers with that workflow and creates nothing, whatever
        version it names; with another input it is refused as ``key_conflict``.
        """
        now = self._context.clock.now()
        answers: list[Started | None] = [None] * len(requests)
        # Keys first: a repeat is answered even when the version it names does not resolve.
        wanted = keys.lookup(requests)
        if wanted["keys"]:
            known = await self._context.database.fetch(sql.WORKFLOWS_BY_KEY, **wanted)
            keys.answer_repeats(requests, answers, keys.by_scope(known))
        fresh = await self._fresh(requests, answers)
        async with self._context.transaction() as (connection, seen):
            ids = [row["id"] for row in await sql.ALLOCATE_WORKFLOW_IDS.fetch(
                connection, count=len(fresh))]
            created = await self._insert(connection, now, requests, fresh, ids)
            seen.started += [loaded.name for (_, loaded), workflow_id in zip(fresh, ids,
                                                                              strict=True)
                             if workflow_id in created]
            for (index, loaded), workflow_id in zip(fresh, ids, strict=True):
                if workflow_id in created:
                    answers[index] = Started(verdict=Verdict.ACCEPTED, workflow_id=workflow_id,
                                             version=loaded.version, created=True)
            existing = await sql.WORKFLOWS_BY_KEY.fetch(connection, **keys.lookup(
                request for request, answer in zip(requests, answers, strict=True)
                if answer is None))
        keys.answer_repeats(requests, answers, keys.by_scope(existing))
        return [answer or Started(verdict=Verdict.REJECTED, reason=Reason.UNKNOWN_WORKFLOW)
                for answer in answers]

    async def _fresh(self, requests: Sequence[StartRequest],
                     answers: list[Started | None]) -> list[tuple[int, LoadedDefinition]]:
        """The unanswered requests to insert, with their version; an unknown definition or
        version is answered here, and a key's later repeats in the batch wait for it."""
        fresh: list[tuple[int, LoadedDefinition]] = []
        seen_keys: set[tuple[str, str]] = set()
        resolved: dict[tuple[str, int | None], LoadedDefinition | None] = {}
        for index, request in enumerate(requests):
            if answers[index] is not None:
                continue
            wanted = (request.definition, request.version)
            if wanted not in resolved:  # one look-up per distinct version, not per request
                resolved[wanted] = await self._context.catalog.resolve(*wanted)
            loaded = resolved[wanted]
            if loaded is None:
                known = await self._context.catalog.resolve(request.definition) is not None
                reason = Reason.UNKNOWN_VERSION if known else Reason.UNKNOWN_DEFINITION
                answers[index] = Started(verdict=Verdict.REJECTED, reason=reason)
            elif request.key is not None and (request.definition, request.key) in seen_keys:
                continue  # answered below, from the first request with this key
            else:
                if request.key is not None:
                    seen_keys.add((request.definition, request.key))
                fresh.append((index, loaded))
        return fresh

    async def _insert(self, connection: Connection, now: datetime,
                      requests: Sequence[StartRequest],
                      fresh: list[tuple[int, LoadedDefinition]], ids: list[int]) -> set[int]:
        new = []
        for (index, loaded), workflow_id in zip(fresh, ids, strict=True):
            compiled = loaded.compiled
            step = compiled.step_settings(compiled.start)
            new.append(NewWorkflow(
                id=workflow_id, definition_id=loaded.id,
                idempotency_scope=loaded.name if requests[index].key is not None else None,
                idempotency_key=requests[index].key,
                input_fingerprint=(keys.input_fingerprint(requests[index].context)
                                   if requests[index].key is not None else None),
                node=compiled.node_names[compiled.start], context=requests[index].context or {},
                step_deadline=deadline_from(now, step), operation=step.operation,
                manual=step.manual, timeout_ms=step.timeout_ms,
                sla_deadline=_sla_deadline(now, loaded)))
        rows = await sql.START_WORKFLOWS.fetch(connection, new, now=now)
        created = {row["id"] for row in rows}
        leasable = [workflow.operation for workflow in new
                    if workflow.id in created and not workflow.manual]
        if leasable:  # a start of manual steps only wakes nobody (empty wakes everyone)
            await sql.NOTIFY_READY.execute(connection, payload=ready_payload(leasable))
        return {row["id"] for row in rows}

    async def cancel(self, workflow_id: int, by: str | None = None, reason: str = "", *,
                     step: int | None = None) -> Answer:
        """Stop a running or incident workflow; its open job's completions become stale.

        The audit trail records who cancelled and why (and an incident as resolved). With
        ``step``, a workflow no longer on that step is left alone (stale: it moved on).
        """
        now = self._context.clock.now()
        async with self._context.transaction() as (connection, seen):
            row = await sql.LOCK_WORKFLOW.fetchrow(connection, id=workflow_id)
            if row is None:
                return rejected(Reason.UNKNOWN_WORKFLOW)
            if row["status"] == WorkflowStatus.CANCELLED:
                return ACCEPTED
            if row["status"] not in ACTIVE_STATUSES:
                return rejected(Reason.FINISHED)
            if step is not None and row["step"] != step:
                return STALE
            await self._close_open_job(connection, now, row)
            await sql.CANCEL_WORKFLOW.execute(connection, now=now, id=workflow_id)
            await self._record(connection, now, row, EventKind.CANCELLED, by, reason, seen)
            seen.cancelled.append(
                (await self._context.catalog.by_id(row["definition_id"], connection)).name)
        return ACCEPTED

    async def move(self, workflow_id: int, node: str, by: str, reason: str = "", *,
                   step: int | None = None) -> Answer:
        """A person puts a running or incident workflow on any node of its version (with
        ``step``, only if it is still on that step: else stale, it moved on)."""
        now = self._context.clock.now()
        async with self._context.transaction() as (connection, seen):
            row = await sql.LOCK_WORKFLOW.fetchrow(connection, id=workflow_id)
            if row is None:
                return rejected(Reason.UNKNOWN_WORKFLOW)
            if row["status"] not in ACTIVE_STATUSES:
                return rejected(Reason.FINISHED)
            if step is not None and row["step"] != step:
                return STALE
            loaded = await self._context.catalog.by_id(row["definition_id"], connection)
            if node not in loaded.compiled.node_index:
                return rejected(Reason.UNKNOWN_NODE)
            await self._close_open_job(connection, now, row)
            await self._record(connection, now, row, None, by, reason, seen)
            transitions = Transitions(now, seen)
            transitions.add(loaded, Edge(workflow_id, row["step"], row["node"], node,
                                         TransitionKind.MOVED, by=by, reason=reason),
                            step_started_at=row["step_started_at"], created_at=row["created_at"])
            await transitions.write(connection)
        return ACCEPTED

    async def _close_open_job(self, connection: Connection, now: datetime,
                              workflow: asyncpg.Record) -> None:
        await sql.CLOSE_STEPS.execute(connection, [ClosingStep(workflow["id"], workflow["step"])],
                                      now=now)

    @staticmethod
    async def _record(connection: Connection, now: datetime, workflow: asyncpg.Record,
                      kind: EventKind | None, by: str | None, reason: str,
                      seen: Observations) -> None:
        """Audit a person's action: ``kind`` (if any), and an incident resolved by it."""
        kinds = [kind] if kind is not None else []
        if workflow["status"] == WorkflowStatus.INCIDENT:
            kinds.append(EventKind.INCIDENT_RESOLVED)
            seen.incidents_resolved += 1
        if kinds:
            await sql.RECORD_EVENTS.execute(connection, [
                EventRow(workflow["id"], workflow["step"], None, each, by, reason or None, None)
                for each in kinds], now=now)

    async def get(self, workflow_id: int, *, with_history: bool = True) -> Workflow | None:
        """One workflow with its position, status, context and (by default) history."""
        rows = await self._context.database.fetch(sql.WORKFLOW, id=workflow_id)
        if not rows:
            return None
        history = await self.history(workflow_id) if with_history else []
        attempts = await self._context.database.fetch(
            sql.LATEST_ATTEMPT, workflow_id=workflow_id, step=rows[0]["step"])
        attempt = (msgspec.convert(dict(attempts[0]), AttemptView, from_attributes=True)
                   if attempts else None)
        last_error = attempts[0]["last_error"] if attempts else None
        return workflow_of(rows[0], tuple(history), attempt, last_error)

    async def history(self, workflow_id: int) -> list[Transition]:
        """Every edge the workflow took, in order: a path of its graph from the start."""
        rows = await self._context.database.fetch(sql.HISTORY, workflow_id=workflow_id)
        return [transition_of(workflow_id, row) for row in rows]

    async def timeline(self, workflow_id: int, after_step: int = 0,
                       limit: int = 100) -> Timeline | None:
        """Steps after ``after_step`` with every attempt, event and transition."""
        rows = await self._context.database.fetch(sql.WORKFLOW, id=workflow_id)
        if not rows:
            return None
        return await read_timeline(self._context.database, workflow_id, rows[0]["step"],
                                   rows[0]["node"], after_step, limit)

    async def jobs(self, workflow_id: int) -> list[Job]:
        """Every job (attempt) the workflow has had, oldest first."""
        rows = await self._context.database.fetch(sql.JOBS_OF, workflow_id=workflow_id)
        return [_job(row) for row in rows]

    async def page(self, *, status: WorkflowStatus | None = None, definition: str | None = None,
                   limit: int = 100, cursor: int | None = None) -> Page:
        """Workflows newest first, filtered; ``cursor`` is the previous page's next_cursor."""
        before = cursor if cursor is not None else _NO_CURSOR
        database = self._context.database
        if status is not None and definition is not None:
            rows = await database.fetch(sql.LIST_WORKFLOWS_BY_STATUS_AND_DEFINITION,
                                        status=status, definition=definition, before=before,
                                        limit=limit)
        elif status is not None:
            rows = await database.fetch(sql.LIST_WORKFLOWS_BY_STATUS, status=status,
                                        before=before, limit=limit)
        elif definition is not None:
            rows = await database.fetch(sql.LIST_WORKFLOWS_BY_DEFINITION, definition=definition,
                                        before=before, limit=limit)
        else:
            rows = await database.fetch(sql.LIST_WORKFLOWS, before=before, limit=limit)
        workflows = tuple(workflow_of(row) for row in rows)
        next_cursor = workflows[-1].id if len(workflows) == limit else None
        return Page(workflows, next_cursor)

    async def manual_steps(self, limit: int = 100) -> list[ManualStep]:
        """Open manual steps waiting for a person, oldest first."""
        steps = []
        for row in await self._context.database.fetch(sql.MANUAL_STEPS, limit=limit):
            compiled = (await self._context.catalog.by_id(row["definition_id"])).compiled
            steps.append(ManualStep(
                job_id=str(JobKey(row["workflow_id"], row["step"], row["attempt"])),
                workflow_id=row["workflow_id"], step=row["step"], node=row["node"],
                operation=row["operation"], ready_at=row["ready_at"],
                labels=compiled.offered_labels(compiled.node_index[row["node"]]),
                context=_context_of(row), step_deadline=row["step_deadline"],
                claimed_by=row["claimed_by"], claimed_at=row["claimed_at"]))
        return steps


def _sla_deadline(now: datetime, loaded: LoadedDefinition) -> datetime | None:
    sla_ms = loaded.compiled.definition.sla_ms
    return None if sla_ms is None else now + timedelta(milliseconds=sla_ms)


def workflow_of(row: asyncpg.Record, history: tuple[Transition, ...] = (),
                attempt: AttemptView | None = None, last_error: str | None = None) -> Workflow:
    """A workflow row (the columns of the ``workflow`` statement) as the engine's value."""
    return Workflow(
        id=row["id"], definition=row["definition"], version=row["version"],
        key=row["idempotency_key"], node=row["node"], step=row["step"],
        status=WorkflowStatus(row["status"]),
        outcome=row["node"] if row["status"] == WorkflowStatus.COMPLETED else None,
        incident=GiveUpCause(row["incident"]) if row["incident"] else None,
        context=_context_of(row),
        step_started_at=row["step_started_at"], step_deadline=row["step_deadline"],
        created_at=row["created_at"], updated_at=row["updated_at"], attempt=attempt,
        last_error=last_error, history=history)


def _context_of(row: asyncpg.Record) -> dict[str, Any]:
    context = row["context"]
    return context if isinstance(context, dict) else dict(json.loads(context))


def _job(row: asyncpg.Record) -> Job:
    return Job(job_id=str(JobKey(row["workflow_id"], row["step"], row["attempt"])),
               workflow_id=row["workflow_id"], step=row["step"], attempt=row["attempt"],
               node=row["node"], operation=row["operation"], manual=row["manual"],
               state=JobState(row["state"]), ready_at=row["ready_at"], holder=row["holder"],
               leased_at=row["leased_at"], lease_expires_at=row["lease_expires_at"],
               label=row["label"], completed_by=row["completed_by"])
