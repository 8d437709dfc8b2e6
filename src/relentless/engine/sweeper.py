"""The sweeper: lease expiry, retries after backoff, step deadlines, timeouts.

Safe to run on every node at once: it locks the workflows it handles with SKIP
LOCKED, so two sweepers never handle one workflow, and a workflow being completed
right now is simply looked at on the next tick.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import asyncpg

from relentless.core.compiler import TIMEOUT_LABEL
from relentless.core.definition import RESERVED_LABEL
from relentless.core.status import Status
from relentless.engine.catalog import LoadedDefinition
from relentless.engine.context import EngineContext
from relentless.engine.transitions import Edge, Transitions
from relentless.engine.values import Swept
from relentless.store import statements as sql
from relentless.store.job_ids import JobKey
from relentless.store.rows import ClosingJob, IncidentRow, RetryJob
from relentless.store.statements import Connection
from relentless.vocabulary import JobState, SweepOutcome, TimeoutCause, TransitionKind

DEFAULT_BATCH = 1_000

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, context: EngineContext) -> None:
        self._context = context

    async def tick(self, batch: int = DEFAULT_BATCH) -> list[Swept]:
        """Handle every workflow that is due now, ``batch`` per transaction."""
        events: list[Swept] = []
        while True:
            handled, full = await self._sweep_once(batch)
            events.extend(handled)
            if not full or not handled:  # all due rows seen, or no progress to make
                return sorted(events, key=lambda event: event.workflow_id)

    async def _sweep_once(self, batch: int) -> tuple[list[Swept], bool]:
        """One transaction's events, and whether it took a full batch (more may be due)."""
        now = self._context.clock.now()
        async with self._context.database.transaction() as connection:
            rows = await sql.LOCK_SWEEPABLE.fetch(connection, now=now, limit=batch)
            sweep = _Pass(self._context, now)
            for row in rows:
                try:
                    sweep.handle(await self._context.catalog.by_id(row["definition_id"],
                                                                   connection), row)
                except Exception:
                    # One workflow the sweeper cannot handle must not stop the others.
                    log.exception("sweeper skipped workflow %s", row["id"])
            await sweep.write(connection)
        return sweep.events, len(rows) == batch


class _Pass:
    """One transaction's worth of sweeping: decisions first, then set-based writes."""

    def __init__(self, context: EngineContext, now: datetime) -> None:
        self._context = context
        self._now = now
        self.events: list[Swept] = []
        self._closing: list[ClosingJob] = []
        self._expiring: list[tuple[LoadedDefinition, asyncpg.Record, JobKey]] = []
        self._retries: list[RetryJob] = []
        self._timeouts: list[tuple[LoadedDefinition, asyncpg.Record, TimeoutCause]] = []
        self._incidents: list[IncidentRow] = []
        self._transitions = Transitions(now)

    def handle(self, loaded: LoadedDefinition, row: asyncpg.Record) -> None:
        """Deadline first (it ends the whole step), then an expired lease."""
        job = JobKey(row["id"], row["step"], row["attempt"]) if row["attempt"] else None
        if row["deadline_passed"]:
            if job is not None:
                self._closing.append(ClosingJob(*job, JobState.CLOSED))
            self._timeouts.append((loaded, row, TimeoutCause.DEADLINE_PASSED))
        elif job is not None and row["job_state"] == JobState.LEASED and row["lease_expired"]:
            self._closing.append(ClosingJob(*job, JobState.EXPIRED))
            self._expiring.append((loaded, row, job))

    def _expire(self, closed: set[JobKey]) -> None:
        """End the attempts whose expiry held: retry after the backoff, or time out."""
        for loaded, row, job in self._expiring:
            if job not in closed:
                continue  # a heartbeat extended the lease after the sweeper looked
            compiled = loaded.compiled
            node = compiled.node_index[row["node"]]
            if job.attempt >= int(compiled.attempts[node]):
                self._timeouts.append((loaded, row, TimeoutCause.ATTEMPTS_EXHAUSTED))
                continue
            backoff = compiled.definition.nodes[row["node"]].backoff.delay_ms(job.attempt)
            step = compiled.step_settings(node)
            self._retries.append(RetryJob(
                workflow=job.workflow, step=job.step, attempt=job.attempt + 1, node=row["node"],
                operation=step.operation, manual=step.manual, timeout_ms=step.timeout_ms,
                ready_at=self._now + timedelta(milliseconds=backoff)))
            self.events.append(Swept(job.workflow, str(job), SweepOutcome.RETRY_SCHEDULED))

    def _time_out(self) -> None:
        """Take the ``timeout`` edge where the node routes it; otherwise call a person."""
        rows = [(loaded.kernel_id, loaded.compiled.node_index[row["node"]], TIMEOUT_LABEL)
                for loaded, row, _ in self._timeouts]
        for (loaded, row, cause), (target, status) in zip(
                self._timeouts, self._context.advance(rows), strict=True):
            job = str(JobKey(row["id"], row["step"], row["attempt"])) if row["attempt"] else None
            if status in (Status.ADVANCED, Status.REACHED_LEAF):
                self._transitions.add(loaded, Edge(
                    row["id"], row["step"], row["node"], loaded.compiled.node_names[target],
                    TransitionKind.TIMEOUT, RESERVED_LABEL, row["attempt"], None, str(cause)))
                self.events.append(Swept(row["id"], job, SweepOutcome.TIMEOUT_ROUTED, cause))
            else:
                self._incidents.append(IncidentRow(row["id"], cause))
                self.events.append(Swept(row["id"], job, SweepOutcome.INCIDENT, cause))

    async def write(self, connection: Connection) -> None:
        closed: set[JobKey] = set()
        if self._closing:
            rows = await sql.CLOSE_JOBS.fetch(connection, self._closing, now=self._now)
            closed = {JobKey(r["workflow_id"], r["step"], r["attempt"]) for r in rows}
        self._expire(closed)
        self._time_out()
        if self._retries:
            await sql.SCHEDULE_RETRIES.execute(connection, self._retries)
            await sql.NOTIFY_READY.execute(connection)
        if self._incidents:
            await sql.RAISE_INCIDENTS.execute(connection, self._incidents, now=self._now)
        await self._transitions.write(connection)
