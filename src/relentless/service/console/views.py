"""The console's pages: each reads through the engine, as the JSON API does, and renders
one template (autoescaped: whatever a workflow holds is shown as text)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import aiohttp_jinja2
import msgspec
from aiohttp import web

from relentless import protocol
from relentless.core.definition import Definition
from relentless.service.console.graph import lay_out
from relentless.service.console.session import csrf_token, page
from relentless.service.keys import CONFIG, ENGINE
from relentless.store.job_ids import JobKey
from relentless.tokens import NamedToken, Scope
from relentless.vocabulary import GiveUpCause, JobState, WorkflowStatus

PAGE_SIZE = 50


def render(request: web.Request, session: NamedToken, template: str,
           values: dict[str, Any], status: int = 200) -> web.Response:
    """A page with what every page shows: who is signed in, and the CSRF token."""
    return aiohttp_jinja2.render_template(template, request, {
        **values, "session": session, "csrf": csrf_token(session),
        "may_act": Scope.ADMIN in session.granted, "path": request.path}, status=status)


def filters_of(request: web.Request) -> protocol.WorkflowQuery:
    """A filter form's fields as a listing query (empty fields are no filter)."""
    given = {name: value for name, value in request.query.items() if value.strip()}
    try:
        return msgspec.convert(given, protocol.WorkflowQuery, strict=False)
    except msgspec.ValidationError as exc:
        raise web.HTTPBadRequest(text=f"filters: {exc}") from None


@page
async def overview(request: web.Request, session: NamedToken) -> web.Response:
    counts = await request.app[ENGINE].overview.counts(request.app[CONFIG].sla_at_risk_share)
    by_definition: dict[str, Counter[str]] = defaultdict(Counter)
    causes: Counter[tuple[str, str]] = Counter()
    late: Counter[str] = Counter()
    at_risk: Counter[str] = Counter()
    for row in counts.active:
        by_definition[row["definition"]][row["status"]] += row["workflows"]
        late[row["definition"]] += row["past_deadline"]
        at_risk[row["definition"]] += row["at_risk"]
        if row["incident"]:
            causes[(row["incident"], row["definition"])] += row["workflows"]
    for row in counts.finished:
        by_definition[row["definition"]][f"ended_{row['status']}"] += row["workflows"]
    now = request.app[ENGINE].clock.now()
    ready = [(row["operation"], row["ready"], (now - row["oldest"]).total_seconds())
             for row in counts.ready]
    return render(request, session, "overview.html", {
        "definitions": sorted(by_definition.items()), "causes": sorted(causes.items()),
        "late": late, "at_risk": at_risk, "ready": sorted(ready),
        "window_minutes": int(counts.window.total_seconds() // 60)})


@page
async def workflows(request: web.Request, session: NamedToken) -> web.Response:
    query = filters_of(request)
    listed = await request.app[ENGINE].listings.page(query.filter(), query.limit,
                                                     query.cursor)
    names = [name for name, _, _ in await request.app[ENGINE].definitions.names()]
    after = {key: value for key, value in request.query.items() if key != "cursor"}
    return render(request, session, "workflows.html", {
        "workflows": listed.workflows, "query": query, "names": names,
        "next": ({**after, "cursor": str(listed.next_cursor)} if listed.next_cursor else None),
        "statuses": list(WorkflowStatus), "causes": list(GiveUpCause)})


@page
async def workflow(request: web.Request, session: NamedToken) -> web.Response:
    engine = request.app[ENGINE]
    workflow_id = int(request.match_info["workflow_id"])
    found = await engine.workflows.get(workflow_id, with_history=False)
    if found is None:
        raise web.HTTPNotFound(text=f"workflow {workflow_id} does not exist")
    loaded = await engine.definitions.resolve(found.definition, found.version)
    assert loaded is not None  # a workflow's version is never deleted while it exists
    definition: Definition = loaded.compiled.definition
    timeline = await engine.workflows.timeline(workflow_id, 0, 1_000)
    manual = None
    compiled = loaded.compiled
    if (definition.nodes[found.node].manual and found.attempt is not None
            and found.attempt.state == JobState.READY):
        job_id = str(JobKey(workflow_id, found.step, found.attempt.attempt))
        manual = {"job_id": job_id, "claimed_by": await engine.interventions.claimant(job_id),
                  "labels": compiled.offered_labels(compiled.node_index[found.node])}
    return render(request, session, "workflow.html", {
        "workflow": found, "graph": lay_out(definition, found.node,
                                            await engine.overview.traversals(workflow_id)),
        "context": json.dumps(found.context, indent=2, ensure_ascii=False),
        "timeline": timeline.steps if timeline else [], "nodes": list(definition.nodes),
        "manual": manual, "result": request.query.get("result"),
        "active": found.status in (WorkflowStatus.RUNNING, WorkflowStatus.INCIDENT)})


@page
async def incidents(request: web.Request, session: NamedToken) -> web.Response:
    engine = request.app[ENGINE]
    counts = await engine.overview.counts(request.app[CONFIG].sla_at_risk_share)
    groups = sorted((row["incident"], row["definition"], row["workflows"])
                    for row in counts.active if row["status"] == WorkflowStatus.INCIDENT)
    query = filters_of(request)
    chosen = msgspec.structs.replace(query, status=WorkflowStatus.INCIDENT)
    listed = await engine.listings.page(chosen.filter(), chosen.limit, chosen.cursor)
    return render(request, session, "incidents.html", {
        "groups": groups, "workflows": listed.workflows, "query": query,
        "filter_fields": {k: v for k, v in request.query.items() if v.strip()}})


@page
async def manual_steps(request: web.Request, session: NamedToken) -> web.Response:
    steps = await request.app[ENGINE].workflows.manual_steps(200)
    return render(request, session, "manual.html", {
        "steps": [(step, json.dumps(step.context, indent=2, ensure_ascii=False))
                  for step in steps], "result": request.query.get("result")})


@page
async def definitions(request: web.Request, session: NamedToken) -> web.Response:
    catalog = request.app[ENGINE].definitions
    listed = []
    for name, latest, _ in await catalog.names():
        active = await catalog.active_per_version(name)
        listed.append((name, latest, [(row["version"], row["created_at"],
                                       active.get(row["version"], 0))
                                      for row in await catalog.versions(name)]))
    return render(request, session, "definitions.html", {"definitions": listed})


@page
async def definition(request: web.Request, session: NamedToken) -> web.Response:
    name, version = request.match_info["name"], int(request.match_info["version"])
    loaded = await request.app[ENGINE].definitions.resolve(name, version)
    if loaded is None:
        raise web.HTTPNotFound(text=f"version {version} of {name!r} does not exist")
    return render(request, session, "definition.html", {
        "name": name, "version": version, "graph": lay_out(loaded.compiled.definition),
        "source": loaded.source,
        "active": (await request.app[ENGINE].definitions.active_per_version(name)).get(
            version, 0)})
