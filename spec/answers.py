"""What a client is told: the observable answers the engine must match."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from spec.state import JSON, TimeoutCause


class Verdict(StrEnum):
    """The three answers a completion (or an operator action) can get."""

    ACCEPTED = "accepted"
    STALE = "stale"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Why a request was rejected; stale answers carry no reason."""

    UNKNOWN_JOB = "unknown_job"
    RESERVED_LABEL = "reserved_label"
    LABEL_NOT_OFFERED = "label_not_offered"
    MANUAL_STEP = "manual_step"
    NOT_MANUAL = "not_manual"
    UNKNOWN_DEFINITION = "unknown_definition"
    UNKNOWN_VERSION = "unknown_version"
    VERSION_EXISTS = "version_exists"
    UNKNOWN_WORKFLOW = "unknown_workflow"
    UNKNOWN_NODE = "unknown_node"
    FINISHED = "finished"
    KEY_CONFLICT = "key_conflict"


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to a completion, a publish, a cancel or a move."""

    verdict: Verdict
    reason: Reason | None = None

    def __str__(self) -> str:
        return f"{self.verdict}({self.reason})" if self.reason else str(self.verdict)


ACCEPTED = Answer(Verdict.ACCEPTED)
STALE = Answer(Verdict.STALE)


def rejected(reason: Reason) -> Answer:
    """A rejection for ``reason``."""
    return Answer(Verdict.REJECTED, reason)


@dataclass(frozen=True, slots=True)
class Started:
    """The answer to start: the workflow, and whether this call created it."""

    verdict: Verdict
    workflow: int | None = None
    version: int | None = None
    created: bool = False
    reason: Reason | None = None

    def __str__(self) -> str:
        if self.verdict is not Verdict.ACCEPTED:
            return f"{self.verdict}({self.reason})"
        fresh = "created" if self.created else "existing"
        return f"{fresh} workflow {self.workflow} (v{self.version})"


@dataclass(frozen=True, slots=True)
class LeasedJob:
    """One leased job, as a worker receives it."""

    job: int
    workflow: int
    step: int
    attempt: int
    operation: str
    node: str
    labels: tuple[str, ...]
    context: Mapping[str, JSON]
    expires_at: int

    def __str__(self) -> str:
        where = f"wf {self.workflow} step {self.step} attempt {self.attempt} at {self.node}"
        return f"job {self.job} ({where}) until {self.expires_at}"


@dataclass(frozen=True, slots=True)
class LeaseExtension:
    """Per job: whether the lease was extended, and until when."""

    job: int
    extended: bool
    expires_at: int | None = None

    def __str__(self) -> str:
        return (
            f"job {self.job} extended to {self.expires_at}"
            if self.extended
            else f"job {self.job} lost"
        )


@dataclass(frozen=True, slots=True)
class Released:
    """Per job: whether the worker held it and gave it back."""

    job: int
    released: bool

    def __str__(self) -> str:
        return f"job {self.job} {'released' if self.released else 'not held'}"


class SweepOutcome(StrEnum):
    """What the sweeper did to one workflow."""

    RETRY_SCHEDULED = "retry_scheduled"
    TIMEOUT_ROUTED = "timeout_routed"
    INCIDENT = "incident"


@dataclass(frozen=True, slots=True)
class Swept:
    """The sweeper ended job ``job`` (None: no open job) of ``workflow``."""

    workflow: int
    job: int | None
    outcome: SweepOutcome
    cause: TimeoutCause | None = None

    def __str__(self) -> str:
        why = f" ({self.cause})" if self.cause else ""
        return f"wf {self.workflow} job {self.job}: {self.outcome}{why}"


@dataclass(frozen=True, slots=True)
class Lost:
    """The answer a server had committed when it crashed: the client never got it."""

    answer: object

    def __str__(self) -> str:
        return f"lost({describe(self.answer)})"


class InvalidRequest(ValueError):
    """A malformed request (the engine answers it with a 4xx, changing nothing)."""


def describe(answer: object) -> str:
    """An answer (or a tuple of them, as batches return) in one short line."""
    if isinstance(answer, tuple):
        return "[" + ", ".join(describe(item) for item in answer) + "]"
    return str(answer)
