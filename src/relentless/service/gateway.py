"""The worker protocol over HTTP: lease (with long-poll), complete, fail, heartbeat,
release."""

from __future__ import annotations

import asyncio
import math

from aiohttp import web

from relentless import protocol
from relentless.engine.values import Answer, Completion, Failure
from relentless.service.bodies import answer, limit_batch, read
from relentless.service.items import Refusal, decode_each, job_id_of, judge_each
from relentless.service.keys import ENGINE, METRICS, WAKER
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
        waiter = waker.waiter(body.operations)  # before looking: no wake-up is lost
        try:
            jobs = await workers.lease(body.worker, body.operations, body.max_jobs,
                                       _milliseconds(body.lease_seconds))
            remaining = deadline - loop.time()
            if jobs or remaining <= 0:
                break
            await waiter.wait(remaining)
        finally:
            waker.leave(waiter)
    if len(jobs) == body.max_jobs:  # a full batch: more may be ready, pass the baton
        waker.wake({job.operation for job in jobs})
    request.app[METRICS].lease_wait.observe(loop.time() + body.wait_seconds - deadline)
    return answer(protocol.LeaseResponse(jobs=jobs, now=request.app[ENGINE].clock.now()))


async def complete(request: web.Request) -> web.Response:
    """One result per completion; one bad completion never fails the others."""
    body = await read(request, protocol.CompleteRequestItems)
    limit_batch(request, len(body.completions), "completions")
    decoded = decode_each(body.completions, protocol.Completion, Reason.INVALID_COMPLETION,
                          ("output",))
    results = await judge_each(
        decoded, lambda items: request.app[ENGINE].workers.complete(
            [Completion(item.job_id, item.label, item.output) for item in items]),
        _result, _refused)
    verdicts = request.app[METRICS].completions
    for result in results:
        verdicts.labels(result.verdict).inc()
    return answer(protocol.CompleteResponse(results=results))


async def fail(request: web.Request) -> web.Response:
    """One result per failure, as for completions."""
    body = await read(request, protocol.FailRequestItems)
    limit_batch(request, len(body.failures), "failures")
    decoded = decode_each(body.failures, protocol.Failure, Reason.INVALID_FAILURE,
                          ("details",))
    results = await judge_each(
        decoded, lambda items: request.app[ENGINE].workers.fail(
            [Failure(item.job_id, item.error, item.retryable, item.details) for item in items]),
        _result, _refused)
    return answer(protocol.FailResponse(results=results))


def _result(item: protocol.Completion | protocol.Failure,
            judged: Answer) -> protocol.CompletionResult:
    return protocol.CompletionResult(job_id=item.job_id, verdict=judged.verdict,
                                     reason=judged.reason)


def _refused(refusal: Refusal) -> protocol.CompletionResult:
    return protocol.CompletionResult(job_id=job_id_of(refusal.raw), verdict=Verdict.REJECTED,
                                     reason=refusal.reason, detail=refusal.detail)


async def heartbeat(request: web.Request) -> web.Response:
    body = await read(request, protocol.HeartbeatRequest)
    limit_batch(request, len(body.job_ids), "jobs")
    results = await request.app[ENGINE].workers.heartbeat(
        body.worker, body.job_ids, _milliseconds(body.lease_seconds))
    return answer(protocol.HeartbeatResponse(results=results,
                                             now=request.app[ENGINE].clock.now()))


async def release(request: web.Request) -> web.Response:
    body = await read(request, protocol.ReleaseRequest)
    limit_batch(request, len(body.job_ids), "jobs")
    results = await request.app[ENGINE].workers.release(body.worker, body.job_ids)
    return answer(protocol.ReleaseResponse(results=results))
