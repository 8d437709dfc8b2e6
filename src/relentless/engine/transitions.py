"""Moving workflows along edges in one statement per batch.

Completions, the sweeper's timeouts and a person's moves all end the same way: a
history entry, a new position, and the next step's first job unless the target is
a leaf. This module gathers those moves and writes them together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from relentless.core.compiler import StepSettings
from relentless.engine.answers import JSONObject, TransitionKind
from relentless.engine.catalog import LoadedDefinition
from relentless.store.database import Connection, query


@dataclass(frozen=True, slots=True)
class Edge:
    """One workflow leaving ``source`` for ``target`` at the end of step ``step``."""

    workflow_id: int
    step: int
    source: str
    target: str
    kind: TransitionKind
    label: str | None = None
    attempt: int | None = None
    by: str | None = None
    reason: str | None = None
    output: JSONObject | None = None


def deadline_from(now: datetime, step: StepSettings) -> datetime | None:
    """When a step that begins ``now`` must have ended, if its node has a deadline."""
    return None if step.deadline_ms is None else now + timedelta(milliseconds=step.deadline_ms)


class Transitions:
    """Edges to take in one transaction, as the columns ``take_transitions`` expects."""

    _COLUMNS = 15

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._columns: list[list[object]] = [[] for _ in range(self._COLUMNS)]

    def __len__(self) -> int:
        return len(self._columns[0])

    def add(self, definition: LoadedDefinition, edge: Edge) -> None:
        compiled = definition.compiled
        target = compiled.node_index[edge.target]
        step = compiled.step_settings(target)
        row = (
            edge.workflow_id, edge.step, edge.source, edge.target, edge.kind.value, edge.label,
            edge.attempt, edge.by, edge.reason, edge.output, bool(compiled.is_leaf[target]),
            deadline_from(self._now, step), step.operation, step.manual, step.timeout_ms,
        )
        for column, value in zip(self._columns, row, strict=True):
            column.append(value)

    async def write(self, connection: Connection) -> None:
        if len(self):
            await connection.execute(query("take_transitions"), self._now, *self._columns)
