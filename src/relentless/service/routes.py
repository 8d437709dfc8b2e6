"""The route table: path, handler, who may call it, and what it reads and answers.

The same table registers the routes, drives the token checks and writes
/openapi.json, so the three cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from relentless.service import api, gateway, schemas
from relentless.service.auth import Scope

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
    query: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.handler.__name__


ACTION = (200, 409)
"""An operator action answers 200 when done, 409 when the workflow's state refuses it."""

ROUTES = (
    Route("POST", "/v1/jobs/lease", gateway.lease, "gateway", Scope.WORKER,
          "Lease up to max_jobs ready jobs, waiting up to wait_seconds for work",
          schemas.LeaseRequest, schemas.LeaseResponse),
    Route("POST", "/v1/jobs/complete", gateway.complete, "gateway", Scope.WORKER,
          "Complete jobs, one result per completion", schemas.CompleteRequest,
          schemas.CompleteResponse),
    Route("POST", "/v1/jobs/heartbeat", gateway.heartbeat, "gateway", Scope.WORKER,
          "Extend the leases of running jobs", schemas.HeartbeatRequest,
          schemas.HeartbeatResponse),
    Route("POST", "/v1/jobs/release", gateway.release, "gateway", Scope.WORKER,
          "Give leased jobs back, ready again at once", schemas.ReleaseRequest,
          schemas.ReleaseResponse),
    Route("POST", "/v1/definitions", api.publish_definition, "api", Scope.ADMIN,
          "Publish a definition (YAML, or JSON by content type)", "definition",
          schemas.PublishedDefinition, (201, 200)),
    Route("GET", "/v1/definitions", api.list_definitions, "api", Scope.ADMIN,
          "List definitions", None, schemas.DefinitionList),
    Route("GET", "/v1/definitions/{name}", api.definition_versions, "api", Scope.ADMIN,
          "List the versions of a definition", None, schemas.DefinitionVersions),
    Route("GET", "/v1/definitions/{name}/{version}", api.definition_version, "api", Scope.ADMIN,
          "One version: source, compiled summary, DOT and Mermaid", None,
          schemas.DefinitionDetail),
    Route("POST", "/v1/workflows", api.start_workflow, "api", Scope.ADMIN,
          "Start a workflow (idempotent on key)", schemas.StartWorkflow, schemas.StartResult,
          (201, 200)),
    Route("POST", "/v1/workflows/batch", api.start_workflows, "api", Scope.ADMIN,
          "Start many workflows, one result each", schemas.StartBatch,
          schemas.StartBatchResponse),
    Route("GET", "/v1/workflows", api.list_workflows, "api", Scope.ADMIN,
          "List workflows newest first (status, definition, limit, cursor)", None,
          schemas.WorkflowPage, query=("status", "definition", "limit", "cursor")),
    Route("GET", "/v1/workflows/{workflow_id}", api.get_workflow, "api", Scope.ADMIN,
          "One workflow", None, schemas.WorkflowView),
    Route("GET", "/v1/workflows/{workflow_id}/history", api.workflow_history, "api",
          Scope.ADMIN, "A workflow's history: its path through the graph", None,
          schemas.History),
    Route("POST", "/v1/workflows/{workflow_id}/cancel", api.cancel_workflow, "api", Scope.ADMIN,
          "Cancel a running or incident workflow", None, schemas.ActionResult, ACTION),
    Route("POST", "/v1/workflows/{workflow_id}/move", api.move_workflow, "api", Scope.ADMIN,
          "Move a workflow to a node (manual mitigation)", schemas.MoveRequest,
          schemas.ActionResult, ACTION),
    Route("GET", "/v1/manual-steps", api.manual_steps, "api", Scope.ADMIN,
          "Manual steps waiting for a person", None, schemas.ManualSteps, query=("limit",)),
    Route("POST", "/v1/manual-steps/{job_id}/complete", api.complete_manual_step, "api",
          Scope.ADMIN, "Complete a manual step", schemas.ManualCompletion,
          schemas.ActionResult, ACTION),
)
