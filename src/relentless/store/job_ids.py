"""Job ids: ``<workflow>.<step>.<attempt>``, readable and keyed by workflow.

A job is one attempt at one step of one workflow, so those three numbers are its
identity; spelling them out lets any node find the job's rows by workflow id (the
distribution key) without another index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

_JOB_ID = re.compile(r"([1-9]\d{0,18})\.([1-9]\d{0,9})\.([1-9]\d{0,9})", re.ASCII)
_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1


class JobKey(NamedTuple):
    workflow: int
    step: int
    attempt: int

    def __str__(self) -> str:
        return f"{self.workflow}.{self.step}.{self.attempt}"


def parse_job_id(job_id: object) -> JobKey | None:
    """The key a job id names, or None if it is not a job id at all."""
    if not isinstance(job_id, str):
        return None
    match = _JOB_ID.fullmatch(job_id)
    if match is None:
        return None
    key = JobKey(int(match[1]), int(match[2]), int(match[3]))
    if key.workflow > _INT64_MAX or key.step > _INT32_MAX or key.attempt > _INT32_MAX:
        return None
    return key


def key_columns(keys: Sequence[JobKey]) -> tuple[list[int], list[int], list[int]]:
    """Job keys as the three parallel arrays the queries unnest."""
    return ([key.workflow for key in keys], [key.step for key in keys],
            [key.attempt for key in keys])
