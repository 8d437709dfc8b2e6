"""Moving workflows along edges in one statement per batch.

Completions, the sweeper's timeouts and a person's moves all end the same way: a
history entry, a new position, and the next step's first job unless the target is
a leaf. This module gathers those moves and writes them together.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from relentless.core.compiler import StepSettings
from relentless.engine.catalog import LoadedDefinition
from relentless.engine.observations import Observations, StepDecided
from relentless.store import statements as sql
from relentless.store.rows import Edge, TransitionRow
from relentless.store.statements import Connection

__all__ = ["Edge", "Transitions", "deadline_from"]


def deadline_from(now: datetime, step: StepSettings) -> datetime | None:
    """When a step that begins ``now`` must have ended, if its node has a deadline."""
    return None if step.deadline_ms is None else now + timedelta(milliseconds=step.deadline_ms)


class Transitions:
    """Edges to take in one transaction, with what each target's first job needs."""

    def __init__(self, now: datetime, seen: Observations | None = None) -> None:
        self._now = now
        self._seen = seen
        self._rows: list[TransitionRow] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, definition: LoadedDefinition, edge: Edge, *,
            step_started_at: datetime | None = None,
            created_at: datetime | None = None) -> None:
        """Take ``edge``; the times (when known) say how long the step and the
        workflow took, for the observer."""
        compiled = definition.compiled
        target = compiled.node_index[edge.target]
        step = compiled.step_settings(target)
        if self._seen is not None:
            self._seen.steps.append(self._decided(definition, edge, step_started_at, created_at))
        self._rows.append(TransitionRow.of(
            edge, is_leaf=bool(compiled.is_leaf[target]),
            step_deadline=deadline_from(self._now, step), operation=step.operation,
            manual=step.manual, timeout_ms=step.timeout_ms))

    def _decided(self, definition: LoadedDefinition, edge: Edge,
                 step_started_at: datetime | None, created_at: datetime | None) -> StepDecided:
        compiled = definition.compiled
        leaf = bool(compiled.is_leaf[compiled.node_index[edge.target]])
        return StepDecided(
            definition.name, compiled.step_settings(compiled.node_index[edge.source]).operation,
            edge.label, edge.kind, _seconds(step_started_at, self._now),
            edge.target if leaf else None,
            _seconds(created_at, self._now) if leaf else None)

    async def write(self, connection: Connection) -> None:
        if self._rows:
            await sql.TAKE_TRANSITIONS.execute(connection, self._rows, now=self._now)


def _seconds(since: datetime | None, now: datetime) -> float | None:
    return None if since is None else max((now - since).total_seconds(), 0.0)
