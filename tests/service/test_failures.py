"""The failure path over real HTTP: a handler that always raises ends every workflow
within attempts x (timeout + backoff), as an incident carrying the last error, with
every attempt and its error in the timeline."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from relentless.core.reader import parse_definition
from relentless.examples import payment_definition, payment_worker
from relentless.worker import Job, PermanentFailure
from tests.service.conftest import Server
from tests.service.test_worker import (
    all_ended,
    eventually,
    fast_worker,
    publish_and_start,
    running,
    workflows,
)

DOWN = "card processor is down"
PAYMENT = parse_definition(payment_definition())
CHARGE = PAYMENT.nodes["charge"]
BOUND_SECONDS = CHARGE.attempts * (
    CHARGE.timeout_ms + CHARGE.backoff.delay_ms(CHARGE.attempts)) / 1000


async def _timeline(server: Server, workflow_id: int) -> dict[str, Any]:
    answer = await server.admin.get(f"/v1/workflows/{workflow_id}/timeline")
    assert answer.status == 200, await answer.text()
    timeline: dict[str, Any] = await answer.json()
    return timeline


def test_a_handler_that_always_raises_ends_as_incidents_with_every_attempt(
        server: Server, run: Any) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
        worker = fast_worker(server.url)

        @worker.operation("charge_card")
        async def charge_card(job: Job) -> str:
            raise RuntimeError(DOWN)

        loop = asyncio.get_running_loop()
        began = loop.time()
        ids = await publish_and_start(server, payment_definition(), "payment", [
            payment_worker.order(number, random.Random(number))
            for number in range(5)])
        async with running(worker):
            await eventually(lambda: all_ended(server, ids), BOUND_SECONDS + 5)
        took = loop.time() - began
        return (await workflows(server, ids),
                [await _timeline(server, workflow_id) for workflow_id in ids], took)

    ended, timelines, took = run(scenario())
    assert took <= BOUND_SECONDS
    for workflow, timeline in zip(ended, timelines, strict=True):
        assert (workflow["status"], workflow["incident"], workflow["node"]) == (
            "incident", "failed", "charge")
        assert workflow["attempt"]["error"] == f"RuntimeError: {DOWN}"
        [step] = timeline["steps"]
        assert [(a["attempt"], a["state"], a["error"]) for a in step["attempts"]] == [
            (n, "failed", f"RuntimeError: {DOWN}") for n in range(1, CHARGE.attempts + 1)]
        [raised] = step["events"]
        assert (raised["kind"], raised["reason"], raised["details"]) == (
            "incident_raised", "failed", {"error": f"RuntimeError: {DOWN}"})
        assert "transition" not in step


ROUTED = """
name: routed
start: charge
defaults: {timeout: 30s, attempts: 3, backoff: 10ms}
nodes:
  charge:
    operation: charge_card
    on: {ok: done, failed: escalate}
  escalate:
    operation: review
    manual: true
    on: {refund: refunded}
  done: {}
  refunded: {}
"""


def test_a_permanent_failure_gives_up_at_once_along_the_failed_route(
        server: Server, run: Any) -> None:
    tries: list[int] = []

    async def scenario() -> list[dict[str, Any]]:
        worker = fast_worker(server.url)

        @worker.operation("charge_card")
        async def charge_card(job: Job) -> str:
            tries.append(job.attempt)
            raise PermanentFailure("the card was reported stolen")

        [workflow_id] = await publish_and_start(server, ROUTED, "routed", [{}])

        async def escalated() -> bool:
            [workflow] = await workflows(server, [workflow_id])
            return bool(workflow["node"] == "escalate")

        async with running(worker):
            await eventually(escalated)
        answer = await server.admin.get(f"/v1/workflows/{workflow_id}/history")
        history: list[dict[str, Any]] = (await answer.json())["history"]
        return history

    history = run(scenario())
    assert tries == [1], "not retried: the failure was permanent"
    [entry] = history
    assert (entry["source"], entry["kind"], entry["label"], entry["target"], entry["attempt"]) == (
        "charge", "failed", "failed", "escalate", 1)
