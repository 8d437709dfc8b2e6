"""The route table: path, handler, who may call it, and what it reads and answers.

The same table registers the routes, drives the token checks and writes
/openapi.json, so the three cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from relentless import protocol
from relentless.service import actions, api, gateway
from relentless.service.auth import Scope
from relentless.service.stats import definition_stats

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    role: str
    scope: Scope | None
    summary: str
    request: Any = None
    response: Any = None
    statuses: tuple[int, ...] = (200,)
    """Statuses answered with ``response`` (201 created, 409 for a refused action, ...)."""
    query: type | None = None
    """The protocol type of the query parameters, if the route reads any."""
    optional_body: bool = False

    @property
    def name(self) -> str:
        return self.handler.__name__


ACTION = (200, 409)
"""An operator action answers 200 when done, 409 when the workflow's state refuses it."""

ROUTES = (
    Route("POST", "/v1/jobs/lease", gateway.lease, "gateway", Scope.WORKER,
          "Lease up to max_jobs ready jobs, waiting up to wait_seconds for work",
          protocol.LeaseRequest, protocol.LeaseResponse),
    Route("POST", "/v1/jobs/complete", gateway.complete, "gateway", Scope.WORKER,
          "Complete jobs, one result per completion", protocol.CompleteRequest,
          protocol.CompleteResponse),
    Route("POST", "/v1/jobs/fail", gateway.fail, "gateway", Scope.WORKER,
          "Fail attempts: each retries after its backoff or gives its step up",
          protocol.FailRequest, protocol.FailResponse),
    Route("POST", "/v1/jobs/heartbeat", gateway.heartbeat, "gateway", Scope.WORKER,
          "Extend the leases of running jobs", protocol.HeartbeatRequest,
          protocol.HeartbeatResponse),
    Route("POST", "/v1/jobs/release", gateway.release, "gateway", Scope.WORKER,
          "Give leased jobs back, ready again at once", protocol.ReleaseRequest,
          protocol.ReleaseResponse),
    Route("POST", "/v1/definitions", api.publish_definition, "api", Scope.ADMIN,
          "Publish a definition (YAML, or JSON by content type)", "definition",
          protocol.PublishedDefinition, (201, 200)),
    Route("GET", "/v1/definitions", api.list_definitions, "api", Scope.VIEWER,
          "List definitions", None, protocol.DefinitionList),
    Route("GET", "/v1/definitions/{name}", api.definition_versions, "api", Scope.VIEWER,
          "List the versions of a definition", None, protocol.DefinitionVersions),
    Route("GET", "/v1/definitions/{name}/{version}", api.definition_version, "api", Scope.VIEWER,
          "One version: source, compiled summary, DOT and Mermaid", None,
          protocol.DefinitionDetail),
    Route("GET", "/v1/definitions/{name}/{version}/stats", definition_stats, "api",
          Scope.VIEWER, "What the workers did at each node of a version: label counts, "
          "attempt durations, failure and expiry rates (for relentless simulate --from)",
          None, protocol.DefinitionStats, query=protocol.StatsQuery),
    Route("POST", "/v1/workflows", api.start_workflow, "api", Scope.ADMIN,
          "Start a workflow (idempotent on key; 409 key_conflict: the key was first sent "
          "with another input)", protocol.StartWorkflow, protocol.StartResult, (201, 200, 409)),
    Route("POST", "/v1/workflows/batch", api.start_workflows, "api", Scope.ADMIN,
          "Start many workflows, one result each", protocol.StartBatch,
          protocol.StartBatchResponse),
    Route("GET", "/v1/workflows", api.list_workflows, "api", Scope.VIEWER,
          "List workflows newest first, filtered (status, definition, version, node, key, "
          "incident, retrying, started/updated ranges; limit, cursor)", None,
          protocol.WorkflowPage, query=protocol.WorkflowQuery),
    Route("POST", "/v1/workflows/prune", api.prune_workflows, "api", Scope.ADMIN,
          "Delete finished workflows older than an age, with their jobs and history",
          protocol.PruneRequest, protocol.PruneResult),
    Route("POST", "/v1/workflows/bulk/cancel", actions.bulk_cancel, "api", Scope.ADMIN,
          "Cancel the workflows a filter matches, or those listed (dry_run: list them)",
          protocol.BulkRequest, protocol.BulkResult),
    Route("POST", "/v1/workflows/bulk/move", actions.bulk_move, "api", Scope.ADMIN,
          "Move the workflows a filter matches, or those listed, to a node",
          protocol.BulkRequest, protocol.BulkResult),
    Route("POST", "/v1/workflows/bulk/retry", actions.bulk_retry, "api", Scope.ADMIN,
          "Retry the current step now of the workflows a filter matches, or those listed",
          protocol.BulkRequest, protocol.BulkResult),
    Route("GET", "/v1/workflows/{workflow_id}", api.get_workflow, "api", Scope.VIEWER,
          "One workflow", None, protocol.WorkflowView),
    Route("GET", "/v1/workflows/{workflow_id}/history", api.workflow_history, "api",
          Scope.VIEWER, "A workflow's history: its path through the graph", None,
          protocol.History),
    Route("GET", "/v1/workflows/{workflow_id}/timeline", api.workflow_timeline, "api",
          Scope.VIEWER, "A workflow's steps with every attempt, event and transition", None,
          protocol.Timeline, query=protocol.TimelineQuery),
    Route("POST", "/v1/workflows/{workflow_id}/cancel", api.cancel_workflow, "api", Scope.ADMIN,
          "Cancel a running or incident workflow (body optional: reason, by)",
          protocol.CancelRequest, protocol.ActionResult, ACTION, optional_body=True),
    Route("POST", "/v1/workflows/{workflow_id}/move", api.move_workflow, "api", Scope.ADMIN,
          "Move a workflow to a node (manual mitigation)", protocol.MoveRequest,
          protocol.ActionResult, ACTION),
    Route("POST", "/v1/workflows/{workflow_id}/retry", actions.retry_workflow, "api",
          Scope.ADMIN, "Retry the current step now: an incident's new attempt, or a "
          "retry's backoff cut short (body optional: reason, step)", protocol.RetryRequest,
          protocol.ActionResult, ACTION, optional_body=True),
    Route("GET", "/v1/manual-steps", api.manual_steps, "api", Scope.VIEWER,
          "Manual steps waiting for a person", None, protocol.ManualSteps,
          query=protocol.ManualStepQuery),
    Route("POST", "/v1/manual-steps/{job_id}/complete", api.complete_manual_step, "api",
          Scope.ADMIN, "Complete a manual step (refused if another person claimed it)",
          protocol.ManualCompletion, protocol.ActionResult, ACTION),
    Route("POST", "/v1/manual-steps/{job_id}/claim", actions.claim_manual_step, "api",
          Scope.ADMIN, "Claim a manual step, so that others see who is on it", None,
          protocol.ClaimResult, ACTION),
)
