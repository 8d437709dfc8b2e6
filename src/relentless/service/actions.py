"""The operator's actions beyond move and cancel: retry now, claim a manual step, and
the bulk actions. Handlers parse, call the engine, and answer; who acted is the token's
name."""

from __future__ import annotations

from aiohttp import web

from relentless import protocol
from relentless.engine.bulk import BulkAction
from relentless.service.auth import caller_name
from relentless.service.bodies import answer, limit_batch, path_parameter, read, read_optional
from relentless.service.errors import ApiError, not_found
from relentless.service.keys import ENGINE
from relentless.vocabulary import Reason, Verdict


async def retry_workflow(request: web.Request) -> web.Response:
    """An incident's new attempt ready now, or a waiting retry's backoff cut short."""
    body = await read_optional(request, protocol.RetryRequest)
    result = await request.app[ENGINE].interventions.retry(
        path_parameter(request, "workflow_id"), caller_name(request), body.reason,
        step=body.step)
    if result.reason is Reason.UNKNOWN_WORKFLOW:
        raise not_found("the workflow")
    return answer(result, 409 if result.verdict is Verdict.REJECTED else 200)


async def claim_manual_step(request: web.Request) -> web.Response:
    """Take a manual step, so that others see who is on it (409 if another has)."""
    job_id = path_parameter(request, "job_id")
    result = await request.app[ENGINE].interventions.claim(job_id, caller_name(request))
    if result.reason is Reason.UNKNOWN_JOB:
        raise not_found(f"job {job_id!r}")
    return answer(result, 409 if result.verdict is Verdict.REJECTED else 200)


async def _bulk(request: web.Request, action: BulkAction) -> web.Response:
    body = await read(request, protocol.BulkRequest)
    if (body.filter is None) == (body.workflows is None):
        raise ApiError(400, "invalid_request", "send either a filter or workflows, not both")
    if action is BulkAction.MOVE and body.node is None:
        raise ApiError(400, "invalid_request", "a bulk move needs the node to move to")
    limit_batch(request, len(body.workflows or ()) or body.limit, "workflows")
    result = await request.app[ENGINE].bulk.run(action, body, caller_name(request))
    return answer(result)


async def bulk_cancel(request: web.Request) -> web.Response:
    """Cancel each selected workflow (or, dry, list them)."""
    return await _bulk(request, BulkAction.CANCEL)


async def bulk_move(request: web.Request) -> web.Response:
    """Move each selected workflow to ``node`` (or, dry, list them)."""
    return await _bulk(request, BulkAction.MOVE)


async def bulk_retry(request: web.Request) -> web.Response:
    """Retry each selected workflow's current step now (or, dry, list them)."""
    return await _bulk(request, BulkAction.RETRY)
