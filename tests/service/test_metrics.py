"""/metrics after a scripted run: every counter and gauge says what the run did."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from relentless.service.app import create_app
from tests.service.conftest import ADMIN, WORKER, config_for

METERED = """
name: metered
start: work
sla: 1s
defaults: {timeout: 1s, attempts: 2, backoff: 10ms}
nodes:
  work:
    operation: work
    on: {ok: done}
  done: {}
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _samples(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


EXPECTED: list[tuple[str, dict[str, str], float]] = [
    ("relentless_up", {}, 1),
    ("relentless_steps_completed_total",
     {"definition": "metered", "operation": "work", "label": "ok", "kind": "completed"}, 1),
    ("relentless_workflows_started_total", {"definition": "metered"}, 3),
    ("relentless_workflows_ended_total", {"definition": "metered", "outcome": "done"}, 1),
    ("relentless_completions_total", {"verdict": "accepted"}, 1),
    ("relentless_completions_total", {"verdict": "rejected"}, 1),
    ("relentless_attempts_ended_total", {"how": "failed"}, 1),
    ("relentless_attempts_ended_total", {"how": "expired"}, 1),
    ("relentless_incidents_raised_total", {"definition": "metered", "cause": "failed"}, 1),
    ("relentless_sla_breached_total", {"definition": "metered"}, 1),
    ("relentless_queue_wait_seconds_count", {}, 3),
    ("relentless_step_duration_seconds_count", {"definition": "metered"}, 1),
    ("relentless_workflow_duration_seconds_count", {"definition": "metered", "outcome": "done"}, 1),
    ("relentless_http_requests_total",
     {"route": "/v1/jobs/fail", "method": "POST", "status": "200"}, 1),
    ("relentless_workflows", {"definition": "metered", "status": "running"}, 1),
    ("relentless_workflows", {"definition": "metered", "status": "incident"}, 1),
    ("relentless_incidents", {"definition": "metered", "cause": "failed"}, 1),
    ("relentless_ready_jobs", {"operation": "work"}, 1),
    ("relentless_workflows_past_sla", {"definition": "metered"}, 1),
    ("relentless_listen_connected", {}, 1),
]
"""What the scripted run did: three starts, one completion (one rejected), one
non-retryable failure (an incident), one expired lease, one SLA breach."""


@pytest.fixture
def metered(database_dsn: str, run: Any) -> Iterator[tuple[str, TestServer]]:
    server = TestServer(create_app(config_for(database_dsn, metrics_cache_seconds=0)),
                        host="127.0.0.1")
    run(server.start_server())
    yield str(server.make_url("")).rstrip("/"), server
    run(server.close())


def test_metrics_count_what_a_scripted_run_did(metered: tuple[str, TestServer],
                                               run: Any) -> None:
    url, server = metered

    async def scenario() -> tuple[int, str, int, str]:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        worker = {"Authorization": f"Bearer {WORKER}"}
        client = server.make_url
        import aiohttp  # noqa: PLC0415

        async with aiohttp.ClientSession() as http:
            async def post(path: str, body: Any, headers: dict[str, str]) -> Any:
                async with http.post(client(path), json=body, headers=headers) as answer:
                    assert answer.status < 300, await answer.text()
                    return await answer.json()

            async with http.post(client("/v1/definitions"), data=METERED,
                                 headers=admin) as published:
                assert published.status == 201
            started = await post("/v1/workflows/batch", {"workflows": [
                {"definition": "metered"}] * 3}, admin)
            done, failed, expired = (r["workflow_id"] for r in started["results"])
            leased = await post("/v1/jobs/lease", {"worker": "w", "operations": ["work"],
                                                   "max_jobs": 3, "lease_seconds": 30}, worker)
            jobs = {job["workflow_id"]: job["job_id"] for job in leased["jobs"]}
            await post("/v1/jobs/complete", {"completions": [
                {"job_id": jobs[done], "label": "ok"},
                {"job_id": "9.9.9", "label": "ok"}]}, worker)
            await post("/v1/jobs/fail", {"worker": "w", "failures": [
                {"job_id": jobs[failed], "error": "RuntimeError: down",
                 "retryable": False}]}, worker)
            for _ in range(100):  # the lease of the third runs out after the 1s timeout
                async with http.get(client(f"/v1/workflows/{expired}"),
                                    headers=admin) as answer:
                    view = await answer.json()
                if view["attempt"]["attempt"] == 2:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the lease never expired")
            await asyncio.sleep(0.5)  # a sweep or two: the SLA (1s) is now behind it
            async with http.get(client("/metrics"), headers=admin) as answer:
                assert answer.status == 200
                text = await answer.text()
            async with http.get(client("/metrics")) as anonymous:
                refused = anonymous.status
            async with http.get(client("/metrics"), headers=worker) as as_worker:
                return refused, text, as_worker.status, url

    refused, text, worker_status, _ = run(scenario())
    assert (refused, worker_status) == (401, 403), "metrics need the metrics scope"
    samples = _samples(text)
    wrong = [(name, labels, _value(samples, name, **labels), value)
             for name, labels, value in EXPECTED if _value(samples, name, **labels) != value]
    assert wrong == []
    assert not [name for name, labels in samples if any(
        key in ("workflow_id", "job_id") for key, _ in labels)], "no ids in labels"
