"""Requests as data: what a client (worker, person, clock, crash) can do to the system.

An action applies the rules and records, in the ghost, what the client was told.
The checker explores lists of actions; a lockstep test can send the same action to
the real engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Generic, TypeVar

from spec.answers import Answer, LeasedJob, LeaseExtension, Released, Started, Swept, Verdict
from spec.graph import Graph
from spec.rules import Rules
from spec.state import JSON, Ack, Pin, State

R_co = TypeVar("R_co", covariant=True)


@dataclass(frozen=True, slots=True)
class Action(Generic[R_co]):
    """One request; ``apply`` is one transaction of the rules plus the observer's note."""

    def apply(self, rules: Rules, state: State) -> tuple[State, R_co]:
        """The next state and the answer the client gets."""
        raise NotImplementedError

    def __str__(self) -> str:
        shown = []
        for spec_field in fields(self):
            value = getattr(self, spec_field.name)
            if isinstance(value, Graph):
                value = f"{value.name} v{value.version}"
            if value is not None:
                shown.append(f"{spec_field.name}={value!r}")
        return f"{type(self).__name__.lower()}({', '.join(shown)})"


@dataclass(frozen=True, slots=True)
class Publish(Action[Answer]):
    """Publish a definition version."""

    graph: Graph

    def apply(self, rules: Rules, state: State) -> tuple[State, Answer]:
        after, answer = rules.publish(state, self.graph)
        if answer.verdict is Verdict.ACCEPTED and self.graph not in after.ghost.published:
            ghost = after.ghost
            after = replace(after, ghost=replace(ghost, published=ghost.published | {self.graph}))
        return after, answer


@dataclass(frozen=True, slots=True)
class Start(Action[Started]):
    """Start a workflow; a repeated key returns the workflow it first created."""

    definition: str
    version: int | None = None
    key: str | None = None
    context: Mapping[str, JSON] | None = None

    def apply(self, rules: Rules, state: State) -> tuple[State, Started]:
        after, answer = rules.start(state, self.definition, self.version, self.key, self.context)
        if answer.created and answer.workflow is not None and answer.version is not None:
            pin = Pin(answer.workflow, self.definition, answer.version)
            after = replace(after, ghost=replace(after.ghost, pins=after.ghost.pins | {pin}))
        return after, answer


def acknowledged(state: State, job: int, label: str, answer: Answer) -> State:
    """Note an accepted completion in the ghost: the client now relies on it."""
    ack = Ack(job, label)
    if answer.verdict is not Verdict.ACCEPTED or ack in state.ghost.acks:
        return state
    ghost = state.ghost
    return replace(state, ghost=replace(ghost, acks=ghost.acks | {ack}))


@dataclass(frozen=True, slots=True)
class Lease(Action[tuple[LeasedJob, ...]]):
    """A worker leases up to ``max_jobs`` jobs of the given operations."""

    worker: str
    operations: frozenset[str]
    max_jobs: int = 1
    lease_ticks: int = 1

    def apply(self, rules: Rules, state: State) -> tuple[State, tuple[LeasedJob, ...]]:
        return rules.lease(state, self.worker, self.operations, self.max_jobs, self.lease_ticks)

    def __str__(self) -> str:
        ops = ",".join(sorted(self.operations))
        size = f"max={self.max_jobs}, ticks={self.lease_ticks}"
        return f"lease(worker={self.worker!r}, ops={ops}, {size})"


@dataclass(frozen=True, slots=True)
class Complete(Action[Answer]):
    """A worker completes a job with one label (and an optional output)."""

    job: int
    label: str
    output: Mapping[str, JSON] | None = None

    def apply(self, rules: Rules, state: State) -> tuple[State, Answer]:
        after, answer = rules.complete(state, self.job, self.label, self.output)
        return acknowledged(after, self.job, self.label, answer), answer


@dataclass(frozen=True, slots=True)
class CompleteManual(Action[Answer]):
    """A person completes a manual step."""

    job: int
    label: str
    by: str
    output: Mapping[str, JSON] | None = None

    def apply(self, rules: Rules, state: State) -> tuple[State, Answer]:
        after, answer = rules.complete_manual(state, self.job, self.label, self.by, self.output)
        return acknowledged(after, self.job, self.label, answer), answer


@dataclass(frozen=True, slots=True)
class Heartbeat(Action[tuple[LeaseExtension, ...]]):
    """A worker extends its leases."""

    worker: str
    jobs: tuple[int, ...]
    lease_ticks: int = 1

    def apply(self, rules: Rules, state: State) -> tuple[State, tuple[LeaseExtension, ...]]:
        return rules.heartbeat(state, self.worker, self.jobs, self.lease_ticks)

    def __str__(self) -> str:
        jobs = list(self.jobs)
        return f"heartbeat(worker={self.worker!r}, jobs={jobs}, ticks={self.lease_ticks})"


@dataclass(frozen=True, slots=True)
class Release(Action[tuple[Released, ...]]):
    """A worker gives leases back."""

    worker: str
    jobs: tuple[int, ...]

    def apply(self, rules: Rules, state: State) -> tuple[State, tuple[Released, ...]]:
        return rules.release(state, self.worker, self.jobs)


@dataclass(frozen=True, slots=True)
class Advance(Action[int]):
    """Time passes; the answer is the new time."""

    ticks: int = 1

    def apply(self, rules: Rules, state: State) -> tuple[State, int]:
        after = rules.advance(state, self.ticks)
        return after, after.clock


@dataclass(frozen=True, slots=True)
class Sweep(Action[tuple[Swept, ...]]):
    """The sweeper runs, over one workflow or (None) over all."""

    workflow: int | None = None

    def apply(self, rules: Rules, state: State) -> tuple[State, tuple[Swept, ...]]:
        return rules.sweep(state, self.workflow)


@dataclass(frozen=True, slots=True)
class Cancel(Action[Answer]):
    """A person cancels a workflow."""

    workflow: int

    def apply(self, rules: Rules, state: State) -> tuple[State, Answer]:
        return rules.cancel(state, self.workflow)


@dataclass(frozen=True, slots=True)
class Move(Action[Answer]):
    """A person moves a workflow to a node, saying who and why."""

    workflow: int
    node: str
    by: str = "operator"
    reason: str = ""

    def apply(self, rules: Rules, state: State) -> tuple[State, Answer]:
        return rules.move(state, self.workflow, self.node, self.by, self.reason)


@dataclass(frozen=True, slots=True)
class Crash(Action[None]):
    """Every process dies and restarts; only committed state survives."""

    def apply(self, rules: Rules, state: State) -> tuple[State, None]:
        return rules.crash(state), None
