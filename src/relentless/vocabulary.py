"""The names of states, kinds, verdicts and reasons: spelled here once, used everywhere.

PostgreSQL's enum types (the migrations) and the spec model spell the same names;
tests/unit/test_vocabulary.py holds all three equal.
"""

from __future__ import annotations

from enum import StrEnum


class WorkflowStatus(StrEnum):
    """Where a workflow stands; only running and incident workflows can still move."""

    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    INCIDENT = "incident"


ACTIVE_STATUSES = frozenset({WorkflowStatus.RUNNING, WorkflowStatus.INCIDENT})
"""The statuses a person can still cancel or move."""


class JobState(StrEnum):
    """A job is open while ready or leased; every other state is final."""

    READY = "ready"
    LEASED = "leased"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CLOSED = "closed"


OPEN_JOB_STATES = frozenset({JobState.READY, JobState.LEASED})


class TransitionKind(StrEnum):
    """Who moved a workflow: a worker, a person's manual step, the sweeper, a person."""

    COMPLETED = "completed"
    MANUAL = "manual"
    TIMEOUT = "timeout"
    MOVED = "moved"


class TimeoutCause(StrEnum):
    """Why the engine timed a step out (and, with no route, the incident's cause)."""

    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    DEADLINE_PASSED = "deadline_passed"


class SweepOutcome(StrEnum):
    """What the sweeper did to one workflow."""

    RETRY_SCHEDULED = "retry_scheduled"
    TIMEOUT_ROUTED = "timeout_routed"
    INCIDENT = "incident"


class Verdict(StrEnum):
    """The answer to a completion, a start or an operator action."""

    ACCEPTED = "accepted"
    STALE = "stale"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Why something was rejected; stale answers carry no reason."""

    UNKNOWN_JOB = "unknown_job"
    RESERVED_LABEL = "reserved_label"
    LABEL_NOT_OFFERED = "label_not_offered"
    MANUAL_STEP = "manual_step"
    NOT_MANUAL = "not_manual"
    INVALID_COMPLETION = "invalid_completion"
    INVALID_OUTPUT = "invalid_output"
    UNKNOWN_DEFINITION = "unknown_definition"
    UNKNOWN_VERSION = "unknown_version"
    VERSION_EXISTS = "version_exists"
    UNKNOWN_WORKFLOW = "unknown_workflow"
    UNKNOWN_NODE = "unknown_node"
    FINISHED = "finished"


WIRE_ONLY_REASONS = frozenset({Reason.INVALID_COMPLETION, Reason.INVALID_OUTPUT})
"""Reasons the HTTP layer gives before a request reaches the engine (or the model)."""
