"""Moving workflows along edges in one statement per batch.

Completions, the sweeper's timeouts and a person's moves all end the same way: a
history entry, a new position, and the next step's first job unless the target is
a leaf. This module gathers those moves and writes them together.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from relentless.core.compiler import StepSettings
from relentless.engine.catalog import LoadedDefinition
from relentless.store import statements as sql
from relentless.store.rows import Edge, TransitionRow
from relentless.store.statements import Connection

__all__ = ["Edge", "Transitions", "deadline_from"]


def deadline_from(now: datetime, step: StepSettings) -> datetime | None:
    """When a step that begins ``now`` must have ended, if its node has a deadline."""
    return None if step.deadline_ms is None else now + timedelta(milliseconds=step.deadline_ms)


class Transitions:
    """Edges to take in one transaction, with what each target's first job needs."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._rows: list[TransitionRow] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, definition: LoadedDefinition, edge: Edge) -> None:
        compiled = definition.compiled
        target = compiled.node_index[edge.target]
        step = compiled.step_settings(target)
        self._rows.append(TransitionRow.of(
            edge, is_leaf=bool(compiled.is_leaf[target]),
            step_deadline=deadline_from(self._now, step), operation=step.operation,
            manual=step.manual, timeout_ms=step.timeout_ms))

    async def write(self, connection: Connection) -> None:
        if self._rows:
            await sql.TAKE_TRANSITIONS.execute(connection, self._rows, now=self._now)
