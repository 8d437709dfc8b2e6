"""The console's forms: each POST is checked (session, CSRF, admin scope), calls the
engine under the token's name, and answers with the page that shows what happened."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import msgspec
from aiohttp import web

from relentless import protocol
from relentless.engine.bulk import BulkAction
from relentless.engine.values import Answer, Completion
from relentless.service.console.session import (
    COOKIE,
    SIGN_IN,
    action,
    end_session,
    set_session,
    signed_in,
)
from relentless.service.console.views import render
from relentless.service.keys import ENGINE, TOKENS
from relentless.tokens import NamedToken, Scope
from relentless.vocabulary import Reason, Verdict


def _said(answer: Answer | protocol.ClaimResult) -> str:
    """An answer as the ``result`` a page shows: accepted, stale, or rejected: why."""
    if answer.verdict is Verdict.REJECTED and answer.reason is not None:
        return f"rejected: {answer.reason}"
    return str(answer.verdict)


def _text(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _step(form: Any) -> int | None:
    value = _text(form, "step")
    return int(value) if value.isdigit() else None


def _back_to_workflow(workflow_id: int, answer: Answer) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/ui/workflows/{workflow_id}?result={_said(answer)}")


@action
async def move(request: web.Request, session: NamedToken) -> web.StreamResponse:
    form = await request.post()
    workflow_id = int(request.match_info["workflow_id"])
    answer = await request.app[ENGINE].workflows.move(
        workflow_id, _text(form, "node"), session.name, _text(form, "reason"),
        step=_step(form))
    raise _back_to_workflow(workflow_id, answer)


@action
async def cancel(request: web.Request, session: NamedToken) -> web.StreamResponse:
    form = await request.post()
    workflow_id = int(request.match_info["workflow_id"])
    answer = await request.app[ENGINE].workflows.cancel(
        workflow_id, session.name, _text(form, "reason"), step=_step(form))
    raise _back_to_workflow(workflow_id, answer)


@action
async def retry(request: web.Request, session: NamedToken) -> web.StreamResponse:
    form = await request.post()
    workflow_id = int(request.match_info["workflow_id"])
    answer = await request.app[ENGINE].interventions.retry(
        workflow_id, session.name, _text(form, "reason"), step=_step(form))
    raise _back_to_workflow(workflow_id, answer)


@action
async def claim(request: web.Request, session: NamedToken) -> web.StreamResponse:
    form = await request.post()
    answer = await request.app[ENGINE].interventions.claim(request.match_info["job_id"],
                                                           session.name)
    raise web.HTTPSeeOther(f"{_text(form, 'back') or '/ui/manual'}?result={_said(answer)}")


@action
async def complete(request: web.Request, session: NamedToken) -> web.StreamResponse:
    form = await request.post()
    job_id = request.match_info["job_id"]
    engine = request.app[ENGINE]
    claimant = await engine.interventions.claimant(job_id)
    note = _text(form, "note")
    if claimant not in (None, session.name):
        answer = Answer(verdict=Verdict.REJECTED, reason=Reason.CLAIMED)
    else:
        answer = await engine.workers.complete_manual(
            Completion(job_id, _text(form, "label"), {"note": note} if note else None),
            session.name)
    raise web.HTTPSeeOther(f"{_text(form, 'back') or '/ui/manual'}?result={_said(answer)}")


def _bulk_request(form: Any) -> protocol.BulkRequest:
    """The bulk form: the workflows ticked (``id:step``), or else the filter's fields."""
    picked = [value.split(":") for value in form.getall("workflow", [])]
    workflows = [protocol.BulkSelection(workflow_id=int(ident), step=int(step))
                 for ident, step in picked] if picked else None
    fields = {name: _text(form, f"filter_{name}")
              for name in protocol.WorkflowFilter.__struct_fields__
              if _text(form, f"filter_{name}")}
    selected = (None if workflows is not None else
                msgspec.convert({**fields, "status": "incident"} if not fields.get("status")
                                else fields, protocol.WorkflowFilter, strict=False))
    return protocol.BulkRequest(filter=selected, workflows=workflows,
                                node=_text(form, "node") or None,
                                reason=_text(form, "reason"),
                                dry_run=_text(form, "dry_run") == "1")


@action
async def bulk(request: web.Request, session: NamedToken) -> web.StreamResponse:
    form = await request.post()
    try:
        kind = BulkAction(_text(form, "action"))
        body = _bulk_request(form)
    except (ValueError, msgspec.ValidationError) as exc:
        raise web.HTTPBadRequest(text=f"the bulk form: {exc}") from None
    if kind is BulkAction.MOVE and body.node is None:
        raise web.HTTPBadRequest(text="a bulk move needs the node to move to")
    result = await request.app[ENGINE].bulk.run(kind, body, session.name)
    return render(request, session, "bulk.html", {
        "result": result, "node": body.node or "", "reason": body.reason})


async def sign_in_page(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("sign_in.html", request, {
        "next": request.query.get("next", "/ui"), "problem": None})


async def sign_in(request: web.Request) -> web.StreamResponse:
    """Check the token, then keep it in the session cookie (never in a URL)."""
    form = await request.post()
    token, target = _text(form, "token"), _text(form, "next") or "/ui"
    named = request.app[TOKENS].identify(token) if token else None
    if named is None or not named.granted & {Scope.VIEWER, Scope.ADMIN}:
        return aiohttp_jinja2.render_template("sign_in.html", request, {
            "next": target, "problem": "that token is not valid for the console"}, status=401)
    response = web.HTTPSeeOther(target if target.startswith("/ui") else "/ui")
    set_session(response, token)
    raise response


async def sign_out(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther(SIGN_IN)
    if signed_in(request) is not None or COOKIE in request.cookies:
        end_session(response)
    raise response
