"""The operator API: definitions, workflows, manual steps. Handlers parse, call, answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from aiohttp import web

from relentless import protocol
from relentless.core.definition import RESERVED_LABEL
from relentless.core.render import render
from relentless.engine.catalog import LoadedDefinition
from relentless.engine.values import Answer, Completion, Started, StartRequest
from relentless.service.auth import caller_name
from relentless.service.bodies import (
    answer,
    limit_batch,
    path_parameter,
    query,
    read,
    read_optional,
)
from relentless.service.errors import ApiError, not_found
from relentless.service.items import decode_each, judge_each
from relentless.service.keys import ENGINE
from relentless.vocabulary import Reason, Verdict

_FORMATS = {"application/json": "json"}


def _as(kind: type[Any], value: object) -> Any:
    """An engine value as the protocol message of the same fields, by name."""
    return msgspec.convert(value, kind, from_attributes=True)


async def publish_definition(request: web.Request) -> web.Response:
    """Publish YAML (or JSON, by content type); the same content returns its version."""
    try:
        text = (await request.read()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_request", f"the body is not UTF-8 text: {exc}") from None
    published = await request.app[ENGINE].definitions.publish(
        text, "json" if request.content_type in _FORMATS else "yaml")
    return answer(published, 201 if published.created else 200)


async def list_definitions(request: web.Request) -> web.Response:
    names = await request.app[ENGINE].definitions.names()
    return answer(protocol.DefinitionList(definitions=[
        protocol.DefinitionSummary(name=name, latest=latest, versions=versions)
        for name, latest, versions in names]))


async def definition_versions(request: web.Request) -> web.Response:
    name = path_parameter(request, "name")
    engine = request.app[ENGINE]
    rows = await engine.definitions.versions(name)
    if not rows:
        raise not_found(f"definition {name!r}")
    active = await engine.definitions.active_per_version(name)
    return answer(protocol.DefinitionVersions(name=name, versions=[
        _as(protocol.DefinitionVersion, {**dict(row), "active": active.get(row["version"], 0)})
        for row in rows]))


async def definition_version(request: web.Request) -> web.Response:
    name = path_parameter(request, "name")
    version = path_parameter(request, "version")
    loaded = await request.app[ENGINE].definitions.resolve(name, version)
    if loaded is None:
        raise not_found(f"version {version} of definition {name!r}")
    return answer(_detail(loaded))


def _detail(loaded: LoadedDefinition) -> protocol.DefinitionDetail:
    compiled, definition = loaded.compiled, loaded.compiled.definition
    return protocol.DefinitionDetail(
        name=loaded.name, version=loaded.version, fingerprint=compiled.fingerprint,
        source=loaded.source, source_format=loaded.source_format, start=definition.start,
        nodes=list(compiled.node_names), leaves=list(definition.leaves),
        labels=[label for label in compiled.label_names if label != RESERVED_LABEL],
        operations=sorted({op for op in compiled.operations if op}),
        dot=render(definition, "dot"), mermaid=render(definition, "mermaid"))


def _start_request(item: protocol.StartWorkflow) -> StartRequest:
    return StartRequest(item.definition, item.version, item.key, item.context)


async def start_workflow(request: web.Request) -> web.Response:
    """201 with the new workflow, 200 with the existing one for a known key."""
    item = await read(request, protocol.StartWorkflow)
    result: Started
    [result] = await request.app[ENGINE].workflows.start([_start_request(item)])
    if result.reason is Reason.KEY_CONFLICT:
        return answer(result, 409)  # the key was first sent with another input
    if result.verdict is Verdict.REJECTED:
        what = (f"version {item.version} of definition {item.definition!r}"
                if result.reason is Reason.UNKNOWN_VERSION
                else f"definition {item.definition!r}")
        raise not_found(what)
    return answer(result, 201 if result.created else 200)


async def start_workflows(request: web.Request) -> web.Response:
    """One result per start; one bad item never refuses the others."""
    body = await read(request, protocol.StartBatchItems)
    limit_batch(request, len(body.workflows), "workflows")
    decoded = decode_each(body.workflows, protocol.StartWorkflow, Reason.INVALID_START,
                          ("context",))
    results = await judge_each(
        decoded, lambda items: request.app[ENGINE].workflows.start(
            [_start_request(item) for item in items]),
        lambda _, started: started,
        lambda refusal: Started(verdict=Verdict.REJECTED, reason=refusal.reason,
                                detail=refusal.detail))
    return answer(protocol.StartBatchResponse(results=results))


async def list_workflows(request: web.Request) -> web.Response:
    filters = query(request, protocol.WorkflowQuery)
    page = await request.app[ENGINE].listings.page(filters.filter(), filters.limit,
                                                   filters.cursor)
    return answer(protocol.WorkflowPage(
        workflows=[_as(protocol.WorkflowView, w) for w in page.workflows],
        next_cursor=str(page.next_cursor) if page.next_cursor else None))


async def get_workflow(request: web.Request) -> web.Response:
    workflow_id = path_parameter(request, "workflow_id")
    workflow = await request.app[ENGINE].workflows.get(workflow_id, with_history=False)
    if workflow is None:
        raise not_found(f"workflow {workflow_id}")
    return answer(_as(protocol.WorkflowView, workflow))  # without the history


async def workflow_history(request: web.Request) -> web.Response:
    workflow_id = path_parameter(request, "workflow_id")
    workflows = request.app[ENGINE].workflows
    if await workflows.get(workflow_id, with_history=False) is None:
        raise not_found(f"workflow {workflow_id}")
    return answer(protocol.History(workflow_id=workflow_id,
                                   history=await workflows.history(workflow_id)))


async def prune_workflows(request: web.Request) -> web.Response:
    """Retention by hand: delete (or, dry, count) finished workflows past an age."""
    body = await read(request, protocol.PruneRequest)
    retention = request.app[ENGINE].retention
    older_than = timedelta(seconds=body.older_than_seconds)
    count = (await retention.prunable(older_than) if body.dry_run
             else await retention.prune(older_than))
    return answer(protocol.PruneResult(workflows=count, dry_run=body.dry_run))


async def workflow_timeline(request: web.Request) -> web.Response:
    """Each step with its attempts (errors included), events and transition, paginated."""
    workflow_id = path_parameter(request, "workflow_id")
    page = query(request, protocol.TimelineQuery)
    timeline = await request.app[ENGINE].workflows.timeline(workflow_id, page.after_step,
                                                            page.limit)
    if timeline is None:
        raise not_found(f"workflow {workflow_id}")
    return answer(timeline)


def _action(result: Answer) -> web.Response:
    if result.reason is Reason.UNKNOWN_WORKFLOW:
        raise not_found("the workflow")
    return answer(result, 409 if result.verdict is Verdict.REJECTED else 200)


async def cancel_workflow(request: web.Request) -> web.Response:
    """Cancel, recorded under the token's name (a ``by`` in the body is ignored)."""
    body = await read_optional(request, protocol.CancelRequest)
    return _action(await request.app[ENGINE].workflows.cancel(
        path_parameter(request, "workflow_id"), caller_name(request), body.reason,
        step=body.step))


async def move_workflow(request: web.Request) -> web.Response:
    """Move, recorded under the token's name (a ``by`` in the body is ignored)."""
    body = await read(request, protocol.MoveRequest)
    return _action(await request.app[ENGINE].workflows.move(
        path_parameter(request, "workflow_id"), body.node, caller_name(request), body.reason,
        step=body.step))


async def manual_steps(request: web.Request) -> web.Response:
    filters = query(request, protocol.ManualStepQuery)
    steps = await request.app[ENGINE].workflows.manual_steps(filters.limit)
    return answer(protocol.ManualSteps(steps=steps))


async def complete_manual_step(request: web.Request) -> web.Response:
    body = await read(request, protocol.ManualCompletion)
    job_id = path_parameter(request, "job_id")
    engine, by = request.app[ENGINE], caller_name(request)
    claimant = await engine.interventions.claimant(job_id)
    if claimant not in (None, by):  # a claimed step is the claimant's to complete
        return answer(protocol.ActionResult(verdict=Verdict.REJECTED, reason=Reason.CLAIMED),
                      409)
    result = await request.app[ENGINE].workers.complete_manual(
        Completion(job_id, body.label, body.output), caller_name(request))
    if result.reason is Reason.UNKNOWN_JOB:
        raise not_found(f"job {job_id!r}")
    return _action(result)
