"""The reference model of the whole protocol, as a small library.

``Model`` holds one state and answers requests exactly as a client of the engine
would be answered. Time is explicit (integer ticks), ids are sequential from 1
in creation order, and a job is also identified by ``(workflow, step, attempt)``
so a lockstep test can map the engine's ids onto the model's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from spec.actions import (
    Action,
    Advance,
    Cancel,
    Complete,
    CompleteManual,
    Crash,
    Fail,
    Heartbeat,
    Interrupted,
    Lease,
    Move,
    Publish,
    Release,
    Start,
    Sweep,
)
from spec.answers import (
    ACCEPTED,
    STALE,
    Answer,
    InvalidRequest,
    LeasedJob,
    LeaseExtension,
    Lost,
    Reason,
    Released,
    Started,
    SweepOutcome,
    Swept,
    Verdict,
)
from spec.graph import FAILED_LABEL, RESERVED_LABEL, RESERVED_LABELS, Graph, GraphError, Node
from spec.rules import Rules
from spec.state import (
    JSON,
    Job,
    JobState,
    State,
    Status,
    Store,
    TimeoutCause,
    Transition,
    TransitionKind,
    Workflow,
)

__all__ = [
    "ACCEPTED",
    "FAILED_LABEL",
    "JSON",
    "RESERVED_LABEL",
    "RESERVED_LABELS",
    "STALE",
    "Action",
    "Advance",
    "Answer",
    "Cancel",
    "Complete",
    "CompleteManual",
    "Crash",
    "Fail",
    "Graph",
    "GraphError",
    "Heartbeat",
    "Interrupted",
    "InvalidRequest",
    "Job",
    "JobState",
    "Lease",
    "LeaseExtension",
    "LeasedJob",
    "Lost",
    "Model",
    "Move",
    "Node",
    "Publish",
    "Reason",
    "Release",
    "Released",
    "Rules",
    "Snapshot",
    "Start",
    "Started",
    "State",
    "Status",
    "Sweep",
    "SweepOutcome",
    "Swept",
    "TimeoutCause",
    "Transition",
    "TransitionKind",
    "Verdict",
    "Workflow",
]

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The observable state: the time, every workflow (with its history), every job."""

    now: int
    workflows: tuple[Workflow, ...]
    jobs: tuple[Job, ...]


class Model:
    """The protocol's reference: one state, advanced one request at a time.

    ``rules`` defaults to the correct protocol; the checker passes broken ones.
    Malformed requests raise ``InvalidRequest`` and change nothing.
    """

    def __init__(
        self, definitions: Iterable[Graph] = (), *, rules: Rules | None = None, now: int = 0
    ) -> None:
        self.rules = rules if rules is not None else Rules()
        self.state = State(clock=now)
        for graph in definitions:
            self.publish(graph)

    @property
    def now(self) -> int:
        """The logical clock, in ticks."""
        return self.state.clock

    @property
    def store(self) -> Store:
        """Everything committed (and visible) right now."""
        return self.state.store

    def apply(self, action: Action[R]) -> R:
        """Apply any action; the typed methods below are shorthands for this."""
        self.state, answer = action.apply(self.rules, self.state)
        return answer

    def publish(self, graph: Graph) -> Answer:
        """Publish a definition version (re-sending the same graph is accepted)."""
        return self.apply(Publish(graph))

    def start(
        self,
        definition: str,
        *,
        version: int | None = None,
        key: str | None = None,
        context: Mapping[str, JSON] | None = None,
    ) -> Started:
        """Start a workflow on ``version`` (None: the latest), idempotent on ``key``."""
        return self.apply(Start(definition, version, key, context))

    def lease(
        self, worker: str, operations: Iterable[str], max_jobs: int = 1, lease_ticks: int = 1
    ) -> tuple[LeasedJob, ...]:
        """Lease up to ``max_jobs`` ready jobs of ``operations`` for ``lease_ticks``."""
        return self.apply(Lease(worker, frozenset(operations), max_jobs, lease_ticks))

    def complete(self, job: int, label: str, output: Mapping[str, JSON] | None = None) -> Answer:
        """A worker's completion: accepted, stale, or rejected with a reason."""
        return self.apply(Complete(job, label, output))

    def complete_manual(
        self, job: int, label: str, by: str, output: Mapping[str, JSON] | None = None
    ) -> Answer:
        """A person's completion of a manual step."""
        return self.apply(CompleteManual(job, label, by, output))

    def fail(self, job: int, error: str, retryable: bool = True) -> Answer:
        """A worker's failure of its attempt: accepted, stale, or rejected with a reason."""
        return self.apply(Fail(job, error, retryable))

    def heartbeat(
        self, worker: str, jobs: Iterable[int], lease_ticks: int = 1
    ) -> tuple[LeaseExtension, ...]:
        """Extend ``worker``'s live leases; per job, extended or lost."""
        return self.apply(Heartbeat(worker, tuple(jobs), lease_ticks))

    def release(self, worker: str, jobs: Iterable[int]) -> tuple[Released, ...]:
        """Give live leases back; each job is ready again at once, no attempt used."""
        return self.apply(Release(worker, tuple(jobs)))

    def advance(self, ticks: int = 1) -> int:
        """Let time pass; returns the new time. Only ``sweep`` acts on it."""
        return self.apply(Advance(ticks))

    def sweep(self, workflow: int | None = None) -> tuple[Swept, ...]:
        """Run the sweeper once, over one workflow or over all of them."""
        return self.apply(Sweep(workflow))

    def cancel(self, workflow: int) -> Answer:
        """Cancel a running or incident workflow (again: accepted, nothing changes)."""
        return self.apply(Cancel(workflow))

    def move(self, workflow: int, node: str, by: str, reason: str = "") -> Answer:
        """A person moves a running or incident workflow to any node of its version."""
        return self.apply(Move(workflow, node, by, reason))

    def crash(self) -> None:
        """Every process dies and restarts; committed state survives."""
        self.apply(Crash())

    def snapshot(self) -> Snapshot:
        """What a reader of the database would see now."""
        store = self.state.store
        return Snapshot(self.state.clock, store.workflows, store.jobs)

    def workflow(self, workflow: int) -> Workflow | None:
        """One workflow, with its position, status, context and history."""
        return self.state.store.workflow(workflow)

    def job(self, job: int) -> Job | None:
        """One job."""
        return self.state.store.job(job)

    def open_job(self, workflow: int) -> Job | None:
        """The job that can still decide the workflow's current step, if any."""
        return self.state.store.open_job(workflow)

    def manual_steps(self) -> tuple[Job, ...]:
        """Open manual jobs, waiting for a person (GET /v1/manual-steps)."""
        return tuple(j for j in self.state.store.jobs if j.manual and j.is_open)
