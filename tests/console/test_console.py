"""The operator console in a real browser (Debian's Chromium, driven by Playwright)
against a real server: find, understand and fix workflows, and what is refused.

The tests also write the screenshots the README links to (docs/console-*.png).
"""

from __future__ import annotations

from typing import Any

from tests.console.conftest import SCREENSHOTS, VIEWER, Console, sign_in
from tests.service.operator_fixtures import CONSOLE_DEFINITION

DOWN = "card processor is down"


def _publish(console: Console) -> None:
    console.call("POST", "/v1/definitions", data=CONSOLE_DEFINITION.encode())


def _start(console: Console, *contexts: dict[str, Any]) -> list[int]:
    answer = console.call("POST", "/v1/workflows/batch", json={"workflows": [
        {"definition": "console", "context": context} for context in contexts]})
    return [result["workflow_id"] for result in answer["results"]]


def _lease(console: Console, count: int) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = console.worker("POST", "/v1/jobs/lease", json={
        "worker": "browser-tests", "operations": ["charge_card"], "max_jobs": count})["jobs"]
    return jobs


def _incidents(console: Console, count: int) -> list[int]:
    """Workflows whose charge failed for good: incidents of cause ``failed``."""
    ids = _start(console, *({"order": f"o-{n}", "amount_cents": 1_000 + n}
                            for n in range(count)))
    console.worker("POST", "/v1/jobs/fail", json={"worker": "browser-tests", "failures": [
        {"job_id": job["job_id"], "error": DOWN, "retryable": False}
        for job in _lease(console, count)]})
    return ids


def _manual_step(console: Console) -> int:
    [workflow_id] = _start(console, {"order": "o-review"})
    [job] = _lease(console, 1)
    console.worker("POST", "/v1/jobs/complete", json={"completions": [
        {"job_id": job["job_id"], "label": "review"}]})
    return workflow_id


def test_find_an_incident_see_why_and_move_it(console: Console, page: Any) -> None:
    _publish(console)
    broken = _incidents(console, 2)
    _start(console, {"order": "o-running"})
    sign_in(page, console)
    page.screenshot(path=str(SCREENSHOTS / "console-overview.png"), full_page=True)
    assert page.locator("#incident-causes").inner_text().count("failed") == 1

    page.goto(console.url + "/ui/workflows")
    page.select_option("select[name=incident]", "failed")
    page.click("#apply-filters")
    listed = page.locator("#workflows tr[data-workflow]")
    assert sorted(int(row.get_attribute("data-workflow")) for row in listed.all()) == broken
    page.click(f"#workflows a[href='/ui/workflows/{broken[0]}']")

    assert page.locator("svg.graph .node.current").get_attribute("data-node") == "charge"
    assert page.locator("svg.graph .node").count() == 5
    assert page.locator("#last-error").inner_text() == DOWN
    assert DOWN in page.locator("#timeline tr.attempt").first.inner_text()
    assert "incident_raised" in page.locator("#timeline").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "console-workflow.png"), full_page=True)

    page.select_option("#move-form select[name=node]", "ship")
    page.fill("#move-form input[name=reason]", "charged by phone")
    page.click("#move-form button")
    assert page.locator("#result").inner_text() == "accepted"
    assert page.locator("#node").inner_text() == "ship"
    moved = page.locator("#timeline tr.transition").last.inner_text()
    assert "moved → ship" in moved and "ana" in moved and "charged by phone" in moved


def test_bulk_retry_of_a_filtered_set_after_a_dry_run(console: Console, page: Any) -> None:
    _publish(console)
    broken = _incidents(console, 3)
    sign_in(page, console)
    page.goto(console.url + "/ui/incidents?incident=failed&definition=console")
    assert page.locator("#incident-list tr[data-workflow]").count() == 3
    page.screenshot(path=str(SCREENSHOTS / "console-incidents.png"), full_page=True)

    page.fill("#bulk-retry input[name=reason]", "processor is back")
    page.click("#bulk-retry button")
    assert "would be tried on 3 workflows" in page.locator("h1").inner_text()
    assert page.locator("#bulk-selection input[type=checkbox]").count() == 3
    page.click("#bulk-run button")
    outcomes = page.locator("#bulk-outcomes td.outcome").all_inner_texts()
    assert outcomes == ["done"] * 3
    for workflow_id in broken:
        workflow = console.call("GET", f"/v1/workflows/{workflow_id}")
        assert (workflow["status"], workflow["attempt"]["attempt"]) == ("running", 2)


def test_claim_and_complete_a_manual_step(console: Console, page: Any) -> None:
    _publish(console)
    workflow_id = _manual_step(console)
    sign_in(page, console)
    page.goto(console.url + "/ui/manual")
    step = page.locator("article.manual-step")
    assert step.count() == 1 and "not claimed" in step.inner_text()
    step.locator("button", has_text="Claim").click()
    assert page.locator("#result").inner_text() == "accepted"
    assert page.locator(".claimed-by").inner_text() == "ana"
    # A second person sees who claimed it, and cannot complete it.
    refused = console.call("POST", f"/v1/manual-steps/{workflow_id}.2.1/complete",
                           json={"label": "refund"})
    assert refused == {"result": "rejected", "reason": "claimed"}

    page.select_option("article.manual-step select[name=label]", "refund")
    page.fill("article.manual-step input[name=note]", "customer asked by phone")
    page.locator("article.manual-step button", has_text="Complete").click()
    assert page.locator("#result").inner_text() == "accepted"
    workflow = console.call("GET", f"/v1/workflows/{workflow_id}")
    assert (workflow["status"], workflow["outcome"]) == ("completed", "refunded")
    assert workflow["context"]["note"] == "customer asked by phone"
    last = console.call("GET", f"/v1/workflows/{workflow_id}/history")["history"][-1]
    assert (last["kind"], last["by"], last["label"]) == ("manual", "ana", "refund")


def test_a_viewer_sees_every_page_and_every_action_is_refused(console: Console,
                                                              page: Any) -> None:
    _publish(console)
    [broken] = _incidents(console, 1)
    sign_in(page, console, VIEWER)
    for path in ("/ui", "/ui/workflows", f"/ui/workflows/{broken}", "/ui/incidents",
                 "/ui/manual", "/ui/definitions", "/ui/definitions/console/1"):
        response = page.goto(console.url + path)
        assert response.status == 200, path
        assert page.locator("#signed-in-as").inner_text() == "viewer"
    page.goto(console.url + f"/ui/workflows/{broken}")
    for form in ("#retry-form", "#move-form", "#cancel-form"):
        page.goto(console.url + f"/ui/workflows/{broken}")
        for field in page.locator(f"{form} input[name=reason]").all():
            field.fill("trying")
        page.click(f"{form} button")
        assert "may only read" in page.locator("#refused").inner_text()
    page.goto(console.url + "/ui/incidents")
    page.click("#bulk-cancel button")
    assert "may only read" in page.locator("#refused").inner_text()
    assert console.call("GET", f"/v1/workflows/{broken}")["status"] == "incident"


def test_a_form_posted_without_its_csrf_token_is_refused(console: Console,
                                                         page: Any) -> None:
    _publish(console)
    [broken] = _incidents(console, 1)
    sign_in(page, console)
    page.goto(console.url + f"/ui/workflows/{broken}")
    page.evaluate("document.querySelector('#cancel-form input[name=csrf]').remove()")
    page.fill("#cancel-form input[name=reason]", "forged")
    page.click("#cancel-form button")
    assert "CSRF" in page.locator("#refused").inner_text()
    forged = page.request.post(console.url + f"/ui/workflows/{broken}/cancel",
                               form={"reason": "forged", "csrf": "0" * 64})
    assert forged.status == 403
    assert console.call("GET", f"/v1/workflows/{broken}")["status"] == "incident"


def test_a_context_holding_a_script_is_shown_as_text(console: Console, page: Any) -> None:
    _publish(console)
    script = "<script>window.pwned = true</script><img src=x onerror='window.pwned=true'>"
    [workflow_id] = _start(console, {"note": script})
    sign_in(page, console)
    page.goto(console.url + f"/ui/workflows/{workflow_id}")
    assert script in page.locator("#context").inner_text()
    assert page.locator("#context script").count() == 0
    assert page.evaluate("window.pwned === undefined")
