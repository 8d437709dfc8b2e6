"""What the engine did, told to an observer once the transaction that did it committed.

The engine knows what happened (a step decided by which label, an attempt expired, an
incident raised) and when; metrics and logs are the service's business. Each engine
call gathers Observations while it decides and hands them to the observer after its
commit, so a rolled-back batch is never counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from relentless.vocabulary import GiveUpCause, TransitionKind


@dataclass(frozen=True, slots=True)
class StepDecided:
    """A step left its node: by which label and kind, after how long since it began."""

    definition: str
    operation: str
    label: str | None
    kind: TransitionKind
    seconds: float | None
    outcome: str | None = None
    """The leaf reached, when the step ended the workflow."""
    workflow_seconds: float | None = None
    """Start to leaf, when the step ended the workflow."""


@dataclass(frozen=True, slots=True)
class IncidentRaised:
    workflow_id: int
    definition: str
    cause: GiveUpCause
    error: str | None


@dataclass(slots=True)
class Observations:
    """Everything one transaction did that an operator may count."""

    steps: list[StepDecided] = field(default_factory=list)
    attempts_ended: list[str] = field(default_factory=list)
    """How each attempt ended that was not decided by a completion: expired, failed, or
    released (given back unused)."""
    give_ups: list[str] = field(default_factory=list)
    """The reserved label each routed give-up took."""
    incidents: list[IncidentRaised] = field(default_factory=list)
    incidents_resolved: int = 0
    started: list[str] = field(default_factory=list)
    """The definition of each workflow started."""
    cancelled: list[str] = field(default_factory=list)
    queue_waits: list[float] = field(default_factory=list)
    """Seconds from ready to leased, per leased job."""
    sla_breaches: list[tuple[int, str]] = field(default_factory=list)
    """(workflow id, definition) of each workflow noticed past its SLA."""

    def absorb(self, other: Observations) -> None:
        """Add what ``other`` saw (a part of this transaction that was written)."""
        self.steps += other.steps
        self.attempts_ended += other.attempts_ended
        self.give_ups += other.give_ups
        self.incidents += other.incidents
        self.incidents_resolved += other.incidents_resolved
        self.started += other.started
        self.cancelled += other.cancelled
        self.queue_waits += other.queue_waits
        self.sla_breaches += other.sla_breaches


Observer = Callable[[Observations], None]
"""Told what each committed transaction did; it must not raise or block."""


def ignore(_: Observations) -> None:
    """The observer of an engine nobody watches."""
