"""What the engine takes and answers, as plain immutable values.

Where an answer is exactly a message of the HTTP API, the engine answers with the
protocol's type itself (re-exported here), so the service passes it through as it is.
The rest are richer than what crosses the wire (a workflow with its history, a
sweeper's events) and are turned into protocol messages by field name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from relentless.protocol import ActionResult as Answer
from relentless.protocol import HeartbeatResult as LeaseExtension
from relentless.protocol import HistoryEntry as Transition
from relentless.protocol import LeasedJob, ManualStep, WorkflowView
from relentless.protocol import PublishedDefinition as Published
from relentless.protocol import ReleaseResult as Released
from relentless.protocol import StartResult as Started
from relentless.vocabulary import (
    GiveUpCause,
    JobState,
    Reason,
    SweepOutcome,
    Verdict,
)

__all__ = [
    "ACCEPTED",
    "STALE",
    "Answer",
    "Completion",
    "Failure",
    "Job",
    "LeaseExtension",
    "LeasedJob",
    "ManualStep",
    "Page",
    "Published",
    "Released",
    "StartRequest",
    "Started",
    "Swept",
    "Transition",
    "Workflow",
    "rejected",
]

JSONObject = dict[str, Any]

ACCEPTED = Answer(verdict=Verdict.ACCEPTED)
STALE = Answer(verdict=Verdict.STALE)


def rejected(reason: Reason) -> Answer:
    return Answer(verdict=Verdict.REJECTED, reason=reason)


@dataclass(frozen=True, slots=True)
class StartRequest:
    """Start a workflow of ``definition`` (its latest version unless ``version``)."""

    definition: str
    version: int | None = None
    key: str | None = None
    context: JSONObject | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """A worker's (or a person's) result for one job."""

    job_id: str
    label: str
    output: JSONObject | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """A worker's report that an attempt failed; ``retryable`` False gives the step up."""

    job_id: str
    error: str
    retryable: bool = True
    details: JSONObject | None = None


@dataclass(frozen=True, slots=True)
class Swept:
    """The sweeper ended job ``job_id`` (None: no open job) of ``workflow_id``."""

    workflow_id: int
    job_id: str | None
    outcome: SweepOutcome
    cause: GiveUpCause | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """One attempt at a step, as stored."""

    job_id: str
    workflow_id: int
    step: int
    attempt: int
    node: str
    operation: str
    manual: bool
    state: JobState
    ready_at: datetime
    holder: str | None = None
    leased_at: datetime | None = None
    lease_expires_at: datetime | None = None
    label: str | None = None
    completed_by: str | None = None


class Workflow(WorkflowView, frozen=True):
    """A workflow as the API shows it, with its history when it was asked for."""

    history: tuple[Transition, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing; pass ``next_cursor`` back for the next one."""

    workflows: tuple[Workflow, ...]
    next_cursor: int | None
