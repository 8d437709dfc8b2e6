"""The server answers over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.service.conftest import Server

PAYMENT = (Path(__file__).resolve().parents[2] / "examples" / "payment.yaml").read_text()


def test_a_workflow_runs_over_http(server: Server, run: Any) -> None:
    async def scenario() -> list[Any]:
        published = await server.admin.post("/v1/definitions", data=PAYMENT)
        started = await server.admin.post("/v1/workflows", json={"definition": "payment"})
        leased = await server.worker.post("/v1/jobs/lease", json={
            "worker": "w", "operations": ["charge_card"], "max_jobs": 10})
        jobs = (await leased.json())["jobs"]
        done = await server.worker.post("/v1/jobs/complete", json={
            "completions": [{"job_id": jobs[0]["job_id"], "label": "ok"}]})
        return [published.status, started.status, len(jobs), await done.json()]

    published, started, leased, done = run(scenario())
    assert (published, started, leased) == (201, 201, 1)
    assert done["results"][0]["result"] == "accepted"
