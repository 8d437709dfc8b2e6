"""The worker protocol over HTTP: lease (with long-poll), complete, heartbeat, release."""

from __future__ import annotations

import asyncio

from aiohttp import web

from relentless.engine import answers as engine
from relentless.service import schemas
from relentless.service.bodies import answer, limit_batch, read
from relentless.service.keys import ENGINE, WAKER


def _leased(job: engine.LeasedJob) -> schemas.LeasedJob:
    return schemas.LeasedJob(job.job_id, job.workflow_id, job.operation, job.node,
                             list(job.labels), job.attempt, job.step, job.context,
                             job.lease_expires_at)


async def lease(request: web.Request) -> web.Response:
    """Up to max_jobs ready jobs; waits up to wait_seconds for work when there is none."""
    body = await read(request, schemas.LeaseRequest)
    limit_batch(request, len(body.operations), "operations")
    limit_batch(request, body.max_jobs, "jobs")
    workers, waker = request.app[ENGINE].workers, request.app[WAKER]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + body.wait_seconds
    while True:
        generation = waker.generation()
        jobs = await workers.lease(body.worker, body.operations, body.max_jobs,
                                   int(body.lease_seconds * 1000))
        remaining = deadline - loop.time()
        if jobs or remaining <= 0:
            return answer(schemas.LeaseResponse([_leased(job) for job in jobs]))
        await waker.wait(generation, remaining)


async def complete(request: web.Request) -> web.Response:
    """One result per completion; one bad completion never fails the others."""
    body = await read(request, schemas.CompleteRequest)
    limit_batch(request, len(body.completions), "completions")
    results = await request.app[ENGINE].workers.complete(
        [engine.Completion(item.job_id, item.label, item.output) for item in body.completions])
    return answer(schemas.CompleteResponse([
        schemas.CompletionResult(item.job_id, result.verdict.value,
                                 result.reason.value if result.reason else None)
        for item, result in zip(body.completions, results, strict=True)]))


async def heartbeat(request: web.Request) -> web.Response:
    body = await read(request, schemas.HeartbeatRequest)
    limit_batch(request, len(body.job_ids), "jobs")
    results = await request.app[ENGINE].workers.heartbeat(
        body.worker, body.job_ids, int(body.lease_seconds * 1000))
    return answer(schemas.HeartbeatResponse([
        schemas.HeartbeatResult(r.job_id, r.extended, r.lease_expires_at) for r in results]))


async def release(request: web.Request) -> web.Response:
    body = await read(request, schemas.ReleaseRequest)
    limit_batch(request, len(body.job_ids), "jobs")
    results = await request.app[ENGINE].workers.release(body.worker, body.job_ids)
    return answer(schemas.ReleaseResponse([
        schemas.ReleaseResult(r.job_id, r.released) for r in results]))
