"""What a handler receives (a Job) and what it may return (a label, or a label and output)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import msgspec

from relentless.errors import UserError

JSONObject: TypeAlias = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Job:
    """One leased attempt at a workflow's current step, as the gateway handed it out."""

    job_id: str
    workflow_id: int
    operation: str
    node: str
    labels: tuple[str, ...]
    attempt: int
    step: int
    context: Mapping[str, Any]
    lease_expires_at: datetime

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Job:
        """A job from the lease answer; fields the server adds later are ignored."""
        return cls(str(data["job_id"]), int(data["workflow_id"]), str(data["operation"]),
                   str(data["node"]), tuple(data["labels"]), int(data["attempt"]),
                   int(data["step"]), dict(data.get("context") or {}),
                   datetime.fromisoformat(str(data["lease_expires_at"])))


@dataclass(frozen=True, slots=True)
class Result:
    """A handler's answer: the label that picks the next node, and an optional output."""

    label: str
    output: JSONObject | None = None


Outcome: TypeAlias = str | tuple[str, JSONObject | None] | Result
Handler: TypeAlias = Callable[[Job], Awaitable[Outcome]]


class HandlerBug(UserError):
    """A handler answered something the job cannot be completed with."""


def settle(job: Job, outcome: object) -> Result:
    """The handler's answer as a Result, checked against the job; HandlerBug if unusable."""
    result = _as_result(outcome)
    if result.label not in job.labels:
        raise HandlerBug(f"label {result.label!r} is not offered by node {job.node!r}; "
                         f"choose one of {list(job.labels)}")
    if result.output is not None:
        try:
            msgspec.json.encode(result.output)
        except (TypeError, ValueError, OverflowError) as exc:
            raise HandlerBug(f"the output is not JSON: {exc}") from None
    return result


def _as_result(outcome: object) -> Result:
    if isinstance(outcome, Result):
        result = outcome
    elif isinstance(outcome, str):
        result = Result(outcome)
    elif isinstance(outcome, tuple) and len(outcome) == 2:
        result = Result(*outcome)
    else:
        raise HandlerBug(f"a handler returns a label, (label, output) or Result, "
                         f"not {outcome!r:.100}")
    if not isinstance(result.label, str):
        raise HandlerBug(f"the label must be a string, not {result.label!r:.100}")
    if result.output is not None and not isinstance(result.output, dict):
        raise HandlerBug(f"the output must be a dict or None, not {type(result.output).__name__}")
    return result
