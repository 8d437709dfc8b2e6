"""The operator API the console stands on, over real HTTP: named tokens and the viewer
scope, who acted, filtered listings, retry now, claims and bulk actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relentless.config import ConfigError, load_config
from tests.service.conftest import Server
from tests.service.operator_fixtures import (
    fail,
    incidents,
    lease,
    manual_steps,
    ok,
    publish,
    start,
)


def test_tokens_in_the_file_get_names_and_scopes(tmp_path: Path) -> None:
    path = tmp_path / "relentless.toml"
    path.write_text('admin_token = "a-secret-1"\n'
                    '[[tokens]]\nname = "ana"\ntoken = "ana-secret"\nscopes = ["viewer"]\n')
    config = load_config(path)
    assert [(t.name, sorted(t.scopes)) for t in config.named_tokens] == [
        ("admin", ["admin"]), ("ana", ["viewer"])]
    path.write_text('[[tokens]]\nname = "ana"\ntoken = "ana-secret"\nscopes = ["root"]\n')
    with pytest.raises(ConfigError, match=r"'root'.* are not scopes"):
        load_config(path)
    path.write_text('admin_token = "same-secret"\n'
                    '[[tokens]]\nname = "ana"\ntoken = "same-secret"\nscopes = ["viewer"]\n')
    with pytest.raises(ConfigError, match="same secret"):
        load_config(path)


def test_a_viewer_reads_everything_and_changes_nothing(server: Server, run: Any) -> None:
    async def scenario() -> list[int]:
        await publish(server.admin)
        [workflow_id] = await start(server.admin, 1)
        statuses = []
        for path in ("/v1/definitions", "/v1/definitions/console", "/v1/workflows",
                     f"/v1/workflows/{workflow_id}", f"/v1/workflows/{workflow_id}/timeline",
                     "/v1/manual-steps"):
            async with server.viewer.get(path) as response:
                statuses.append(response.status)
        for path, body in ((f"/v1/workflows/{workflow_id}/cancel", {}),
                           (f"/v1/workflows/{workflow_id}/move", {"node": "ship"}),
                           (f"/v1/workflows/{workflow_id}/retry", {}),
                           ("/v1/workflows/bulk/cancel", {"workflows": []}),
                           ("/v1/workflows", {"definition": "console"})):
            async with server.viewer.post(path, json=body) as response:
                statuses.append(response.status)
        async with server.viewer.post("/v1/jobs/lease", json={
                "worker": "w", "operations": ["charge_card"]}) as response:
            statuses.append(response.status)
        return statuses

    assert run(scenario()) == [200] * 6 + [403] * 6


def test_who_acted_is_the_tokens_name_not_the_bodys(server: Server, run: Any) -> None:
    async def scenario() -> list[Any]:
        await publish(server.admin)
        first, second = await start(server.admin, 2)
        await ok(server.ana.post(f"/v1/workflows/{first}/move",
                                 json={"node": "ship", "reason": "asked", "by": "mallory"}))
        await ok(server.ana.post(f"/v1/workflows/{second}/cancel",
                                 json={"reason": "dup", "by": "mallory"}))
        history = await ok(server.admin.get(f"/v1/workflows/{first}/history"))
        timeline = await ok(server.admin.get(f"/v1/workflows/{second}/timeline"))
        return [history["history"][0]["by"], timeline["steps"][0]["events"][0]["by"]]

    assert run(scenario()) == ["ana", "ana"]


def test_listings_filter_by_node_cause_key_version_and_retrying(server: Server,
                                                                run: Any) -> None:
    async def listed(**query: str) -> list[int]:
        page = await ok(server.viewer.get("/v1/workflows", params=query))
        return sorted(w["workflow_id"] for w in page["workflows"])

    async def scenario() -> dict[str, list[int]]:
        await publish(server.admin)
        broken = await incidents(server.admin, server.worker, 2)
        review = await manual_steps(server.admin, server.worker, 1)
        waiting = await start(server.admin, 2, key="order")
        await fail(server.worker, await lease(server.worker, 1), retryable=True)
        found = {
            "incident": await listed(incident="failed"),
            "retrying": await listed(retrying="true"),
            "node": await listed(node="escalate"),
            "key": await listed(key="order-1"),
            "version": await listed(version="1", status="incident"),
            "none": await listed(version="2"),
            "later": await listed(started_after="2999-01-01T00:00:00Z"),
        }
        return {"broken": broken, "waiting": waiting, "review": review, **found}

    found = run(scenario())
    assert found["incident"] == found["broken"] == found["version"]
    assert len(found["retrying"]) == 1 and found["retrying"][0] in found["waiting"]
    assert found["node"] == found["review"]
    assert found["key"] == [found["waiting"][1]]
    assert found["none"] == found["later"] == []


def test_retry_now_gives_an_incident_a_new_attempt_and_cuts_a_backoff_short(
        server: Server, run: Any) -> None:
    async def scenario() -> dict[str, Any]:
        await publish(server.admin)
        [broken] = await incidents(server.admin, server.worker, 1)
        retried = await ok(server.ana.post(f"/v1/workflows/{broken}/retry",
                                           json={"reason": "processor is back"}))
        after = await ok(server.admin.get(f"/v1/workflows/{broken}"))
        jobs = await lease(server.worker, 5)
        [waiting] = await start(server.admin, 1)
        await fail(server.worker, await lease(server.worker, 1), retryable=True)
        backing_off = await lease(server.worker, 1)  # the retry waits out its 1h backoff
        await ok(server.ana.post(f"/v1/workflows/{waiting}/retry"))
        hastened = await lease(server.worker, 1)
        leased_now = await ok(server.ana.post(f"/v1/workflows/{waiting}/retry"), 409)
        timeline = await ok(server.admin.get(f"/v1/workflows/{broken}/timeline"))
        return {"retried": retried, "after": after, "jobs": jobs, "broken": broken,
                "backing_off": backing_off, "hastened": hastened, "leased": leased_now,
                "events": timeline["steps"][0]["events"]}

    seen = run(scenario())
    assert seen["retried"] == {"result": "accepted"}
    assert (seen["after"]["status"], seen["after"].get("incident")) == ("running", None)
    assert [(j["workflow_id"], j["attempt"]) for j in seen["jobs"]] == [(seen["broken"], 2)]
    assert seen["backing_off"] == [] and [j["attempt"] for j in seen["hastened"]] == [2]
    assert seen["leased"] == {"result": "rejected", "reason": "in_progress"}
    assert [(e["kind"], e.get("by"), e.get("reason")) for e in seen["events"]][-2:] == [
        ("retried", "ana", "processor is back"), ("incident_resolved", "ana",
                                                  "processor is back")]


def test_a_claimed_manual_step_is_the_claimants_to_complete(server: Server,
                                                            run: Any) -> None:
    async def scenario() -> list[Any]:
        await publish(server.admin)
        await manual_steps(server.admin, server.worker, 1)
        [step] = (await ok(server.viewer.get("/v1/manual-steps")))["steps"]
        job = step["job_id"]
        seen = [step["context"], await ok(server.ana.post(f"/v1/manual-steps/{job}/claim"))]
        seen.append(await ok(server.admin.post(f"/v1/manual-steps/{job}/claim"), 409))
        [listed] = (await ok(server.viewer.get("/v1/manual-steps")))["steps"]
        seen.append(listed["claimed_by"])
        seen.append(await ok(server.admin.post(f"/v1/manual-steps/{job}/complete",
                                               json={"label": "refund"}), 409))
        seen.append(await ok(server.ana.post(f"/v1/manual-steps/{job}/complete",
                                             json={"label": "refund", "by": "someone"})))
        history = await ok(server.admin.get(f"/v1/workflows/{step['workflow_id']}/history"))
        seen.append(history["history"][-1]["by"])
        return seen

    assert run(scenario()) == [
        {"n": 0}, {"result": "accepted", "claimed_by": "ana"},
        {"result": "rejected", "reason": "claimed", "claimed_by": "ana"}, "ana",
        {"result": "rejected", "reason": "claimed"}, {"result": "accepted"}, "ana"]


def test_bulk_retry_after_a_dry_run_says_what_it_did_to_each(server: Server,
                                                             run: Any) -> None:
    async def scenario() -> tuple[Any, Any, Any, list[int]]:
        await publish(server.admin)
        ids = await incidents(server.admin, server.worker, 3)
        dry = await ok(server.ana.post("/v1/workflows/bulk/retry", json={
            "filter": {"incident": "failed"}, "dry_run": True}))
        # One moves on before the bulk action runs: it must be skipped, not retried.
        moved = dry["workflows"][0]
        await ok(server.ana.post(f"/v1/workflows/{moved['workflow_id']}/move",
                                 json={"node": "ship"}))
        selection = [{"workflow_id": w["workflow_id"], "step": w["step"]}
                     for w in dry["workflows"]]
        done = await ok(server.ana.post("/v1/workflows/bulk/retry", json={
            "workflows": selection}))
        cancelled = await ok(server.ana.post("/v1/workflows/bulk/cancel", json={
            "workflows": [{"workflow_id": ids[0]}, {"workflow_id": 999_999}]}))
        return dry, done, cancelled, ids

    dry, done, cancelled, ids = run(scenario())
    assert sorted(w["workflow_id"] for w in dry["workflows"]) == sorted(ids)
    assert {w["outcome"] for w in dry["workflows"]} == {"selected"}
    outcomes = [w["outcome"] for w in done["workflows"]]
    assert outcomes == ["skipped", "done", "done"]
    assert [(w["outcome"], w.get("reason")) for w in cancelled["workflows"]] == [
        ("done", None), ("refused", "unknown_workflow")]
