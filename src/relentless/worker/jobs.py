"""What a handler receives (a Job) and what it may return (a label, or a label and output)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import msgspec

from relentless.errors import UserError
from relentless.protocol import LeasedJob as Job

__all__ = ["Handler", "HandlerBug", "Job", "Outcome", "PermanentFailure", "Result", "settle"]

JSONObject: TypeAlias = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Result:
    """A handler's answer: the label that picks the next node, and an optional output."""

    label: str
    output: JSONObject | None = None


Outcome: TypeAlias = str | tuple[str, JSONObject | None] | Result
Handler: TypeAlias = Callable[[Job], Awaitable[Outcome]]


class HandlerBug(UserError):
    """A handler answered something the job cannot be completed with; its attempt fails
    and the step gives up (the same code would answer the same again)."""


class PermanentFailure(Exception):
    """Raise it (or a subclass) from a handler when retrying cannot help (a card that
    is reported stolen, say): the attempt fails and the step gives up with ``failed``
    at once. Any other exception fails the attempt and it is retried after the node's
    backoff while attempts are left."""


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
