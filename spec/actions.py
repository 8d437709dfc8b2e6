"""Requests as data: what a client (worker, person, clock, crash) can do to the system.

An action applies the rules and records, in the ghost, what the client was told.
The checker explores lists of actions; a lockstep test can send the same action to
the real engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Generic, TypeVar

from spec import observer
from spec.answers import Answer, LeasedJob, LeaseExtension, Lost, Released, Started, Swept
from spec.coverage import branch
from spec.graph import Graph
from spec.rules import Rules
from spec.state import JSON, State

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
        return observer.published(after, self.graph, answer), answer


@dataclass(frozen=True, slots=True)
class Start(Action[Started]):
    """Start a workflow; a repeated key returns the workflow it first created."""

    definition: str
    version: int | None = None
    key: str | None = None
    context: Mapping[str, JSON] | None = None

    def apply(self, rules: Rules, state: State) -> tuple[State, Started]:
        after, answer = rules.start(state, self.definition, self.version, self.key, self.context)
        return observer.started(after, self.definition, self.key, self.context, answer), answer


@dataclass(frozen=True, slots=True)
class Lease(Action[tuple[LeasedJob, ...]]):
    """A worker leases up to ``max_jobs`` jobs of the given operations."""

    worker: str
    operations: frozenset[str]
    max_jobs: int = 1
    lease_ticks: int = 1

    def apply(self, rules: Rules, state: State) -> tuple[State, tuple[LeasedJob, ...]]:
        after, leases = rules.lease(
            state, self.worker, self.operations, self.max_jobs, self.lease_ticks
        )
        return observer.leased(after, self.worker, leases), leases

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
        return observer.completed(state, after, self.job, self.label, self.output, answer), answer


@dataclass(frozen=True, slots=True)
class CompleteManual(Action[Answer]):
    """A person completes a manual step."""

    job: int
    label: str
    by: str
    output: Mapping[str, JSON] | None = None

    def apply(self, rules: Rules, state: State) -> tuple[State, Answer]:
        after, answer = rules.complete_manual(state, self.job, self.label, self.by, self.output)
        return observer.completed(state, after, self.job, self.label, self.output, answer), answer


@dataclass(frozen=True, slots=True)
class Fail(Action[Answer]):
    """A worker fails a job with an error; a failure that is not retryable gives up."""

    job: int
    error: str = "boom"
    retryable: bool = True

    def apply(self, rules: Rules, state: State) -> tuple[State, Answer]:
        after, answer = rules.fail(state, self.job, self.error, self.retryable)
        return observer.failed(state, after, self.job, self.error, answer), answer


@dataclass(frozen=True, slots=True)
class Heartbeat(Action[tuple[LeaseExtension, ...]]):
    """A worker extends its leases."""

    worker: str
    jobs: tuple[int, ...]
    lease_ticks: int = 1

    def apply(self, rules: Rules, state: State) -> tuple[State, tuple[LeaseExtension, ...]]:
        after, answers = rules.heartbeat(state, self.worker, self.jobs, self.lease_ticks)
        return observer.heartbeat(after, self.worker, answers), answers

    def __str__(self) -> str:
        jobs = list(self.jobs)
        return f"heartbeat(worker={self.worker!r}, jobs={jobs}, ticks={self.lease_ticks})"


@dataclass(frozen=True, slots=True)
class Release(Action[tuple[Released, ...]]):
    """A worker gives leases back."""

    worker: str
    jobs: tuple[int, ...]

    def apply(self, rules: Rules, state: State) -> tuple[State, tuple[Released, ...]]:
        after, answers = rules.release(state, self.worker, self.jobs)
        return observer.released(after, self.worker, answers), answers


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
        after, events = rules.sweep(state, self.workflow)
        return observer.swept(state, after, self.workflow, events), events


@dataclass(frozen=True, slots=True)
class Cancel(Action[Answer]):
    """A person cancels a workflow."""

    workflow: int

    def apply(self, rules: Rules, state: State) -> tuple[State, Answer]:
        after, answer = rules.cancel(state, self.workflow)
        return observer.cancelled(state, after, self.workflow, answer), answer


@dataclass(frozen=True, slots=True)
class Move(Action[Answer]):
    """A person moves a workflow to a node, saying who and why."""

    workflow: int
    node: str
    by: str = "operator"
    reason: str = ""

    def apply(self, rules: Rules, state: State) -> tuple[State, Answer]:
        after, answer = rules.move(state, self.workflow, self.node, self.by, self.reason)
        return observer.moved(state, after, self.workflow, answer), answer


@dataclass(frozen=True, slots=True)
class Crash(Action[None]):
    """Every process dies and restarts; only committed state survives."""

    def apply(self, rules: Rules, state: State) -> tuple[State, None]:
        return rules.crash(state), None


BEFORE_COMMIT = branch("interrupted", "before_commit", "a crash rolled a request back")
AFTER_COMMIT = branch("interrupted", "after_commit", "a crash lost a committed answer")


@dataclass(frozen=True, slots=True)
class Interrupted(Action[object]):
    """Every process dies while ``request`` is in flight: before its commit (nothing of
    it survives and nobody is told anything) or after it (all of it survives, and the
    answer is lost on the way; the client may retry)."""

    request: Action[object]
    committed: bool

    def apply(self, rules: Rules, state: State) -> tuple[State, object]:
        after, answer = self.request.apply(rules, state)
        if self.committed:
            rules.reach(AFTER_COMMIT)
            return rules.crash(after), Lost(answer)
        rules.reach(BEFORE_COMMIT)
        durable = state.committed if state.committed is not None else state.store
        crashed = rules.crash(rules.in_flight(state, after, durable))
        return replace(crashed, ghost=state.ghost), None

    def __str__(self) -> str:
        point = "after" if self.committed else "before"
        return f"crash {point} the commit of {self.request}"
