"""What the engine answers: plain, immutable values the service turns into JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

JSONObject = dict[str, Any]


class Verdict(StrEnum):
    """The answer to a completion or an operator action."""

    ACCEPTED = "accepted"
    STALE = "stale"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Why something was rejected."""

    UNKNOWN_JOB = "unknown_job"
    RESERVED_LABEL = "reserved_label"
    LABEL_NOT_OFFERED = "label_not_offered"
    MANUAL_STEP = "manual_step"
    NOT_MANUAL = "not_manual"
    UNKNOWN_DEFINITION = "unknown_definition"
    UNKNOWN_VERSION = "unknown_version"
    UNKNOWN_WORKFLOW = "unknown_workflow"
    UNKNOWN_NODE = "unknown_node"
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class Answer:
    verdict: Verdict
    reason: Reason | None = None


ACCEPTED = Answer(Verdict.ACCEPTED)
STALE = Answer(Verdict.STALE)


def rejected(reason: Reason) -> Answer:
    return Answer(Verdict.REJECTED, reason)


class WorkflowStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    INCIDENT = "incident"


class TransitionKind(StrEnum):
    """Who moved a workflow: a worker, a person's manual step, the sweeper, a person."""

    COMPLETED = "completed"
    MANUAL = "manual"
    TIMEOUT = "timeout"
    MOVED = "moved"


class TimeoutCause(StrEnum):
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    DEADLINE_PASSED = "deadline_passed"


class SweepOutcome(StrEnum):
    RETRY_SCHEDULED = "retry_scheduled"
    TIMEOUT_ROUTED = "timeout_routed"
    INCIDENT = "incident"


@dataclass(frozen=True, slots=True)
class Published:
    """A published definition version; ``created`` is False when the content existed."""

    name: str
    version: int
    fingerprint: str
    created: bool


@dataclass(frozen=True, slots=True)
class StartRequest:
    definition: str
    version: int | None = None
    key: str | None = None
    context: JSONObject | None = None


@dataclass(frozen=True, slots=True)
class Started:
    """The answer to one start: the workflow, and whether this request created it."""

    verdict: Verdict
    workflow_id: int | None = None
    version: int | None = None
    created: bool = False
    reason: Reason | None = None


@dataclass(frozen=True, slots=True)
class LeasedJob:
    job_id: str
    workflow_id: int
    step: int
    attempt: int
    operation: str
    node: str
    labels: tuple[str, ...]
    context: JSONObject
    lease_expires_at: datetime


@dataclass(frozen=True, slots=True)
class Completion:
    job_id: str
    label: str
    output: JSONObject | None = None


@dataclass(frozen=True, slots=True)
class LeaseExtension:
    job_id: str
    extended: bool
    lease_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Released:
    job_id: str
    released: bool


@dataclass(frozen=True, slots=True)
class Swept:
    """The sweeper ended job ``job_id`` (None: no open job) of ``workflow_id``."""

    workflow_id: int
    job_id: str | None
    outcome: SweepOutcome
    cause: TimeoutCause | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """One history entry: step ``step`` left ``source`` for ``target``."""

    step: int
    source: str
    target: str
    kind: TransitionKind
    label: str | None
    job_id: str | None
    attempt: int | None
    at: datetime
    by: str | None = None
    reason: str | None = None
    output: JSONObject | None = None


@dataclass(frozen=True, slots=True)
class Job:
    job_id: str
    workflow_id: int
    step: int
    attempt: int
    node: str
    operation: str
    manual: bool
    state: str
    ready_at: datetime
    holder: str | None = None
    leased_at: datetime | None = None
    lease_expires_at: datetime | None = None
    label: str | None = None
    completed_by: str | None = None


@dataclass(frozen=True, slots=True)
class ManualStep:
    """A manual step waiting for a person, with the labels they may choose from."""

    job_id: str
    workflow_id: int
    step: int
    node: str
    operation: str
    ready_at: datetime
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Workflow:
    id: int
    definition: str
    version: int
    key: str | None
    node: str
    step: int
    status: WorkflowStatus
    incident: TimeoutCause | None
    context: JSONObject
    step_started_at: datetime
    step_deadline: datetime | None
    created_at: datetime
    updated_at: datetime
    history: tuple[Transition, ...] = field(default=())

    @property
    def outcome(self) -> str | None:
        """The leaf a completed workflow reached."""
        return self.node if self.status is WorkflowStatus.COMPLETED else None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing; pass ``next_cursor`` back for the next one."""

    workflows: tuple[Workflow, ...]
    next_cursor: int | None
