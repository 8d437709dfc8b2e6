"""What a person does to a step besides moving or cancelling: retry it now, and claim a
manual step so that others see who is on it. Each is audited with who and why."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from relentless.engine.catalog import LoadedDefinition
from relentless.engine.context import EngineContext
from relentless.engine.transitions import deadline_from
from relentless.engine.values import ACCEPTED, STALE, Answer, rejected
from relentless.protocol import ClaimResult
from relentless.store import statements as sql
from relentless.store.job_ids import parse_job_id
from relentless.store.listener import ready_payload
from relentless.store.rows import EventRow, RetryJob
from relentless.store.statements import Connection
from relentless.vocabulary import (
    ACTIVE_STATUSES,
    EventKind,
    JobState,
    Reason,
    Verdict,
    WorkflowStatus,
)


class Interventions:
    def __init__(self, context: EngineContext) -> None:
        self._context = context

    async def retry(self, workflow_id: int, by: str, reason: str = "", *,
                    step: int | None = None) -> Answer:
        """Try the current step again now.

        An incident gets a new attempt, ready at once, with a fresh step deadline; a
        running workflow whose next attempt waits out its backoff has it ready at once.
        One whose attempt is leased is refused (in_progress): nothing is to be retried.
        With ``step``, a workflow no longer on that step is left alone (stale).
        """
        now = self._context.clock.now()
        async with self._context.transaction() as (connection, seen):
            row = await sql.LOCK_WORKFLOW.fetchrow(connection, id=workflow_id)
            if row is None:
                return rejected(Reason.UNKNOWN_WORKFLOW)
            if row["status"] not in ACTIVE_STATUSES:
                return rejected(Reason.FINISHED)
            if step is not None and row["step"] != step:
                return STALE
            latest = await sql.LATEST_ATTEMPT.fetchrow(connection, workflow_id=workflow_id,
                                                       step=row["step"])
            loaded = await self._context.catalog.by_id(row["definition_id"], connection)
            if row["status"] == WorkflowStatus.INCIDENT:
                await self._resume(connection, now, row, latest, loaded)
                kinds = [EventKind.RETRIED, EventKind.INCIDENT_RESOLVED]
                seen.incidents_resolved += 1
            elif latest is not None and latest["state"] == JobState.LEASED:
                return rejected(Reason.IN_PROGRESS)
            else:
                hastened = await sql.HASTEN_RETRY.fetch(
                    connection, now=now, workflow_id=workflow_id, step=row["step"])
                if not hastened:
                    return ACCEPTED  # ready already: a worker takes it next
                await _notify(connection, [h["operation"] for h in hastened if not h["manual"]])
                kinds = [EventKind.RETRIED]
            await sql.RECORD_EVENTS.execute(connection, [
                EventRow(workflow_id, row["step"], None, kind, by, reason or None, None)
                for kind in kinds], now=now)
        return ACCEPTED

    @staticmethod
    async def _resume(connection: Connection, now: datetime, row: asyncpg.Record,
                      latest: asyncpg.Record | None, loaded: LoadedDefinition) -> None:
        """An incident's next attempt, ready now, and the workflow running again."""
        compiled = loaded.compiled
        settings = compiled.step_settings(compiled.node_index[row["node"]])
        attempt = (latest["attempt"] + 1) if latest is not None else 1
        await sql.SCHEDULE_RETRIES.execute(connection, [RetryJob(
            workflow=row["id"], step=row["step"], attempt=attempt, node=row["node"],
            operation=settings.operation, manual=settings.manual,
            timeout_ms=settings.timeout_ms, ready_at=now)])
        await sql.RESUME_INCIDENT.execute(connection, now=now, id=row["id"],
                                          step_deadline=deadline_from(now, settings))
        if not settings.manual:
            await _notify(connection, [settings.operation])

    async def claim(self, job_id: str, by: str) -> ClaimResult:
        """``by`` takes an open manual step; claiming one's own claim again is accepted.

        Stale when the step is no longer open; refused when another claimed it first.
        """
        key = parse_job_id(job_id)
        if key is None:
            return ClaimResult(verdict=Verdict.REJECTED, reason=Reason.UNKNOWN_JOB)
        now = self._context.clock.now()
        async with self._context.transaction() as (connection, _):
            row = await sql.CLAIM_MANUAL_STEP.fetchrow(
                connection, now=now, by=by, workflow_id=key.workflow, step=key.step,
                attempt=key.attempt)
            if row is None:
                return ClaimResult(verdict=Verdict.REJECTED, reason=Reason.UNKNOWN_JOB)
            if not row["manual"]:
                return ClaimResult(verdict=Verdict.REJECTED, reason=Reason.NOT_MANUAL)
            if row["state"] != JobState.READY:
                return ClaimResult(verdict=Verdict.STALE)
            if row["claimed_by"] is None:
                return ClaimResult(verdict=Verdict.REJECTED, reason=Reason.CLAIMED,
                                   claimed_by=row["previous"])
            if row["previous"] != by:
                await sql.RECORD_EVENTS.execute(connection, [EventRow(
                    key.workflow, key.step, key.attempt, EventKind.CLAIMED, by, None, None)],
                    now=now)
        return ClaimResult(verdict=Verdict.ACCEPTED, claimed_by=by)

    async def claimant(self, job_id: str) -> str | None:
        """Who claimed a manual step, if anyone."""
        key = parse_job_id(job_id)
        if key is None:
            return None
        rows = await self._context.database.fetch(
            sql.MANUAL_CLAIM, workflow_id=key.workflow, step=key.step, attempt=key.attempt)
        return rows[0]["claimed_by"] if rows else None


async def _notify(connection: Connection, operations: list[str]) -> None:
    if operations:
        await sql.NOTIFY_READY.execute(connection, payload=ready_payload(operations))
