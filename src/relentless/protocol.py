"""Every message of the HTTP API, typed once.

The service decodes requests and encodes answers with these types, the worker SDK and
the admin client decode the answers into them, and /openapi.json is written from them:
one definition per message, so the three cannot disagree. This module imports only
msgspec and the vocabulary, so that a worker installs light.

Requests refuse unknown fields (a typo is an error, not silently ignored); answers
accept them, so that an older client keeps working against a newer server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from relentless.vocabulary import (
    BulkOutcome,
    EventKind,
    GiveUpCause,
    JobState,
    Reason,
    TransitionKind,
    Verdict,
    WorkflowStatus,
)

MAX_BATCH = 1_000
"""The most items one request may carry (jobs to lease, completions, starts, ...)."""

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

_NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_NO_NUL)]
JobId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=_NO_NUL)]
Text = Annotated[str, msgspec.Meta(max_length=2_000, pattern=_NO_NUL)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
WaitSeconds = Annotated[float, msgspec.Meta(ge=0, le=60)]
BatchSize = Annotated[int, msgspec.Meta(ge=1, le=MAX_BATCH)]
WorkflowId = Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]
Version = Annotated[int, msgspec.Meta(ge=1, le=INT32_MAX)]
PageSize = Annotated[int, msgspec.Meta(ge=1, le=MAX_BATCH)]
JSONObject = dict[str, Any]
Moment = Annotated[datetime, msgspec.Meta(tz=True, extra_json_schema={"format": "date-time"})]
"""A time with its zone, e.g. 2024-05-01T12:00:00Z."""


class Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Base of what clients send: an unknown field is an error."""


class Response(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    """Base of what the server answers: immutable, and fields a newer server adds are
    ignored."""


class Query(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of a route's query parameters (other parameters are ignored, as caches and
    proxies add their own)."""


# -- the worker protocol ----------------------------------------------------------------

class LeaseRequest(Request):
    worker: Name
    operations: Annotated[list[Name], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]
    max_jobs: BatchSize = 1
    lease_seconds: Seconds = 60.0
    wait_seconds: WaitSeconds = 0.0


class LeasedJob(Response, frozen=True):
    """One leased attempt at a workflow's current step: what a handler receives."""

    job_id: str
    workflow_id: int
    operation: str
    node: str
    labels: tuple[str, ...]
    attempt: int
    step: int
    context: JSONObject
    lease_expires_at: datetime


class LeaseResponse(Response, frozen=True):
    jobs: list[LeasedJob]
    now: datetime | None = None
    """The cluster's time (PostgreSQL's) when answered: a lease runs for
    ``lease_expires_at - now``, whatever the worker's own clock says."""


class Completion(Request):
    """A job's result: the label that picks the next node, and an optional output."""

    job_id: JobId
    label: Name
    output: JSONObject | None = None


class CompleteRequest(Request):
    completions: Annotated[list[Completion], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class CompleteRequestItems(Request):
    """How the gateway reads a completion batch: each item on its own, so that one
    malformed item is rejected alone instead of failing the batch."""

    completions: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class CompletionResult(Response, frozen=True):
    job_id: str
    verdict: Verdict = msgspec.field(name="result")
    reason: Reason | None = None
    detail: str | None = None
    """What was wrong with an item the server could not read (invalid_completion,
    invalid_failure)."""


class CompleteResponse(Response, frozen=True):
    results: list[CompletionResult]


class Failure(Request):
    """An attempt that went wrong: ``error`` says what; ``retryable`` False gives the
    step up at once instead of retrying it after the backoff."""

    job_id: JobId
    error: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000, pattern=_NO_NUL)]
    retryable: bool = True
    details: JSONObject | None = None


class FailRequest(Request):
    worker: Name
    failures: Annotated[list[Failure], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class FailRequestItems(Request):
    """How the gateway reads a failure batch: each item on its own (see
    CompleteRequestItems)."""

    worker: Name
    failures: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class FailResponse(Response, frozen=True):
    results: list[CompletionResult]
    """One per failure, in order, as for completions."""


class HeartbeatRequest(Request):
    worker: Name
    job_ids: Annotated[list[JobId], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]
    lease_seconds: Seconds = 60.0


class HeartbeatResult(Response, frozen=True):
    job_id: str
    extended: bool
    lease_expires_at: datetime | None = None


class HeartbeatResponse(Response, frozen=True):
    results: list[HeartbeatResult]
    now: datetime | None = None
    """The cluster's time when answered (see LeaseResponse)."""


class ReleaseRequest(Request):
    worker: Name
    job_ids: Annotated[list[JobId], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class ReleaseResult(Response, frozen=True):
    job_id: str
    released: bool


class ReleaseResponse(Response, frozen=True):
    results: list[ReleaseResult]


# -- definitions -------------------------------------------------------------------------

class PublishedDefinition(Response, frozen=True):
    """A published version; ``created`` is False when this content existed already."""

    name: str
    version: int
    fingerprint: str
    created: bool


class DefinitionVersion(Response, frozen=True):
    name: str
    version: int
    fingerprint: str
    created_at: datetime
    active: int | None = None
    """How many running and incident workflows are on this version."""


class DefinitionSummary(Response, frozen=True):
    name: str
    latest: int
    versions: int


class DefinitionList(Response, frozen=True):
    definitions: list[DefinitionSummary]


class DefinitionVersions(Response, frozen=True):
    name: str
    versions: list[DefinitionVersion]


class DefinitionDetail(Response, frozen=True):
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


class StatsQuery(Query):
    since: datetime | None = None
    """Count the workflows started since then (default: the last 7 days)."""


class DurationHistogram(Response, frozen=True):
    """Attempts per duration bin: bin ``i`` is ``[edges_ms[i], edges_ms[i + 1])``."""

    edges_ms: list[int]
    counts: list[int]


class NodeStats(Response, frozen=True):
    """How the ended attempts at one node ended, what they answered and how long they took."""

    manual: bool
    attempts: int
    """Ended attempts: completed, failed or expired (not closed, released or open)."""
    completed: int
    failed: int
    expired: int
    permanent: int
    """Failed attempts not retried though attempts were left (``retryable: false``)."""
    labels: dict[str, int]
    fail_rate: float
    """Retried (or last) failures per ended attempt."""
    lost_rate: float
    """Expired attempts per ended attempt."""
    permanent_rate: float
    durations: DurationHistogram | None = None
    """From ready to closed, of completed and failed attempts."""


class DefinitionStats(Response, frozen=True):
    """A version's audit trail, counted per node: what a scenario is learned from."""

    name: str
    version: int
    since: datetime
    until: datetime
    workflows: int
    """Workflows of this version started in the period."""
    sampled: int
    """The newest of them whose attempts are counted (at most 100,000)."""
    nodes: dict[str, NodeStats]


# -- workflows ---------------------------------------------------------------------------

class StartWorkflow(Request):
    definition: Name
    version: Version | None = None
    key: Name | None = None
    context: JSONObject | None = None


class StartBatch(Request):
    workflows: Annotated[list[StartWorkflow], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class StartBatchItems(Request):
    """How the api reads a batch of starts: each item on its own (see
    CompleteRequestItems)."""

    workflows: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class StartResult(Response, frozen=True):
    verdict: Verdict = msgspec.field(name="result")
    workflow_id: int | None = None
    version: int | None = None
    created: bool = False
    reason: Reason | None = None
    detail: str | None = None
    """What was wrong with an item the server could not read (invalid_start)."""


class StartBatchResponse(Response, frozen=True):
    results: list[StartResult]


class WorkflowQuery(Query):
    """The filters of a workflow listing (query parameters), newest first; the same as
    WorkflowFilter's, with a page size and a cursor."""

    status: WorkflowStatus | None = None
    definition: Name | None = None
    version: Version | None = None
    node: Name | None = None
    key: Name | None = None
    incident: GiveUpCause | None = None
    """Incidents of this cause only."""
    retrying: bool = False
    """Only running workflows whose current step is on its second attempt or later."""
    started_after: Moment | None = None
    started_before: Moment | None = None
    updated_after: Moment | None = None
    updated_before: Moment | None = None
    limit: PageSize = 50
    cursor: WorkflowId | None = None
    """The previous page's ``next_cursor``."""

    def filter(self) -> WorkflowFilter:
        return WorkflowFilter(**{name: getattr(self, name)
                                 for name in WorkflowFilter.__struct_fields__})


class WorkflowFilter(Request):
    """Which workflows a listing or a bulk action takes: every filter given must match."""

    status: WorkflowStatus | None = None
    definition: Name | None = None
    version: Version | None = None
    node: Name | None = None
    key: Name | None = None
    incident: GiveUpCause | None = None
    retrying: bool = False
    started_after: Moment | None = None
    started_before: Moment | None = None
    updated_after: Moment | None = None
    updated_before: Moment | None = None


class HistoryEntry(Response, frozen=True):
    """One edge a workflow took: step ``step`` left ``source`` for ``target``."""

    step: int
    source: str
    target: str
    kind: TransitionKind
    at: datetime
    label: str | None = None
    job_id: str | None = None
    attempt: int | None = None
    by: str | None = None
    reason: str | None = None
    output: JSONObject | None = None


class AttemptView(Response, frozen=True):
    """One attempt at a step: who holds it, until when, when it is (or was) ready, how
    it ended and with which error."""

    attempt: int
    state: JobState
    ready_at: datetime
    """When it was (or, for a retry waiting out its backoff, will be) ready."""
    holder: str | None = None
    leased_at: datetime | None = None
    lease_expires_at: datetime | None = None
    ended_at: datetime | None = None
    label: str | None = None
    by: str | None = None
    error: str | None = None
    error_details: JSONObject | None = None


class WorkflowView(Response, frozen=True):
    id: int = msgspec.field(name="workflow_id")
    definition: str
    version: int
    node: str
    step: int
    status: WorkflowStatus
    context: JSONObject
    created_at: datetime
    updated_at: datetime
    step_started_at: datetime
    key: str | None = None
    outcome: str | None = None
    """The leaf a completed workflow reached."""
    incident: GiveUpCause | None = None
    step_deadline: datetime | None = None
    attempt: AttemptView | None = None
    """The current step's latest attempt (one workflow only, not in listings)."""
    last_error: str | None = None
    """The last error an attempt of the current step ended with (one workflow only)."""


class WorkflowPage(Response, frozen=True):
    workflows: list[WorkflowView]
    next_cursor: str | None = None


class History(Response, frozen=True):
    workflow_id: int
    history: list[HistoryEntry]


class EventView(Response, frozen=True):
    """An audit entry that is not a transition: a release, an incident raised or
    resolved, a cancel; with who, why and what."""

    kind: EventKind
    at: datetime
    step: int
    attempt: int | None = None
    by: str | None = None
    reason: str | None = None
    details: JSONObject | None = None


class TimelineStep(Response, frozen=True):
    """One step of a workflow: its node, every attempt, what else happened, and the
    transition that ended it (none while it is open)."""

    step: int
    node: str
    attempts: list[AttemptView]
    events: list[EventView]
    transition: HistoryEntry | None = None


class Timeline(Response, frozen=True):
    workflow_id: int
    steps: list[TimelineStep]
    next_step: int | None = None
    """Pass as ``after_step`` for the next page; absent on the last."""


class TimelineQuery(Query):
    after_step: Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)] = 0
    limit: PageSize = 100


class PruneRequest(Request):
    """Delete finished workflows that ended more than ``older_than_seconds`` ago."""

    older_than_seconds: Annotated[float, msgspec.Meta(gt=0, le=100 * 365 * 86_400)]
    dry_run: bool = False


class PruneResult(Response, frozen=True):
    workflows: int
    """How many were deleted (or, in a dry run, would be)."""
    dry_run: bool = False


IGNORED_BY = ("Accepted and ignored, so that older clients keep working: who acted is "
              "the name of the request's token.")


class CancelRequest(Request):
    """Optional body of a cancel: why (recorded in the audit trail with the token's
    name); ``step``, when given, cancels only if the workflow is still on that step."""

    reason: Text = ""
    step: Annotated[int, msgspec.Meta(ge=1, le=INT32_MAX)] | None = None
    by: Annotated[Name | None, msgspec.Meta(description=IGNORED_BY)] = None


class MoveRequest(Request):
    """Put a workflow on ``node``; ``step``, when given, moves it only if it is still on
    that step (else the answer is stale: it moved on)."""

    node: Name
    reason: Text = ""
    step: Annotated[int, msgspec.Meta(ge=1, le=INT32_MAX)] | None = None
    by: Annotated[Name | None, msgspec.Meta(description=IGNORED_BY)] = None


class ActionResult(Response, frozen=True):
    """The answer to an operator action: done (200), or refused by the state (409)."""

    verdict: Verdict = msgspec.field(name="result")
    reason: Reason | None = None


class ManualStep(Response, frozen=True):
    """A manual step waiting for a person, with the labels they may choose from, the
    workflow's context, the step's deadline and who claimed it."""

    job_id: str
    workflow_id: int
    step: int
    node: str
    operation: str
    ready_at: datetime
    labels: tuple[str, ...]
    context: JSONObject | None = None
    step_deadline: datetime | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None


class ManualSteps(Response, frozen=True):
    steps: list[ManualStep]


class ManualStepQuery(Query):
    limit: PageSize = 100


class ManualCompletion(Request):
    """A person's decision of a manual step: one of its labels, and an optional output
    (a ``note`` key, say); recorded with the token's name."""

    label: Name
    output: JSONObject | None = None
    by: Annotated[Name | None, msgspec.Meta(description=IGNORED_BY)] = None


class ClaimResult(Response, frozen=True):
    """The answer to a claim: accepted (200) with who holds it, or refused (409): claimed
    by someone else (``claimed_by`` says who), or not an open manual step."""

    verdict: Verdict = msgspec.field(name="result")
    reason: Reason | None = None
    claimed_by: str | None = None


class RetryRequest(Request):
    """Optional body of a retry-now: why; ``step`` retries only if still on that step."""

    reason: Text = ""
    step: Annotated[int, msgspec.Meta(ge=1, le=INT32_MAX)] | None = None


class BulkSelection(Request):
    """One workflow picked by hand (from a dry run, say): ``step`` is where it was seen,
    so that one which moved on since is skipped, not acted on."""

    workflow_id: WorkflowId
    step: Annotated[int, msgspec.Meta(ge=1, le=INT32_MAX)] | None = None


class BulkRequest(Request):
    """A bulk cancel, move or retry of the workflows a filter matches (at most ``limit``)
    or of those listed; ``dry_run`` lists them and changes nothing."""

    filter: WorkflowFilter | None = None
    workflows: Annotated[list[BulkSelection], msgspec.Meta(max_length=MAX_BATCH)] | None = None
    node: Name | None = None
    """Where a move puts them (moves only)."""
    reason: Text = ""
    dry_run: bool = False
    limit: BatchSize = 100


class BulkItem(Response, frozen=True):
    workflow_id: int
    outcome: BulkOutcome
    step: int | None = None
    status: WorkflowStatus | None = None
    reason: Reason | None = None
    """Why it was refused."""


class BulkResult(Response, frozen=True):
    action: str
    dry_run: bool
    workflows: list[BulkItem]
    more: bool = False
    """The filter matched more workflows than ``limit``; run again for the rest."""


# -- the service itself ------------------------------------------------------------------

class Health(Response, frozen=True):
    status: str
    roles: list[str]


class ErrorBody(Response, frozen=True):
    code: str
    message: str
    details: Any = None


class ErrorResponse(Response, frozen=True):
    error: ErrorBody


PATH_PARAMETERS: dict[str, Any] = {
    "workflow_id": WorkflowId,
    "name": Name,
    "version": Version,
    "job_id": JobId,
}
"""The type of every path parameter of the API, by its name in the route's path."""
