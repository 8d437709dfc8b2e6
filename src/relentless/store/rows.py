"""The rows a batch statement writes, one dataclass per statement.

A statement receives a batch as parallel arrays, one per column, through ``unnest``;
the arrays are built from these fields by name (see Statement), in the order the
statement's ``unnest(...) AS alias(columns)`` names them, which a unit test checks.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from relentless.vocabulary import EventKind, GiveUpCause, JobState, TransitionKind


@dataclass(frozen=True, slots=True)
class NewWorkflow:
    """A workflow to create, with the first job of its start node."""

    id: int
    definition_id: int
    idempotency_scope: str | None
    """The definition name a key is scoped to (None without a key)."""
    idempotency_key: str | None
    input_fingerprint: str | None
    """The fingerprint of the input a key was first sent with (None without a key)."""
    node: str
    context: dict[str, Any]
    step_deadline: datetime | None
    operation: str
    manual: bool
    timeout_ms: int
    sla_deadline: datetime | None


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
    output: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransitionRow(Edge):
    """An edge with what the target step's first job needs (unless it is a leaf)."""

    is_leaf: bool
    step_deadline: datetime | None
    operation: str
    manual: bool
    timeout_ms: int

    @classmethod
    def of(cls, edge: Edge, *, is_leaf: bool, step_deadline: datetime | None, operation: str,
           manual: bool, timeout_ms: int) -> TransitionRow:
        return cls(**{name: getattr(edge, name) for name in _EDGE_FIELDS}, is_leaf=is_leaf,
                   step_deadline=step_deadline, operation=operation, manual=manual,
                   timeout_ms=timeout_ms)


_EDGE_FIELDS = tuple(field.name for field in fields(Edge))


@dataclass(frozen=True, slots=True)
class ClosingJob:
    """An attempt to end for good, and how it ended."""

    workflow: int
    step: int
    attempt: int
    state: JobState


@dataclass(frozen=True, slots=True)
class ClosingStep:
    """A step whose open attempts, whichever they are, end for good."""

    workflow: int
    step: int


@dataclass(frozen=True, slots=True)
class RetryJob:
    """The next attempt of a step, ready after its backoff."""

    workflow: int
    step: int
    attempt: int
    node: str
    operation: str
    manual: bool
    timeout_ms: int
    ready_at: datetime


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """A workflow that needs a person, why, and the last error of its step if any."""

    workflow_id: int
    step: int
    attempt: int | None
    cause: GiveUpCause
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FailedJob:
    """An attempt a worker failed, with what it said went wrong."""

    workflow: int
    step: int
    attempt: int
    error: str
    error_details: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class EventRow:
    """An entry of the audit trail that is not a transition (see EventKind)."""

    workflow_id: int
    step: int
    attempt: int | None
    kind: EventKind
    by: str | None
    reason: str | None
    details: dict[str, Any] | None
