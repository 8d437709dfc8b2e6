"""The sweeper: lease expiry, retries after backoff, step deadlines, timeouts.

Safe to run on every node at once: it locks the workflows it handles with SKIP
LOCKED, so two sweepers never handle one workflow, and a workflow being completed
right now is simply looked at on the next tick.
"""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg

from relentless.engine.catalog import LoadedDefinition
from relentless.engine.context import EngineContext
from relentless.engine.give_ups import (
    GiveUp,
    GiveUps,
    has_attempts_left,
    retries_payload,
    retry_of,
)
from relentless.engine.observations import IncidentRaised, Observations
from relentless.engine.transitions import Transitions
from relentless.engine.values import Swept
from relentless.store import statements as sql
from relentless.store.database import TRANSIENT_ERRORS
from relentless.store.job_ids import JobKey
from relentless.store.rows import ClosingJob, ClosingStep, IncidentRow, RetryJob
from relentless.store.statements import Connection
from relentless.vocabulary import GiveUpCause, JobState, SweepOutcome

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
        async with self._context.transaction() as (connection, seen):
            rows = await sql.LOCK_SWEEPABLE.fetch(connection, now=now, limit=batch)
            handled = []
            for row in rows:
                try:
                    handled.append((await self._context.catalog.by_id(row["definition_id"],
                                                                      connection), row))
                except Exception:
                    # One workflow the sweeper cannot handle must not stop the others.
                    log.exception("sweeper skipped workflow %s", row["id"])
            events = await self._write_isolated(connection, now, handled, seen)
        return events, len(rows) == batch

    async def _write_isolated(self, connection: Connection, now: datetime,
                              handled: list[tuple[LoadedDefinition, asyncpg.Record]],
                              seen: Observations) -> list[Swept]:
        """The pass, set-based; if PostgreSQL refuses it, each workflow on its own, and one
        it still refuses becomes an incident saying why, so the rest are not held back."""
        if not handled:
            return []
        try:
            return await self._write(connection, now, handled, seen)
        except TRANSIENT_ERRORS:
            raise  # a deadlock or a lost connection: the whole tick is tried again
        except asyncpg.PostgresError as exc:
            log.warning("sweeper pass refused (%s); writing its workflows one by one", exc)
        events: list[Swept] = []
        for loaded, row in handled:
            try:
                events += await self._write(connection, now, [(loaded, row)], seen)
            except TRANSIENT_ERRORS:
                raise
            except asyncpg.PostgresError as exc:
                log.error("sweeper cannot write workflow %s (%s): raising an incident",
                          row["id"], exc)
                await self._unwritable(connection, now, row, exc)
                seen.incidents.append(IncidentRaised(row["id"], loaded.name,
                                                     GiveUpCause.UNWRITABLE, str(exc)))
                events.append(Swept(row["id"], None, SweepOutcome.INCIDENT,
                                    GiveUpCause.UNWRITABLE))
        return events

    async def _write(self, connection: Connection, now: datetime,
                     handled: list[tuple[LoadedDefinition, asyncpg.Record]],
                     seen: Observations) -> list[Swept]:
        sweep = _Pass(self._context, now)
        for loaded, row in handled:
            sweep.handle(loaded, row)
        async with connection.transaction():  # a savepoint: refused, it leaves nothing
            await sweep.write(connection)
        seen.absorb(sweep.seen)  # only once written
        return sweep.events

    @staticmethod
    async def _unwritable(connection: Connection, now: datetime, row: asyncpg.Record,
                          error: Exception) -> None:
        """An incident saying why; its open attempt is closed, so no worker runs a step
        that waits for a person."""
        await sql.CLOSE_STEPS.execute(connection, [ClosingStep(row["id"], row["step"])],
                                      now=now)
        await sql.RAISE_INCIDENTS.execute(connection, [IncidentRow(
            row["id"], row["step"], row["attempt"], GiveUpCause.UNWRITABLE,
            f"{type(error).__name__}: {error}")], now=now)


class _Pass:
    """One transaction's worth of sweeping: decisions first, then set-based writes."""

    def __init__(self, context: EngineContext, now: datetime) -> None:
        self._context = context
        self._now = now
        self.events: list[Swept] = []
        self.seen = Observations()
        self._breached: list[tuple[int, str]] = []
        self._deadlines: list[tuple[LoadedDefinition, asyncpg.Record]] = []
        self._expiring: list[tuple[LoadedDefinition, asyncpg.Record, JobKey]] = []
        self._retries: list[RetryJob] = []
        self._give_ups = GiveUps(context, now, self.seen)
        self._transitions = Transitions(now, self.seen)

    def handle(self, loaded: LoadedDefinition, row: asyncpg.Record) -> None:
        """Deadline first (it ends the whole step), then an expired lease; a breached SLA
        is noted whatever else happens."""
        if row["sla_breached"]:
            self._breached.append((row["id"], loaded.name))
        if row["deadline_passed"]:
            self._deadlines.append((loaded, row))
        elif row["attempt"] and row["job_state"] == JobState.LEASED and row["lease_expired"]:
            self._expiring.append((loaded, row, JobKey(row["id"], row["step"], row["attempt"])))

    async def _close(self, connection: Connection) -> tuple[set[tuple[int, int]], set[JobKey]]:
        """End the attempts this pass takes away: every open one of a step whose deadline
        passed (whichever it is now), and leases whose expiry still holds."""
        closed_steps: set[tuple[int, int]] = set()
        if self._deadlines:
            rows = await sql.CLOSE_STEPS.fetch(connection, [
                ClosingStep(row["id"], row["step"]) for _, row in self._deadlines],
                now=self._now)
            closed_steps = {(r["workflow_id"], r["step"]) for r in rows}
        expired: set[JobKey] = set()
        if self._expiring:
            rows = await sql.CLOSE_JOBS.fetch(connection, [
                ClosingJob(*job, JobState.EXPIRED) for _, _, job in self._expiring],
                now=self._now)
            expired = {JobKey(r["workflow_id"], r["step"], r["attempt"]) for r in rows}
            self.seen.attempts_ended += [JobState.EXPIRED] * len(expired)
        return closed_steps, expired

    def _decide(self, closed_steps: set[tuple[int, int]], expired: set[JobKey]) -> None:
        for loaded, row in self._deadlines:
            if (row["id"], row["step"]) in closed_steps or row["attempt"] is None:
                self._give_up(loaded, row, row["attempt"], GiveUpCause.DEADLINE_PASSED)
        for loaded, row, job in self._expiring:
            if job not in expired:
                continue  # a heartbeat extended the lease after the sweeper looked
            if has_attempts_left(loaded, row["node"], job.attempt):
                self._retries.append(retry_of(loaded, row["node"], job, self._now))
                self.events.append(Swept(job.workflow, str(job), SweepOutcome.RETRY_SCHEDULED))
            else:
                self._give_up(loaded, row, job.attempt, GiveUpCause.ATTEMPTS_EXHAUSTED)

    def _give_up(self, loaded: LoadedDefinition, row: asyncpg.Record, attempt: int | None,
                 cause: GiveUpCause) -> None:
        self._give_ups.add(GiveUp(loaded, row["id"], row["step"], row["node"], attempt, cause,
                                  None, row["step_started_at"], row["created_at"]))

    async def write(self, connection: Connection) -> None:
        self._decide(*await self._close(connection))
        for give_up, routed in self._give_ups.decide(self._transitions):
            job = (str(JobKey(give_up.workflow_id, give_up.step, give_up.attempt))
                   if give_up.attempt else None)
            outcome = SweepOutcome.TIMEOUT_ROUTED if routed else SweepOutcome.INCIDENT
            self.events.append(Swept(give_up.workflow_id, job, outcome, give_up.cause))
        if self._retries:
            await sql.SCHEDULE_RETRIES.execute(connection, self._retries)
            await sql.NOTIFY_READY.execute(connection,
                                           payload=retries_payload(self._retries, self._now))
        await self._give_ups.write(connection)
        await self._transitions.write(connection)
        if self._breached:
            await sql.NOTE_SLA_BREACHES.execute(
                connection, now=self._now, workflow_ids=[wid for wid, _ in self._breached])
            self.seen.sla_breaches += self._breached
