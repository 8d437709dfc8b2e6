"""The model's state: committed records, a ghost record of answers, and the clock.

Everything is frozen and hashable, so the checker can de-duplicate states.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from operator import attrgetter
from typing import TypeAlias

from spec.graph import Graph

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
"""A JSON value, as workflows carry in their context and workers send as output."""


UNHASHED = -1
"""Python never returns -1 from ``hash``, so it marks a hash not yet computed."""


_KEYS: dict[type, Callable[[object], tuple[object, ...]]] = {}


def _key_of(cls: type) -> Callable[[object], tuple[object, ...]]:
    """Reads the compared fields of a record as one tuple (in C, via attrgetter)."""
    key = _KEYS.get(cls)
    if key is None:
        key = _KEYS[cls] = attrgetter(*(f.name for f in fields(cls) if f.compare))
    return key


def _cached_hash(record: Job | Transition | Workflow | Store | Ghost | State) -> int:
    """Hash a record once: states share most records, and the checker hashes every state."""
    if record._hash == UNHASHED:
        object.__setattr__(record, "_hash", hash(_key_of(type(record))(record)))
    return record._hash


def canonical(value: Mapping[str, JSON]) -> str:
    """One text per JSON object, so equal contexts compare (and hash) equal."""
    return json.dumps(dict(value), sort_keys=True, separators=(",", ":"))


class Status(StrEnum):
    """Where a workflow stands; only running and incident workflows can still move."""

    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    INCIDENT = "incident"


class JobState(StrEnum):
    """A job is open while ready or leased; every other state is final."""

    READY = "ready"
    LEASED = "leased"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CLOSED = "closed"
    FAILED = "failed"


OPEN_JOB_STATES = frozenset({JobState.READY, JobState.LEASED})
ACTIVE_STATUSES = frozenset({Status.RUNNING, Status.INCIDENT})


class TimeoutCause(StrEnum):
    """Why the engine gave a step up (and, with no route for it, the incident's cause)."""

    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    DEADLINE_PASSED = "deadline_passed"
    FAILED = "failed"


GiveUpCause = TimeoutCause
"""The engine's name for the same thing: a step gives up with `timeout` or `failed`."""


class TransitionKind(StrEnum):
    """Who moved the workflow: a worker, a person's manual step, the sweeper, a person."""

    COMPLETED = "completed"
    MANUAL = "manual"
    TIMEOUT = "timeout"
    MOVED = "moved"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Job:
    """One attempt at the operation of one step; identified by (workflow, step, attempt)."""

    id: int
    workflow: int
    step: int
    node: str
    operation: str | None
    manual: bool
    attempt: int
    state: JobState
    ready_at: int
    holder: str | None = None
    leased_at: int | None = None
    expires_at: int | None = None
    label: str | None = None
    error: str | None = None
    _hash: int = field(default=UNHASHED, init=False, repr=False, compare=False)

    __hash__ = _cached_hash

    @property
    def is_open(self) -> bool:
        """Ready or leased: the job may still decide its step."""
        return self.state in OPEN_JOB_STATES


@dataclass(frozen=True, slots=True)
class Transition:
    """One history entry: step ``step`` left ``source`` for ``target``."""

    step: int
    source: str
    target: str
    kind: TransitionKind
    label: str | None
    job: int | None
    attempt: int | None
    at: int
    by: str | None = None
    reason: str | None = None
    _hash: int = field(default=UNHASHED, init=False, repr=False, compare=False)

    __hash__ = _cached_hash


@dataclass(frozen=True, slots=True)
class Workflow:
    """One run of one definition version; ``context_json`` is canonical JSON text."""

    id: int
    definition: str
    version: int
    key: str | None
    node: str
    step: int
    status: Status
    step_started_at: int
    context_json: str = "{}"
    history: tuple[Transition, ...] = ()
    input_json: str = "{}"
    incident: TimeoutCause | None = None
    _hash: int = field(default=UNHASHED, init=False, repr=False, compare=False)

    __hash__ = _cached_hash

    @property
    def context(self) -> dict[str, JSON]:
        """A fresh copy of the context, safe to change."""
        loaded: dict[str, JSON] = json.loads(self.context_json)
        return loaded

    @property
    def outcome(self) -> str | None:
        """The leaf a completed workflow reached."""
        return self.node if self.status is Status.COMPLETED else None


@dataclass(frozen=True, slots=True)
class Store:
    """What PostgreSQL holds: ids are positions (workflow n is ``workflows[n - 1]``)."""

    definitions: tuple[Graph, ...] = ()
    workflows: tuple[Workflow, ...] = ()
    jobs: tuple[Job, ...] = ()
    _hash: int = field(default=UNHASHED, init=False, repr=False, compare=False)

    __hash__ = _cached_hash

    def graph(self, name: str, version: int | None = None) -> Graph | None:
        """The given version of a definition, or its latest when version is None."""
        best: Graph | None = None
        for graph in self.definitions:
            if graph.name != name or version not in (None, graph.version):
                continue
            if best is None or graph.version > best.version:
                best = graph
        return best

    def graph_of(self, workflow: Workflow) -> Graph:
        """The definition version a workflow runs on (it always exists)."""
        graph = self.graph(workflow.definition, workflow.version)
        assert graph is not None, "a workflow's definition version is never removed"
        return graph

    def workflow(self, workflow_id: int) -> Workflow | None:
        """The workflow with this id, if any."""
        if 1 <= workflow_id <= len(self.workflows):
            return self.workflows[workflow_id - 1]
        return None

    def job(self, job_id: int) -> Job | None:
        """The job with this id, if any."""
        if 1 <= job_id <= len(self.jobs):
            return self.jobs[job_id - 1]
        return None

    def open_jobs(self, workflow_id: int) -> tuple[Job, ...]:
        """The open jobs of a workflow (at most one, unless the model is broken)."""
        return tuple(j for j in self.jobs if j.workflow == workflow_id and j.is_open)

    def open_job(self, workflow_id: int) -> Job | None:
        """The newest open job of a workflow."""
        found = self.open_jobs(workflow_id)
        return found[-1] if found else None

    def with_job(self, job: Job) -> Store:
        """This store with ``job`` written (appended when its id is new)."""
        jobs = self.jobs
        if job.id > len(jobs):
            return Store(self.definitions, self.workflows, (*jobs, job))
        return Store(self.definitions, self.workflows, (*jobs[: job.id - 1], job, *jobs[job.id :]))

    def with_workflow(self, workflow: Workflow) -> Store:
        """This store with ``workflow`` written (appended when its id is new)."""
        flows = self.workflows
        if workflow.id > len(flows):
            return Store(self.definitions, (*flows, workflow), self.jobs)
        index = workflow.id - 1
        return Store(self.definitions, (*flows[:index], workflow, *flows[index + 1 :]), self.jobs)


@dataclass(frozen=True, slots=True)
class Ack:
    """A client was told (or, its answer lost in a crash, would have been told)
    ``accepted`` for this job and label."""

    job: int
    label: str


@dataclass(frozen=True, slots=True)
class Pin:
    """Workflow ``workflow`` was started on this definition version."""

    workflow: int
    definition: str
    version: int


@dataclass(frozen=True, slots=True)
class Keyed:
    """Key ``key`` of definition ``definition`` created workflow ``workflow`` with the
    input ``input_json``: what the first client with that key was told and sent."""

    definition: str
    key: str
    workflow: int
    input_json: str


@dataclass(frozen=True, slots=True)
class Held:
    """Worker ``worker`` was told it holds ``job`` until ``expires_at``; the lease was
    granted at ``granted_at``, so the attempt's timeout caps it at ``cap``."""

    job: int
    workflow: int
    worker: str
    granted_at: int
    expires_at: int
    cap: int


@dataclass(frozen=True, slots=True)
class Ended:
    """A client was told that attempt ``job`` (of ``step`` of ``workflow``) ended ``how``:
    completed, expired, failed (with ``error``) or closed. The audit trail's witness."""

    job: int
    workflow: int
    step: int
    how: JobState
    error: str | None = None


USES_AN_ATTEMPT = frozenset({JobState.EXPIRED, JobState.FAILED})
"""How an attempt ends when it uses up one of its node's attempts."""


@dataclass(frozen=True, slots=True)
class Ghost:
    """What clients were told, recorded by the observer rather than by the rules.

    Trace properties (nothing acknowledged is lost, versions never change) become
    state predicates over this record, and the times the rules keep in their own
    fields (lease grants, retries, step starts) have an independent witness here.

    ``held``: the leases workers were told they hold and no answer has ended since.
    ``freed``: ``(job, tick)`` for jobs given back by a release, until leased again.
    ``reclaims``: ``(workflow, step, attempt)`` for each attempt the sweeper reported
    as expired. ``not_before``: ``(workflow, step, tick)`` when the sweeper scheduled
    a retry. ``began`` and ``contexts``: per workflow (index = id - 1), the tick its
    current step began and the context its start and accepted outputs add up to.
    ``overlooked``: lapsed leases a sweep of their workflow passed over.
    ``keys``: the first workflow each (definition, key) created, with its input.
    ``trail``: every attempt clients were told has ended, and how; ``twice``: jobs whose
    end was announced a second time (with another outcome), which must never happen.
    """

    acks: frozenset[Ack] = frozenset()
    pins: frozenset[Pin] = frozenset()
    keys: frozenset[Keyed] = frozenset()
    published: frozenset[Graph] = frozenset()
    held: frozenset[Held] = frozenset()
    freed: frozenset[tuple[int, int]] = frozenset()
    reclaims: frozenset[tuple[int, int, int]] = frozenset()
    not_before: frozenset[tuple[int, int, int]] = frozenset()
    began: tuple[int, ...] = ()
    contexts: tuple[str, ...] = ()
    overlooked: frozenset[int] = frozenset()
    trail: frozenset[Ended] = frozenset()
    twice: frozenset[int] = frozenset()
    _hash: int = field(default=UNHASHED, init=False, repr=False, compare=False)

    __hash__ = _cached_hash

    def ended(self, job: int) -> Ended | None:
        """How ``job``'s attempt ended, as clients were told; None while it is open."""
        return next((entry for entry in self.trail if entry.job == job), None)

    def used(self, workflow: int, step: int) -> int:
        """How many attempts of this step were used up: expired or failed."""
        return sum(1 for entry in self.trail
                   if (entry.workflow, entry.step) == (workflow, step)
                   and entry.how in USES_AN_ATTEMPT)

    def holding(self, job: int) -> Held | None:
        """The lease a worker was told it holds on ``job``, if any."""
        return next((held for held in self.held if held.job == job), None)

    def reclaimed(self, workflow: int, step: int) -> int:
        """How many attempts of this step the sweeper reported expired."""
        return sum(1 for w, s, _ in self.reclaims if (w, s) == (workflow, step))

    def retry_due(self, workflow: int, step: int) -> int | None:
        """When the sweeper said the step's latest retry may be leased."""
        ticks = [at for w, s, at in self.not_before if (w, s) == (workflow, step)]
        return max(ticks) if ticks else None

    def freed_at(self, job: int) -> int | None:
        """When ``job`` was given back by a release, unless leased again since."""
        return next((at for j, at in self.freed if j == job), None)


@dataclass(frozen=True, slots=True)
class State:
    """The whole model: the clock, the live store, and the ghost record.

    ``committed`` is the last committed store when the live one holds writes not
    yet committed; None when everything is committed, which the correct rules
    ensure after every action (each action is one transaction).
    """

    clock: int = 0
    store: Store = field(default_factory=Store)
    ghost: Ghost = field(default_factory=Ghost)
    committed: Store | None = None
    _hash: int = field(default=UNHASHED, init=False, repr=False, compare=False)

    __hash__ = _cached_hash

    def with_store(self, store: Store) -> State:
        """This state with ``store`` live (itself when nothing changed)."""
        if store is self.store:
            return self
        return State(self.clock, store, self.ghost, self.committed)
