"""The worker protocol: lease, complete, fail, heartbeat and release, each a batch.

Completion semantics (the spec's): the first acceptable completion of a step's open
job decides the step; the same label again is accepted again and changes nothing;
any other completion of a decided, superseded or cancelled step is stale; a bad
item is rejected with a reason and never fails the rest of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from relentless.core.definition import RESERVED_LABELS
from relentless.core.status import Status
from relentless.engine.context import EngineContext
from relentless.engine.failures import fail_attempts
from relentless.engine.observations import Observations
from relentless.engine.transitions import Edge, Transitions
from relentless.engine.values import (
    ACCEPTED,
    STALE,
    Answer,
    Completion,
    Failure,
    JSONObject,
    LeasedJob,
    LeaseExtension,
    Released,
    rejected,
)
from relentless.store import statements as sql
from relentless.store.job_ids import JobKey, parse_job_id
from relentless.store.listener import ready_payload
from relentless.store.statements import Connection
from relentless.vocabulary import (
    OPEN_JOB_STATES,
    EventKind,
    JobState,
    Reason,
    TransitionKind,
    WorkflowStatus,
)


class WorkerProtocol:
    """What workers (and people completing manual steps) can do."""

    def __init__(self, context: EngineContext) -> None:
        self._context = context

    async def lease(self, worker: str, operations: Sequence[str], max_jobs: int,
                    lease_ms: int) -> list[LeasedJob]:
        """Up to ``max_jobs`` ready jobs of ``operations``, oldest first, leased to ``worker``."""
        now = self._context.clock.now()
        async with self._context.transaction() as (connection, seen):
            rows = await sql.LEASE_JOBS.fetch(connection, now=now, operations=list(operations),
                                              limit=max_jobs, worker=worker, lease_ms=lease_ms)
            leased = []
            seen.queue_waits += [max((now - row["ready_at"]).total_seconds(), 0.0)
                                 for row in rows]
            for row in sorted(rows, key=lambda r: r["seq"]):
                loaded = await self._context.catalog.by_id(row["definition_id"], connection)
                node = loaded.compiled.node_index[row["node"]]
                leased.append(LeasedJob(
                    job_id=str(JobKey(row["workflow_id"], row["step"], row["attempt"])),
                    workflow_id=row["workflow_id"], step=row["step"], attempt=row["attempt"],
                    operation=row["operation"], node=row["node"],
                    labels=loaded.compiled.offered_labels(node), context=row["context"],
                    lease_expires_at=row["lease_expires_at"]))
        return leased

    async def complete(self, completions: Sequence[Completion]) -> list[Answer]:
        """Decide each completion; all accepted ones are committed before answering."""
        return await self._decide(completions, by=None)

    async def complete_manual(self, completion: Completion, by: str) -> Answer:
        """A person's completion of a manual step, recorded with who did it."""
        return (await self._decide([completion], by=by))[0]

    async def fail(self, failures: Sequence[Failure]) -> list[Answer]:
        """End each failed attempt: retry after the backoff, or give the step up."""
        return await fail_attempts(self._context, failures)

    async def heartbeat(self, worker: str, job_ids: Sequence[str],
                        lease_ms: int) -> list[LeaseExtension]:
        """Extend the live leases ``worker`` holds, never past the attempt's timeout."""
        keys = [parse_job_id(job_id) for job_id in job_ids]
        known = [key for key in keys if key is not None]
        rows = await self._context.database.fetch(
            sql.HEARTBEAT_JOBS, known, now=self._context.clock.now(), worker=worker,
            lease_ms=lease_ms)
        expiries = {JobKey(r["workflow_id"], r["step"], r["attempt"]): r["lease_expires_at"]
                    for r in rows}
        return [LeaseExtension(job_id=job_id, extended=key in expiries,
                               lease_expires_at=expiries.get(key) if key else None)
                for job_id, key in zip(job_ids, keys, strict=True)]

    async def release(self, worker: str, job_ids: Sequence[str]) -> list[Released]:
        """Give live leases back: each job is ready again at once, no attempt used."""
        keys = [parse_job_id(job_id) for job_id in job_ids]
        known = [key for key in keys if key is not None]
        async with self._context.transaction() as (connection, seen):
            rows = await sql.RELEASE_JOBS.fetch(connection, known,
                                                now=self._context.clock.now(), worker=worker)
            seen.attempts_ended += [EventKind.RELEASED] * len(rows)
            if rows:
                await sql.NOTIFY_READY.execute(
                    connection, payload=ready_payload(row["operation"] for row in rows))
        released = {JobKey(r["workflow_id"], r["step"], r["attempt"]) for r in rows}
        return [Released(job_id=job_id, released=key in released)
                for job_id, key in zip(job_ids, keys, strict=True)]

    async def _decide(self, completions: Sequence[Completion], by: str | None) -> list[Answer]:
        now = self._context.clock.now()
        keys = [parse_job_id(completion.job_id) for completion in completions]
        known = sorted({key for key in keys if key is not None})
        async with self._context.transaction() as (connection, seen):
            rows = await sql.LOCK_JOBS_FOR_COMPLETION.fetch(connection, known)
            batch = _Batch(self._context, now, {
                JobKey(r["workflow_id"], r["step"], r["attempt"]): r for r in rows}, seen)
            answers = await batch.decide(connection, completions, keys, by)
            await batch.write(connection)
        return answers


class _Batch:
    """The decisions of one batch of completions, and the writes they make."""

    def __init__(self, context: EngineContext, now: datetime,
                 rows: dict[JobKey, asyncpg.Record], seen: Observations) -> None:
        self._context = context
        self._now = now
        self._rows = rows
        self._decided: dict[JobKey, str] = {}
        self._transitions = Transitions(now, seen)

    async def decide(self, connection: Connection, completions: Sequence[Completion],
                     keys: list[JobKey | None], by: str | None) -> list[Answer]:
        answers: list[Answer | None] = []
        candidates: list[tuple[int, JobKey]] = []
        for index, (completion, key) in enumerate(zip(completions, keys, strict=True)):
            answer = self._precheck(completion, key, by)
            answers.append(answer)
            if answer is None and key is not None:
                candidates.append((index, key))
        kernel_rows = []
        for index, key in candidates:
            loaded = await self._context.catalog.by_id(self._rows[key]["definition_id"],
                                                       connection)
            # A label the definition never uses goes in as -1: the kernel says invalid,
            # which, for a step still open, is "label not offered".
            label = loaded.compiled.label_index.get(completions[index].label, -1)
            kernel_rows.append((loaded.kernel_id, loaded.compiled.node_index[
                self._rows[key]["node"]], label))
        outcomes = self._context.advance(kernel_rows)
        for (index, key), (target, status) in zip(candidates, outcomes, strict=True):
            answers[index] = await self._settle(connection, completions[index], key, target,
                                                status, by)
        return [answer if answer is not None else STALE for answer in answers]

    def _precheck(self, completion: Completion, key: JobKey | None,
                  by: str | None) -> Answer | None:
        """The answer that needs no kernel: unknown job, wrong path, decided or stale."""
        row = self._rows.get(key) if key is not None else None
        if row is None or key is None:
            return rejected(Reason.UNKNOWN_JOB)
        if completion.label in RESERVED_LABELS:  # `timeout` and `failed`: the engine's
            return rejected(Reason.RESERVED_LABEL)
        if row["manual"] and by is None:
            return rejected(Reason.MANUAL_STEP)
        if not row["manual"] and by is not None:
            return rejected(Reason.NOT_MANUAL)
        return None

    async def _settle(self, connection: Connection, completion: Completion,
                      key: JobKey, target: int, status: Status, by: str | None) -> Answer:
        """Accept, repeat or refuse one completion, in batch order."""
        row = self._rows[key]
        decided_label = self._decided.get(
            key, row["label"] if row["state"] == JobState.COMPLETED else None)
        if decided_label is not None:
            return ACCEPTED if decided_label == completion.label else STALE
        current = (row["status"] == WorkflowStatus.RUNNING and row["state"] in OPEN_JOB_STATES
                   and row["step"] == row["current_step"])
        if not current:
            return STALE
        if status not in (Status.ADVANCED, Status.REACHED_LEAF):
            return rejected(Reason.LABEL_NOT_OFFERED)
        loaded = await self._context.catalog.by_id(row["definition_id"], connection)
        self._decided[key] = completion.label
        self._transitions.add(loaded, Edge(
            key.workflow, key.step, row["node"], loaded.compiled.node_names[target],
            TransitionKind.MANUAL if by is not None else TransitionKind.COMPLETED,
            completion.label, key.attempt, by, None, _object_or_none(completion.output)),
            step_started_at=row["step_started_at"], created_at=row["created_at"])
        return ACCEPTED

    async def write(self, connection: Connection) -> None:
        """One statement: close the deciding jobs, move the workflows, open next steps."""
        await self._transitions.write(connection)


def _object_or_none(output: JSONObject | None) -> JSONObject | None:
    return output if output else None
