"""Request and response bodies, typed once: decoding validates them and /openapi.json
describes them, so the document and the server cannot disagree."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

MAX_BATCH = 1_000
"""The most items one request may carry (jobs to lease, completions, starts, ...)."""

_NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_NO_NUL)]
JobId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=_NO_NUL)]
Text = Annotated[str, msgspec.Meta(max_length=2_000, pattern=_NO_NUL)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
WaitSeconds = Annotated[float, msgspec.Meta(ge=0, le=60)]
BatchSize = Annotated[int, msgspec.Meta(ge=1, le=MAX_BATCH)]
JSONObject = dict[str, Any]


class Struct(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every body: an unknown field is an error, not silently ignored."""


# -- worker protocol ------------------------------------------------------------------

class LeaseRequest(Struct):
    worker: Name
    operations: Annotated[list[Name], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]
    max_jobs: BatchSize = 1
    lease_seconds: Seconds = 60.0
    wait_seconds: WaitSeconds = 0.0


class LeasedJob(Struct):
    job_id: str
    workflow_id: int
    operation: str
    node: str
    labels: list[str]
    attempt: int
    step: int
    context: JSONObject
    lease_expires_at: datetime


class LeaseResponse(Struct):
    jobs: list[LeasedJob]


class CompletionItem(Struct):
    job_id: JobId
    label: Name
    output: JSONObject | None = None


class CompleteRequest(Struct):
    completions: Annotated[list[CompletionItem], msgspec.Meta(min_length=1,
                                                              max_length=MAX_BATCH)]


class CompleteRequestItems(Struct):
    """How the gateway reads a completion batch: each item on its own, so that one
    malformed item is rejected alone instead of failing the batch."""

    completions: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class CompletionResult(Struct):
    job_id: str
    result: Literal["accepted", "stale", "rejected"]
    reason: str | None = None


class CompleteResponse(Struct):
    results: list[CompletionResult]


class HeartbeatRequest(Struct):
    worker: Name
    job_ids: Annotated[list[JobId], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]
    lease_seconds: Seconds = 60.0


class HeartbeatResult(Struct):
    job_id: str
    extended: bool
    lease_expires_at: datetime | None = None


class HeartbeatResponse(Struct):
    results: list[HeartbeatResult]


class ReleaseRequest(Struct):
    worker: Name
    job_ids: Annotated[list[JobId], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class ReleaseResult(Struct):
    job_id: str
    released: bool


class ReleaseResponse(Struct):
    results: list[ReleaseResult]


# -- operators ------------------------------------------------------------------------

class PublishedDefinition(Struct):
    name: str
    version: int
    fingerprint: str
    created: bool


class DefinitionVersion(Struct):
    name: str
    version: int
    fingerprint: str
    created_at: datetime


class DefinitionSummary(Struct):
    name: str
    latest: int
    versions: int


class DefinitionList(Struct):
    definitions: list[DefinitionSummary]


class DefinitionVersions(Struct):
    name: str
    versions: list[DefinitionVersion]


class DefinitionDetail(Struct):
    name: str
    version: int
    fingerprint: str
    source: str
    source_format: str
    start: str
    nodes: list[str]
    leaves: list[str]
    labels: list[str]
    operations: list[str]
    dot: str
    mermaid: str


class StartWorkflow(Struct):
    definition: Name
    version: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = None
    key: Name | None = None
    context: JSONObject | None = None


class StartBatch(Struct):
    workflows: Annotated[list[StartWorkflow], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class StartResult(Struct):
    result: Literal["accepted", "rejected"]
    workflow_id: int | None = None
    version: int | None = None
    created: bool = False
    reason: str | None = None


class StartBatchResponse(Struct):
    results: list[StartResult]


class HistoryEntry(Struct):
    step: int
    source: str
    target: str
    kind: str
    at: datetime
    label: str | None = None
    job_id: str | None = None
    attempt: int | None = None
    by: str | None = None
    reason: str | None = None
    output: JSONObject | None = None


class WorkflowView(Struct):
    workflow_id: int
    definition: str
    version: int
    node: str
    step: int
    status: str
    context: JSONObject
    created_at: datetime
    updated_at: datetime
    step_started_at: datetime
    key: str | None = None
    outcome: str | None = None
    incident: str | None = None
    step_deadline: datetime | None = None


class WorkflowPage(Struct):
    workflows: list[WorkflowView]
    next_cursor: str | None = None


class History(Struct):
    workflow_id: int
    history: list[HistoryEntry]


class MoveRequest(Struct):
    node: Name
    reason: Text = ""
    by: Name = "operator"


class ActionResult(Struct):
    result: Literal["accepted", "stale", "rejected"]
    reason: str | None = None


class ManualStep(Struct):
    job_id: str
    workflow_id: int
    step: int
    node: str
    operation: str
    ready_at: datetime
    labels: list[str]


class ManualSteps(Struct):
    steps: list[ManualStep]


class ManualCompletion(Struct):
    label: Name
    by: Name
    output: JSONObject | None = None


class Health(Struct):
    status: str
    roles: list[str]


class ErrorBody(Struct):
    code: str
    message: str
    details: Any = None


class ErrorResponse(Struct):
    error: ErrorBody
