"""Malformed requests get a 4xx JSON error, never a 500, and change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import Server

PAYMENT = (Path(__file__).resolve().parents[2] / "examples" / "payment.yaml").read_text()


async def _json(response: Any) -> Any:
    return await response.json(content_type=None)


def _request(server: Server, run: Any, method: str, path: str, *, session: str = "admin",
             **kwargs: Any) -> tuple[int, Any]:
    async def call() -> tuple[int, Any]:
        client = getattr(server, session)
        async with client.request(method, path, **kwargs) as response:
            return response.status, await _json(response)

    result: tuple[int, Any] = run(call())
    return result


@pytest.fixture
def published(server: Server, run: Any) -> Server:
    status, _ = _request(server, run, "POST", "/v1/definitions", data=PAYMENT)
    assert status == 201
    return server


def _state(server: Server, run: Any) -> Any:
    """Everything an error must leave unchanged: workflows and their histories."""
    _, page = _request(server, run, "GET", "/v1/workflows?limit=1000")
    return page


MALFORMED = [
    ("POST", "/v1/jobs/lease", {"data": "{not json"}, 400, "invalid_json"),
    ("POST", "/v1/jobs/lease", {"json": {"worker": "w"}}, 400, "invalid_request"),
    ("POST", "/v1/jobs/lease", {"json": {"worker": 5, "operations": ["x"]}}, 400,
     "invalid_request"),
    ("POST", "/v1/jobs/lease", {"json": {"worker": "w", "operations": ["x"], "max_jobs": 0}},
     400, "invalid_request"),
    ("POST", "/v1/jobs/lease", {"json": {"worker": "w", "operations": ["x"], "surprise": 1}},
     400, "invalid_request"),
    ("POST", "/v1/jobs/lease", {"json": {"worker": "w", "operations": ["x"],
                                         "max_jobs": 5000}}, 400, "invalid_request"),
    ("POST", "/v1/jobs/complete", {"json": {"completions": []}}, 400, "invalid_request"),
    ("POST", "/v1/jobs/complete", {"json": [1, 2]}, 400, "invalid_request"),
    ("POST", "/v1/jobs/heartbeat", {"json": {"worker": "w", "job_ids": "1.1.1"}}, 400,
     "invalid_request"),
    ("POST", "/v1/workflows", {"json": {"definition": "nope"}}, 404, "not_found"),
    ("POST", "/v1/workflows", {"json": {"definition": "payment", "version": 7}}, 404,
     "not_found"),
    ("POST", "/v1/workflows", {"json": {"definition": "payment", "context": [1]}}, 400,
     "invalid_request"),
    ("POST", "/v1/workflows", {"json": {"definition": "payment", "context": {"a": "\u0000"}}},
     400, "invalid_data"),
    ("POST", "/v1/workflows", {"json": {"definition": "pay\u0000ment"}}, 400,
     "invalid_request"),
    ("POST", "/v1/workflows", {"json": {"definition": "payment", "version": 2**40}}, 400,
     "invalid_request"),
    ("GET", "/v1/workflows/\u00b2", {}, 400, "invalid_request"),
    ("POST", "/v1/definitions", {"data": b"name: caf\xe9"}, 400, "invalid_request"),
    ("POST", "/v1/definitions", {"data": "a: &x {b: 1}\nc: *x"}, 422, "invalid_definition"),
    ("GET", "/v1/workflows/abc", {}, 400, "invalid_request"),
    ("GET", "/v1/workflows/999", {}, 404, "not_found"),
    ("GET", "/v1/workflows?status=lost", {}, 400, "invalid_request"),
    ("GET", "/v1/workflows?limit=-1", {}, 400, "invalid_request"),
    ("POST", "/v1/workflows/999/cancel", {}, 404, "not_found"),
    ("POST", "/v1/workflows/1/move", {"json": {"node": 3}}, 400, "invalid_request"),
    ("GET", "/v1/definitions/nope", {}, 404, "not_found"),
    ("GET", "/v1/definitions/payment/x", {}, 400, "invalid_request"),
    ("GET", "/v1/definitions/payment/9", {}, 404, "not_found"),
    ("POST", "/v1/definitions", {"data": "name: [unclosed"}, 422, "invalid_definition"),
    ("POST", "/v1/manual-steps/9.9.9/complete", {"json": {"label": "x", "by": "ana"}}, 404,
     "not_found"),
    ("GET", "/v1/nowhere", {}, 404, "not_found"),
    ("DELETE", "/v1/workflows", {}, 405, "method_not_allowed"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code"), MALFORMED,
                         ids=[f"{m} {p} {c}" for m, p, _, _, c in MALFORMED])
def test_malformed_requests_get_a_json_error_and_change_nothing(
        published: Server, run: Any, method: str, path: str, kwargs: dict[str, Any],
        status: int, code: str) -> None:
    before = _state(published, run)
    got_status, body = _request(published, run, method, path, **kwargs)
    assert (got_status, body["error"]["code"]) == (status, code), body
    assert body["error"]["message"]
    assert _state(published, run) == before


def test_completion_errors_are_per_item(published: Server, run: Any) -> None:
    _request(published, run, "POST", "/v1/workflows", json={"definition": "payment"})
    _, leased = _request(published, run, "POST", "/v1/jobs/lease", session="worker",
                         json={"worker": "w", "operations": ["charge_card"]})
    job = leased["jobs"][0]["job_id"]
    status, body = _request(published, run, "POST", "/v1/jobs/complete", session="worker",
                            json={"completions": [
                                {"job_id": job, "label": "nope"},
                                {"job_id": "1.1.99", "label": "ok"},
                                {"job_id": job, "label": "timeout"},
                                {"job_id": job, "label": "ok", "output": {"bad": "\u0000"}},
                                {"job_id": job},
                                {"job_id": job, "label": "ok", "output": [1]},
                                {"job_id": job, "label": "ok", "output": {"paid": True}},
                                {"job_id": job, "label": "declined"}]})
    assert status == 200
    answers = [(r["job_id"], r["result"], (r.get("reason") or "").split(":")[0])
               for r in body["results"]]
    assert answers == [
        (job, "rejected", "label_not_offered"), ("1.1.99", "rejected", "unknown_job"),
        (job, "rejected", "reserved_label"), (job, "rejected", "invalid_output"),
        (job, "rejected", "invalid_completion"), (job, "rejected", "invalid_completion"),
        (job, "accepted", ""), (job, "stale", "")]


def test_oversize_bodies_and_batches_are_refused(database_dsn: str, run: Any) -> None:
    """A small body limit and batch limit, configured, apply before any work."""
    from aiohttp.test_utils import TestClient, TestServer  # noqa: PLC0415

    from relentless.service.app import create_app  # noqa: PLC0415
    from tests.service.conftest import ADMIN, WORKER, config_for  # noqa: PLC0415

    async def scenario() -> list[tuple[int, str]]:
        app = create_app(config_for(database_dsn, max_body_bytes=2_000, max_batch=3))
        async with TestClient(TestServer(app)) as client:
            worker = {"Authorization": f"Bearer {WORKER}"}
            big = await client.post("/v1/jobs/complete", headers=worker, json={
                "completions": [{"job_id": "1.1.1", "label": "x" * 100}] * 30})
            many = await client.post("/v1/jobs/complete", headers=worker, json={
                "completions": [{"job_id": "1.1.1", "label": "ok"}] * 4})
            starts = await client.post("/v1/workflows/batch",
                                       headers={"Authorization": f"Bearer {ADMIN}"},
                                       json={"workflows": [{"definition": "p"}] * 4})
            return [(r.status, (await r.json())["error"]["code"]) for r in (big, many, starts)]

    assert run(scenario()) == [(413, "payload_too_large"), (413, "batch_too_large"),
                               (413, "batch_too_large")]


def test_tokens_and_scopes(server: Server, run: Any) -> None:
    lease = {"worker": "w", "operations": ["x"]}
    assert _request(server, run, "POST", "/v1/jobs/lease", session="anonymous",
                    json=lease)[0] == 401
    assert _request(server, run, "POST", "/v1/jobs/lease", session="anonymous", json=lease,
                    headers={"Authorization": "Bearer wrong"})[0] == 401
    assert _request(server, run, "POST", "/v1/jobs/lease", session="worker", json=lease)[0] == 200
    assert _request(server, run, "POST", "/v1/jobs/lease", session="admin", json=lease)[0] == 200
    assert _request(server, run, "GET", "/v1/workflows", session="worker")[0] == 403
    assert _request(server, run, "GET", "/healthz", session="anonymous")[0] == 200
    assert _request(server, run, "GET", "/readyz", session="anonymous")[0] == 200
