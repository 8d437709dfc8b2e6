"""The worker protocol over HTTP: lease (with long-poll), complete, heartbeat, release."""

from __future__ import annotations

import asyncio
import math

import msgspec
from aiohttp import web

from relentless import protocol
from relentless.engine.values import Completion
from relentless.service.bodies import answer, limit_batch, read
from relentless.service.keys import ENGINE, WAKER
from relentless.vocabulary import Reason, Verdict


def _milliseconds(seconds: float) -> int:
    """A lease length in whole milliseconds, never rounded down to nothing."""
    return max(1, math.ceil(seconds * 1000))


async def lease(request: web.Request) -> web.Response:
    """Up to max_jobs ready jobs; waits up to wait_seconds for work when there is none."""
    body = await read(request, protocol.LeaseRequest)
    limit_batch(request, len(body.operations), "operations")
    limit_batch(request, body.max_jobs, "jobs")
    workers, waker = request.app[ENGINE].workers, request.app[WAKER]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + body.wait_seconds
    while True:
        generation = waker.generation()
        jobs = await workers.lease(body.worker, body.operations, body.max_jobs,
                                   _milliseconds(body.lease_seconds))
        remaining = deadline - loop.time()
        if jobs or remaining <= 0:
            return answer(protocol.LeaseResponse(jobs=jobs))
        await waker.wait(generation, remaining)


async def complete(request: web.Request) -> web.Response:
    """One result per completion; one bad completion never fails the others."""
    body = await read(request, protocol.CompleteRequestItems)
    limit_batch(request, len(body.completions), "completions")
    items = [_completion(raw) for raw in body.completions]
    valid = [item for item in items if isinstance(item, protocol.Completion)]
    decided = iter(await request.app[ENGINE].workers.complete(
        [Completion(item.job_id, item.label, item.output) for item in valid]))
    results = []
    for item in items:
        if isinstance(item, protocol.CompletionResult):
            results.append(item)
            continue
        result = next(decided)
        results.append(protocol.CompletionResult(job_id=item.job_id, verdict=result.verdict,
                                                 reason=result.reason))
    return answer(protocol.CompleteResponse(results=results))


def _completion(raw: msgspec.Raw) -> protocol.Completion | protocol.CompletionResult:
    """The completion in ``raw``, or the rejection that answers it on its own."""
    try:
        item = msgspec.json.decode(raw, type=protocol.Completion)
    except msgspec.DecodeError as exc:  # ValidationError included
        return _refused(_job_id_of(raw), Reason.INVALID_COMPLETION, str(exc))
    if item.output is not None and _holds_nul(item.output):
        return _refused(item.job_id, Reason.INVALID_OUTPUT, "text may not contain NUL characters")
    return item


def _refused(job_id: str, reason: Reason, detail: str) -> protocol.CompletionResult:
    return protocol.CompletionResult(job_id=job_id, verdict=Verdict.REJECTED, reason=reason,
                                     detail=detail)


def _job_id_of(raw: msgspec.Raw) -> str:
    try:
        found = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return ""
    job_id = found.get("job_id") if isinstance(found, dict) else None
    return job_id if isinstance(job_id, str) else ""


def _holds_nul(value: object) -> bool:
    """Whether any string in a JSON value (keys included) holds a NUL, which PostgreSQL
    cannot store."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


async def heartbeat(request: web.Request) -> web.Response:
    body = await read(request, protocol.HeartbeatRequest)
    limit_batch(request, len(body.job_ids), "jobs")
    results = await request.app[ENGINE].workers.heartbeat(
        body.worker, body.job_ids, _milliseconds(body.lease_seconds))
    return answer(protocol.HeartbeatResponse(results=results))


async def release(request: web.Request) -> web.Response:
    body = await read(request, protocol.ReleaseRequest)
    limit_batch(request, len(body.job_ids), "jobs")
    results = await request.app[ENGINE].workers.release(body.worker, body.job_ids)
    return answer(protocol.ReleaseResponse(results=results))
