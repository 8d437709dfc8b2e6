"""A step that cannot go on: retry it after its backoff, or give it up.

Giving up is routable: the step takes the reserved label of its cause (``timeout``
for a passed deadline or a last lease run out, ``failed`` for a last or final
failure) where its node has an edge for it; otherwise the workflow becomes an
incident that says why, with the last error, for a person to resolve. The sweeper
and failed attempts share these rules, so they cannot drift apart.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from relentless.core.compiler import NO_EDGE, TIMEOUT_LABEL
from relentless.core.definition import FAILED_LABEL, RESERVED_LABEL
from relentless.core.status import Status
from relentless.engine.catalog import LoadedDefinition
from relentless.engine.context import EngineContext
from relentless.engine.observations import IncidentRaised, Observations
from relentless.engine.transitions import Edge, Transitions
from relentless.store import statements as sql
from relentless.store.job_ids import JobKey
from relentless.store.listener import ready_payload
from relentless.store.rows import IncidentRow, RetryJob
from relentless.store.statements import Connection
from relentless.vocabulary import GiveUpCause, TransitionKind

_LABEL_OF = {GiveUpCause.DEADLINE_PASSED: RESERVED_LABEL,
             GiveUpCause.ATTEMPTS_EXHAUSTED: RESERVED_LABEL,
             GiveUpCause.FAILED: FAILED_LABEL}
_KIND_OF = {RESERVED_LABEL: TransitionKind.TIMEOUT, FAILED_LABEL: TransitionKind.FAILED}


def retry_delay_ms(loaded: LoadedDefinition, node: str, failed_attempts: int) -> int:
    """The node's backoff after ``failed_attempts``, shortened by up to its jitter."""
    backoff = loaded.compiled.definition.nodes[node].backoff
    delay = backoff.delay_ms(failed_attempts)
    return backoff.jittered_ms(delay, random.random()) if backoff.jitter else delay


def retry_of(loaded: LoadedDefinition, node: str, job: JobKey, now: datetime) -> RetryJob:
    """The attempt after ``job``, ready once the backoff has passed."""
    compiled = loaded.compiled
    step = compiled.step_settings(compiled.node_index[node])
    return RetryJob(workflow=job.workflow, step=job.step, attempt=job.attempt + 1, node=node,
                    operation=step.operation, manual=step.manual, timeout_ms=step.timeout_ms,
                    ready_at=now + timedelta(milliseconds=retry_delay_ms(loaded, node,
                                                                         job.attempt)))


def retries_payload(retries: Iterable[RetryJob], now: datetime) -> str:
    """The NOTIFY of scheduled retries: each operation with the delay until it is ready,
    so that waiters wake when the backoff ends, not a poll later."""
    soonest: dict[str, int] = {}
    for retry in retries:
        if not retry.manual:
            delay = max(int((retry.ready_at - now).total_seconds() * 1000), 0)
            soonest[retry.operation] = min(delay, soonest.get(retry.operation, delay))
    return ready_payload((), soonest.items())


def has_attempts_left(loaded: LoadedDefinition, node: str, attempt: int) -> bool:
    compiled = loaded.compiled
    return attempt < int(compiled.attempts[compiled.node_index[node]])


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Step ``step`` of ``workflow_id`` at ``node`` gives up, for ``cause``."""

    loaded: LoadedDefinition
    workflow_id: int
    step: int
    node: str
    attempt: int | None
    cause: GiveUpCause
    error: str | None = None
    step_started_at: datetime | None = None
    created_at: datetime | None = None


class GiveUps:
    """The give-ups of one transaction: routed along their label, or incidents."""

    def __init__(self, context: EngineContext, now: datetime, seen: Observations) -> None:
        self._context = context
        self._now = now
        self._seen = seen
        self._pending: list[GiveUp] = []
        self._incidents: list[IncidentRow] = []

    def add(self, give_up: GiveUp) -> None:
        self._pending.append(give_up)

    def decide(self, transitions: Transitions) -> list[tuple[GiveUp, bool]]:
        """Add the routed ones to ``transitions``; each give-up with whether it was routed."""
        rows = [(g.loaded.kernel_id, g.loaded.compiled.node_index[g.node], self._label_id(g))
                for g in self._pending]
        decided = []
        for give_up, (target, status) in zip(self._pending, self._context.advance(rows),
                                             strict=True):
            routed = status in (Status.ADVANCED, Status.REACHED_LEAF)
            if routed:
                label = _LABEL_OF[give_up.cause]
                self._seen.give_ups.append(label)
                transitions.add(give_up.loaded, Edge(
                    give_up.workflow_id, give_up.step, give_up.node,
                    give_up.loaded.compiled.node_names[target], _KIND_OF[label], label,
                    give_up.attempt, None, str(give_up.cause)),
                    step_started_at=give_up.step_started_at, created_at=give_up.created_at)
            decided.append((give_up, routed))
        self._incidents = [IncidentRow(g.workflow_id, g.step, g.attempt, g.cause, g.error)
                           for g, routed in decided if not routed]
        self._seen.incidents += [IncidentRaised(g.workflow_id, g.loaded.name, g.cause, g.error)
                                 for g, routed in decided if not routed]
        return decided

    async def write(self, connection: Connection) -> None:
        """Raise the incidents ``decide`` found (the transitions are written by their owner)."""
        if self._incidents:
            await sql.RAISE_INCIDENTS.execute(connection, self._incidents, now=self._now)

    @staticmethod
    def _label_id(give_up: GiveUp) -> int:
        label = _LABEL_OF[give_up.cause]
        if label == RESERVED_LABEL:
            return TIMEOUT_LABEL
        return give_up.loaded.compiled.label_index.get(label, NO_EDGE)
