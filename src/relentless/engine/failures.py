"""Failed attempts: a worker says an attempt went wrong, and the step retries or gives up.

A failure ends the attempt (recorded with its error). With attempts left and a
retryable failure, the next attempt is ready after the node's backoff; otherwise the
step gives up with ``failed`` (see give_ups). Answers follow completions: the first
failure of a leased attempt is accepted, the same failure again is accepted again and
changes nothing, anything else about a decided or ended attempt is stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from relentless.engine.context import EngineContext
from relentless.engine.give_ups import (
    GiveUp,
    GiveUps,
    has_attempts_left,
    retries_payload,
    retry_of,
)
from relentless.engine.observations import Observations
from relentless.engine.transitions import Transitions
from relentless.engine.values import ACCEPTED, STALE, Answer, Failure, rejected
from relentless.store import statements as sql
from relentless.store.job_ids import JobKey, parse_job_id
from relentless.store.rows import FailedJob, RetryJob
from relentless.store.statements import Connection
from relentless.vocabulary import GiveUpCause, JobState, Reason, WorkflowStatus


async def fail_attempts(context: EngineContext, failures: Sequence[Failure]) -> list[Answer]:
    """Judge each failure; every accepted one is committed before answering."""
    now = context.clock.now()
    keys = [parse_job_id(failure.job_id) for failure in failures]
    known = sorted({key for key in keys if key is not None})
    async with context.transaction() as (connection, seen):
        rows = await sql.LOCK_JOBS_FOR_COMPLETION.fetch(connection, known)
        locked = {JobKey(r["workflow_id"], r["step"], r["attempt"]): r for r in rows}
        batch = _Failures(context, now, locked, seen)
        answers = [batch.judge(failure, key) for failure, key in zip(failures, keys,
                                                                      strict=True)]
        await batch.write(connection)
    return answers


class _Failures:
    """The failures of one batch: judged in order, then written together."""

    def __init__(self, context: EngineContext, now: datetime,
                 rows: dict[JobKey, asyncpg.Record], seen: Observations) -> None:
        self._context = context
        self._now = now
        self._rows = rows
        self._seen = seen
        self._failed: dict[JobKey, Failure] = {}

    def judge(self, failure: Failure, key: JobKey | None) -> Answer:
        row = self._rows.get(key) if key is not None else None
        if row is None or key is None:
            return rejected(Reason.UNKNOWN_JOB)
        if row["manual"]:
            return rejected(Reason.MANUAL_STEP)
        if key in self._failed or row["state"] == JobState.FAILED:
            return ACCEPTED  # a repeated failure: accepted again, nothing changes
        current = (row["status"] == WorkflowStatus.RUNNING and row["state"] == JobState.LEASED
                   and row["step"] == row["current_step"])
        if not current:
            return STALE
        self._failed[key] = failure
        return ACCEPTED

    async def write(self, connection: Connection) -> None:
        if not self._failed:
            return
        ended = await sql.FAIL_JOBS.fetch(connection, [
            FailedJob(*key, failure.error, failure.details)
            for key, failure in self._failed.items()], now=self._now)
        assert len(ended) == len(self._failed), "the attempts are locked and leased"
        self._seen.attempts_ended += [JobState.FAILED] * len(ended)
        retries: list[RetryJob] = []
        give_ups = GiveUps(self._context, self._now, self._seen)
        for key, failure in self._failed.items():
            row = self._rows[key]
            loaded = await self._context.catalog.by_id(row["definition_id"], connection)
            if failure.retryable and has_attempts_left(loaded, row["node"], key.attempt):
                retries.append(retry_of(loaded, row["node"], key, self._now))
            else:
                give_ups.add(GiveUp(loaded, key.workflow, key.step, row["node"], key.attempt,
                                    GiveUpCause.FAILED, failure.error, row["step_started_at"],
                                    row["created_at"]))
        transitions = Transitions(self._now, self._seen)
        give_ups.decide(transitions)
        if retries:
            await sql.SCHEDULE_RETRIES.execute(connection, retries)
            await sql.NOTIFY_READY.execute(connection, payload=retries_payload(retries, self._now))
        await give_ups.write(connection)
        await transitions.write(connection)
