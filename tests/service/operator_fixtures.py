"""Workflows in the states an operator acts on, made over real HTTP: incidents (a failure
that is not retryable), retries waiting out their backoff, and manual steps."""

from __future__ import annotations

from typing import Any

import aiohttp

CONSOLE_DEFINITION = """
name: console
start: charge
defaults: {timeout: 30s, attempts: 3, backoff: 1h}
nodes:
  charge:
    operation: charge_card
    on: {ok: ship, review: escalate}
  escalate:
    operation: manual_review
    manual: true
    on: {retry: charge, refund: refunded}
  ship:
    operation: ship_order
    on: {shipped: done}
  done: {}
  refunded: {}
"""


async def ok(request: Any, *statuses: int) -> Any:
    """The JSON answer to ``request`` (a session's call, not awaited), once its status is
    one of ``statuses`` (200 by default)."""
    async with request as response:
        assert response.status in (statuses or (200,)), await response.text()
        return await response.json()


async def publish(admin: aiohttp.ClientSession) -> None:
    await ok(admin.post("/v1/definitions", data=CONSOLE_DEFINITION.encode()), 200, 201)


async def start(admin: aiohttp.ClientSession, count: int,
                context: dict[str, Any] | None = None, key: str | None = None) -> list[int]:
    answer = await ok(admin.post("/v1/workflows/batch", json={"workflows": [
        {"definition": "console", "context": context or {"n": n},
         **({"key": f"{key}-{n}"} if key else {})} for n in range(count)]}))
    return [result["workflow_id"] for result in answer["results"]]


async def lease(worker: aiohttp.ClientSession, count: int) -> list[dict[str, Any]]:
    answer = await ok(worker.post("/v1/jobs/lease", json={
        "worker": "tests", "operations": ["charge_card"], "max_jobs": count}))
    jobs: list[dict[str, Any]] = answer["jobs"]
    return jobs


async def fail(worker: aiohttp.ClientSession, jobs: list[dict[str, Any]], *,
               retryable: bool) -> None:
    await ok(worker.post("/v1/jobs/fail", json={"worker": "tests", "failures": [
        {"job_id": job["job_id"], "error": "card processor is down", "retryable": retryable}
        for job in jobs]}))


async def incidents(admin: aiohttp.ClientSession, worker: aiohttp.ClientSession,
                    count: int) -> list[int]:
    """``count`` workflows that gave their first step up: incidents of cause failed."""
    ids = await start(admin, count)
    await fail(worker, await lease(worker, count), retryable=False)
    return ids


async def manual_steps(admin: aiohttp.ClientSession, worker: aiohttp.ClientSession,
                       count: int) -> list[int]:
    """``count`` workflows waiting at the manual review."""
    ids = await start(admin, count)
    jobs = await lease(worker, count)
    await ok(worker.post("/v1/jobs/complete", json={"completions": [
        {"job_id": job["job_id"], "label": "review"} for job in jobs]}))
    return ids
