"""Every response the server gives matches what /openapi.json says it gives."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema

from relentless.service.routes import ROUTES
from tests.service.conftest import Server

PAYMENT = (Path(__file__).resolve().parents[2] / "examples" / "payment.yaml").read_text()


def _template(path: str, document: dict[str, Any]) -> str:
    """The documented path template a concrete path matches."""
    bare = path.split("?", maxsplit=1)[0]
    for template in document["paths"]:
        if re.fullmatch(re.sub(r"{\w+}", "[^/]+", template), bare):
            return template
    raise AssertionError(f"{bare} is not documented")


def _check(document: dict[str, Any], method: str, path: str, status: int, body: Any) -> None:
    operation = document["paths"][_template(path, document)][method.lower()]
    assert str(status) in operation["responses"], f"{method} {path}: {status} undocumented"
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**schema, "components": document["components"]})


async def _operator_actions(call: Any, admin: Any, workflow: int) -> None:
    """Retry now, the bulk actions (dry and not), and a version's stats."""
    await call(admin, "GET", "/v1/definitions/payment/1/stats")
    await call(admin, "POST", f"/v1/workflows/{workflow}/retry", json={"reason": "now"})
    await call(admin, "POST", "/v1/workflows/bulk/retry",
               json={"filter": {"status": "incident"}, "dry_run": True})
    await call(admin, "POST", "/v1/workflows/bulk/move",
               json={"filter": {"node": "charge"}, "node": "refund", "dry_run": True})
    await call(admin, "POST", "/v1/workflows/bulk/cancel",
               json={"workflows": [{"workflow_id": 999, "step": 1}]})


def test_every_response_matches_the_document(server: Server, run: Any) -> None:
    async def scenario() -> list[tuple[str, str, int, Any]]:
        seen = []

        async def call(session: Any, method: str, path: str, **kwargs: Any) -> Any:
            async with session.request(method, path, **kwargs) as response:
                body = await response.json(content_type=None)
                seen.append((method, path, response.status, body))
                return body

        admin, worker = server.admin, server.worker
        await call(admin, "POST", "/v1/definitions", data=PAYMENT)
        await call(admin, "POST", "/v1/definitions", data=PAYMENT)
        await call(admin, "POST", "/v1/definitions", data="name: [")
        await call(admin, "GET", "/v1/definitions")
        await call(admin, "GET", "/v1/definitions/payment")
        await call(admin, "GET", "/v1/definitions/payment/1")
        started = await call(admin, "POST", "/v1/workflows",
                             json={"definition": "payment", "key": "k", "context": {"a": 1}})
        await call(admin, "POST", "/v1/workflows", json={"definition": "payment", "key": "k"})
        await call(admin, "POST", "/v1/workflows/batch", json={"workflows": [
            {"definition": "payment"}, {"definition": "nope"}]})
        leased = await call(worker, "POST", "/v1/jobs/lease", json={
            "worker": "w", "operations": ["charge_card"], "max_jobs": 2})
        first, second = (job["job_id"] for job in leased["jobs"])
        await call(worker, "POST", "/v1/jobs/heartbeat", json={"worker": "w", "job_ids": [first]})
        await call(worker, "POST", "/v1/jobs/release", json={"worker": "w", "job_ids": [second]})
        await call(worker, "POST", "/v1/jobs/fail", json={"worker": "w", "failures": [
            {"job_id": second, "error": "RuntimeError: down"}, {"job_id": "1.1.9", "error": "x"},
            {"job_id": second}]})
        await call(worker, "POST", "/v1/jobs/complete", json={"completions": [
            {"job_id": first, "label": "error", "output": {"tries": 1}},
            {"job_id": "1.1.9", "label": "ok"}]})
        workflow = started["workflow_id"]
        await call(admin, "GET", "/v1/workflows?limit=1")
        await call(admin, "GET", f"/v1/workflows/{workflow}")
        await call(admin, "GET", f"/v1/workflows/{workflow}/history")
        await call(admin, "GET", f"/v1/workflows/{workflow}/timeline?limit=1")
        await call(admin, "POST", "/v1/workflows/prune",
                   json={"older_than_seconds": 86400, "dry_run": True})
        await call(admin, "POST", f"/v1/workflows/{workflow}/move",
                   json={"node": "escalate", "reason": "check by hand", "by": "ana"})
        steps = await call(admin, "GET", "/v1/manual-steps")
        await call(admin, "POST", f"/v1/manual-steps/{steps['steps'][0]['job_id']}/claim")
        await call(admin, "POST", f"/v1/manual-steps/{steps['steps'][0]['job_id']}/complete",
                   json={"label": "refund", "by": "ana"})
        await _operator_actions(call, admin, workflow)
        await call(admin, "POST", f"/v1/workflows/{workflow}/cancel")
        await call(admin, "POST", "/v1/workflows/2/cancel")
        await call(admin, "POST", "/v1/workflows/2/cancel")
        await call(admin, "GET", "/v1/workflows/999")
        await call(worker, "GET", "/v1/workflows")
        await call(server.anonymous, "POST", "/v1/jobs/lease", json={})
        await call(worker, "POST", "/v1/jobs/lease", json={"worker": 1})
        await call(server.anonymous, "GET", "/healthz")
        await call(server.anonymous, "GET", "/readyz")
        return seen

    async def fetch_document() -> Any:
        async with server.anonymous.get("/openapi.json") as response:
            return await response.json()

    document = run(fetch_document())
    seen = run(scenario())
    for method, path, status, body in seen:
        _check(document, method, path, status, body)
    exercised = {(method, _template(path, document)) for method, path, _, _ in seen}
    routes = {(route.method, route.path) for route in ROUTES}
    assert routes <= exercised, f"routes this test never called: {routes - exercised}"
