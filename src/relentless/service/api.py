"""The operator API: definitions, workflows, manual steps. Handlers parse, call, answer."""

from __future__ import annotations

from aiohttp import web

from relentless.core.definition import RESERVED_LABEL
from relentless.core.render import render
from relentless.engine import answers as engine
from relentless.engine.catalog import LoadedDefinition
from relentless.service import schemas
from relentless.service.bodies import answer, limit_batch, read
from relentless.service.errors import ApiError, not_found
from relentless.service.keys import ENGINE

_FORMATS = {"application/json": "json"}


def _int(request: web.Request, name: str, value: str | None, default: int | None = None,
         *, low: int = 1, high: int = 2**63 - 1) -> int | None:
    """A whole-number path or query parameter, or a 400 saying which and why."""
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise ApiError(400, "invalid_request", f"{name} must be a whole number from {low} "
                       f"to {high}, not {value!r}")
    return int(value)


def _workflow_id(request: web.Request) -> int:
    workflow_id = _int(request, "workflow id", request.match_info["workflow_id"])
    assert workflow_id is not None
    return workflow_id


async def publish_definition(request: web.Request) -> web.Response:
    """Publish YAML (or JSON, by content type); the same content returns its version."""
    try:
        text = (await request.read()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_request", f"the body is not UTF-8 text: {exc}") from None
    published = await request.app[ENGINE].definitions.publish(
        text, "json" if request.content_type in _FORMATS else "yaml")
    return answer(schemas.PublishedDefinition(published.name, published.version,
                                              published.fingerprint, published.created),
                  201 if published.created else 200)


async def list_definitions(request: web.Request) -> web.Response:
    names = await request.app[ENGINE].definitions.names()
    return answer(schemas.DefinitionList([schemas.DefinitionSummary(*row) for row in names]))


async def definition_versions(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    rows = await request.app[ENGINE].definitions.versions(name)
    if not rows:
        raise not_found(f"definition {name!r}")
    return answer(schemas.DefinitionVersions(name, [
        schemas.DefinitionVersion(row["name"], row["version"], row["fingerprint"],
                                  row["created_at"]) for row in rows]))


async def definition_version(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    version = _int(request, "version", request.match_info["version"], high=2**31 - 1)
    loaded = await request.app[ENGINE].definitions.resolve(name, version)
    if loaded is None:
        raise not_found(f"version {version} of definition {name!r}")
    return answer(_detail(loaded))


def _detail(loaded: LoadedDefinition) -> schemas.DefinitionDetail:
    compiled, definition = loaded.compiled, loaded.compiled.definition
    return schemas.DefinitionDetail(
        loaded.name, loaded.version, compiled.fingerprint, loaded.source, loaded.source_format,
        definition.start, list(compiled.node_names), list(definition.leaves),
        [label for label in compiled.label_names if label != RESERVED_LABEL],
        sorted({op for op in compiled.operations if op}),
        render(definition, "dot"), render(definition, "mermaid"))


def _started(result: engine.Started) -> schemas.StartResult:
    return schemas.StartResult(
        "accepted" if result.verdict is engine.Verdict.ACCEPTED else "rejected",
        result.workflow_id, result.version, result.created,
        result.reason.value if result.reason else None)


def _start_request(item: schemas.StartWorkflow) -> engine.StartRequest:
    return engine.StartRequest(item.definition, item.version, item.key, item.context)


async def start_workflow(request: web.Request) -> web.Response:
    """201 with the new workflow, 200 with the existing one for a known key."""
    item = await read(request, schemas.StartWorkflow)
    [result] = await request.app[ENGINE].workflows.start([_start_request(item)])
    if result.verdict is engine.Verdict.REJECTED:
        what = (f"version {item.version} of definition {item.definition!r}"
                if result.reason is engine.Reason.UNKNOWN_VERSION
                else f"definition {item.definition!r}")
        raise not_found(what)
    return answer(_started(result), 201 if result.created else 200)


async def start_workflows(request: web.Request) -> web.Response:
    body = await read(request, schemas.StartBatch)
    limit_batch(request, len(body.workflows), "workflows")
    results = await request.app[ENGINE].workflows.start(
        [_start_request(item) for item in body.workflows])
    return answer(schemas.StartBatchResponse([_started(result) for result in results]))


def _view(workflow: engine.Workflow) -> schemas.WorkflowView:
    return schemas.WorkflowView(
        workflow.id, workflow.definition, workflow.version, workflow.node, workflow.step,
        workflow.status.value, workflow.context, workflow.created_at, workflow.updated_at,
        workflow.step_started_at, workflow.key, workflow.outcome,
        workflow.incident.value if workflow.incident else None, workflow.step_deadline)


async def list_workflows(request: web.Request) -> web.Response:
    query = request.query
    status = query.get("status")
    if status is not None and status not in set(engine.WorkflowStatus):
        raise ApiError(400, "invalid_request", f"status must be one of "
                       f"{[s.value for s in engine.WorkflowStatus]}, not {status!r}")
    page = await request.app[ENGINE].workflows.page(
        status=engine.WorkflowStatus(status) if status else None,
        definition=query.get("definition"),
        limit=_int(request, "limit", query.get("limit"), 50, high=1_000) or 50,
        cursor=_int(request, "cursor", query.get("cursor")))
    return answer(schemas.WorkflowPage([_view(w) for w in page.workflows],
                                       str(page.next_cursor) if page.next_cursor else None))


async def get_workflow(request: web.Request) -> web.Response:
    workflow_id = _workflow_id(request)
    workflow = await request.app[ENGINE].workflows.get(workflow_id, with_history=False)
    if workflow is None:
        raise not_found(f"workflow {workflow_id}")
    return answer(_view(workflow))


async def workflow_history(request: web.Request) -> web.Response:
    workflow_id = _workflow_id(request)
    workflows = request.app[ENGINE].workflows
    if await workflows.get(workflow_id, with_history=False) is None:
        raise not_found(f"workflow {workflow_id}")
    return answer(schemas.History(workflow_id, [
        schemas.HistoryEntry(t.step, t.source, t.target, t.kind.value, t.at, t.label,
                             t.job_id, t.attempt, t.by, t.reason, t.output)
        for t in await workflows.history(workflow_id)]))


def _action(result: engine.Answer) -> web.Response:
    if result.reason is engine.Reason.UNKNOWN_WORKFLOW:
        raise not_found("the workflow")
    status = 409 if result.verdict is engine.Verdict.REJECTED else 200
    return answer(schemas.ActionResult(result.verdict.value,
                                       result.reason.value if result.reason else None), status)


async def cancel_workflow(request: web.Request) -> web.Response:
    return _action(await request.app[ENGINE].workflows.cancel(_workflow_id(request)))


async def move_workflow(request: web.Request) -> web.Response:
    body = await read(request, schemas.MoveRequest)
    return _action(await request.app[ENGINE].workflows.move(
        _workflow_id(request), body.node, body.by, body.reason))


async def manual_steps(request: web.Request) -> web.Response:
    limit = _int(request, "limit", request.query.get("limit"), 100, high=1_000) or 100
    steps = await request.app[ENGINE].workflows.manual_steps(limit)
    return answer(schemas.ManualSteps([
        schemas.ManualStep(step.job_id, step.workflow_id, step.step, step.node, step.operation,
                           step.ready_at, list(step.labels)) for step in steps]))


async def complete_manual_step(request: web.Request) -> web.Response:
    body = await read(request, schemas.ManualCompletion)
    result = await request.app[ENGINE].workers.complete_manual(
        engine.Completion(request.match_info["job_id"], body.label, body.output), body.by)
    if result.reason is engine.Reason.UNKNOWN_JOB:
        raise not_found(f"job {request.match_info['job_id']!r}")
    return _action(result)
