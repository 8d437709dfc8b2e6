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
    """A job is open while ready or leased; every other state is final: how the attempt
    ended."""

    READY = "ready"
    LEASED = "leased"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CLOSED = "closed"
    FAILED = "failed"


OPEN_JOB_STATES = frozenset({JobState.READY, JobState.LEASED})


class TransitionKind(StrEnum):
    """Who moved a workflow: a worker, a person's manual step, the sweeper, a person."""

    COMPLETED = "completed"
    MANUAL = "manual"
    TIMEOUT = "timeout"
    MOVED = "moved"
    FAILED = "failed"


class GiveUpCause(StrEnum):
    """Why the engine gave a step up (and, with no route for it, the incident's cause)."""

    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    """The last attempt's lease ran out: the step takes ``timeout``."""
    DEADLINE_PASSED = "deadline_passed"
    """The step's deadline passed: it takes ``timeout``."""
    FAILED = "failed"
    """The last attempt failed, or a failure was not retryable: the step takes ``failed``."""
    UNWRITABLE = "unwritable"
    """The sweeper could not write the workflow's next state; a person must look."""


class EventKind(StrEnum):
    """What the audit trail records besides transitions and attempts."""

    RELEASED = "released"
    INCIDENT_RAISED = "incident_raised"
    INCIDENT_RESOLVED = "incident_resolved"
    CANCELLED = "cancelled"
    RETRIED = "retried"
    """A person had the current step tried again now (an incident's new attempt, or a
    retry's backoff cut short)."""
    CLAIMED = "claimed"
    """A person claimed a manual step, so that others see who is on it."""


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
    INVALID_FAILURE = "invalid_failure"
    INVALID_START = "invalid_start"
    UNKNOWN_DEFINITION = "unknown_definition"
    UNKNOWN_VERSION = "unknown_version"
    VERSION_EXISTS = "version_exists"
    UNKNOWN_WORKFLOW = "unknown_workflow"
    UNKNOWN_NODE = "unknown_node"
    FINISHED = "finished"
    KEY_CONFLICT = "key_conflict"
    CLAIMED = "claimed"
    """Another person claimed this manual step."""
    IN_PROGRESS = "in_progress"
    """An attempt of the step is running: there is nothing to retry now."""


WIRE_ONLY_REASONS = frozenset({Reason.INVALID_COMPLETION, Reason.INVALID_OUTPUT,
                               Reason.INVALID_FAILURE, Reason.INVALID_START})
"""Reasons the HTTP layer gives before a request reaches the engine (or the model)."""


UNMODELLED_REASONS = frozenset({Reason.CLAIMED, Reason.IN_PROGRESS})
"""Reasons of operator actions spec/ does not model: claiming a manual step, and
retrying a step now."""


class BulkOutcome(StrEnum):
    """What a bulk action did (or, in a dry run, would do) to one workflow."""

    SELECTED = "selected"
    """A dry run: the action would be tried on this workflow."""
    DONE = "done"
    SKIPPED = "skipped"
    """The workflow moved on since it was selected (another step, or finished)."""
    REFUSED = "refused"
    """The workflow's state refuses the action; the reason says why."""
