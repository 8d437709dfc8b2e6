"""A workflow's audit trail read back: each step with its attempts, events and the
transition that ended it, a page of steps at a time."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from relentless.engine.values import Transition
from relentless.protocol import AttemptView, EventView, Timeline, TimelineStep
from relentless.store import statements as sql
from relentless.store.database import Database
from relentless.store.job_ids import JobKey
from relentless.vocabulary import TransitionKind


def transition_of(workflow_id: int, row: asyncpg.Record) -> Transition:
    """A history row as the history entry the API shows."""
    attempt = row["attempt"]
    return Transition(
        step=row["step"], source=row["source"], target=row["target"],
        kind=TransitionKind(row["kind"]), label=row["label"],
        job_id=str(JobKey(workflow_id, row["step"], attempt)) if attempt is not None else None,
        attempt=attempt, at=row["at"], by=row["by"], reason=row["reason"],
        output=row["output"])


async def read_timeline(database: Database, workflow_id: int, current_step: int,
                        current_node: str, after_step: int, limit: int) -> Timeline:
    """Steps ``after_step + 1`` .. ``after_step + limit`` (no further than the current)."""
    last = min(current_step, after_step + limit)
    span: dict[str, Any] = {"workflow_id": workflow_id, "after_step": after_step,
                            "last_step": last}
    attempts: dict[int, list[AttemptView]] = {}
    for row in await database.fetch(sql.TIMELINE_ATTEMPTS, **span):
        attempts.setdefault(row["step"], []).append(_view(row, AttemptView))
    events: dict[int, list[EventView]] = {}
    for row in await database.fetch(sql.TIMELINE_EVENTS, **span):
        events.setdefault(row["step"], []).append(_view(row, EventView))
    transitions = {row["step"]: transition_of(workflow_id, row)
                   for row in await database.fetch(sql.TIMELINE_TRANSITIONS, **span)}
    steps = [TimelineStep(
        step=step, node=transitions[step].source if step in transitions else current_node,
        attempts=attempts.get(step, []), events=events.get(step, []),
        transition=transitions.get(step)) for step in range(after_step + 1, last + 1)]
    return Timeline(workflow_id=workflow_id, steps=steps,
                    next_step=last if last < current_step else None)


def _view(row: asyncpg.Record, kind: type[Any]) -> Any:
    return msgspec.convert(dict(row), kind, from_attributes=True)
