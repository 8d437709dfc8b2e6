"""The operator's command line against a real server."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relentless.cli import _parser, main
from tests.service.conftest import ADMIN, Server
from tests.service.operator_fixtures import incidents, manual_steps, publish, start

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(server: Server, run: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run the CLI in a thread while the server's loop keeps serving."""

    def call(*arguments: str) -> tuple[int, str, str]:
        argv = [*arguments, "--url", server.url, "--token", ADMIN]
        code = run(asyncio.to_thread(main, argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def test_publish_start_inspect_move_and_cancel(cli: Any) -> None:
    code, out, _ = cli("definitions", "publish", str(ROOT / "examples" / "payment.yaml"))
    assert code == 0 and "payment" in out
    code, out, _ = cli("workflows", "start", "payment", "--key", "o1", "--context",
                       '{"amount": 5}', "--json")
    started = json.loads(out)
    assert (code, started["result"], started["created"]) == (0, "accepted", True)
    workflow = str(started["workflow_id"])
    code, out, _ = cli("workflows", "list")
    assert code == 0 and "charge" in out and "running" in out
    code, out, _ = cli("workflows", "move", workflow, "refund", "--reason", "asked")
    assert code == 0
    code, out, _ = cli("workflows", "history", workflow, "--json")
    [entry] = json.loads(out)["history"]
    # who moved it is the token's name ("admin" for admin_token), not anything sent
    assert (entry["target"], entry["by"], entry["reason"]) == ("refund", "admin", "asked")
    assert cli("workflows", "cancel", workflow)[0] == 0
    code, out, _ = cli("workflows", "move", workflow, "charge", "--json")
    assert (code, json.loads(out)) == (1, {"result": "rejected", "reason": "finished"})
    code, out, _ = cli("definitions", "list", "--json")
    assert json.loads(out)["definitions"][0]["name"] == "payment"


def test_refusals_exit_non_zero_with_the_servers_reason(cli: Any) -> None:
    code, _, err = cli("workflows", "show", "77")
    assert code == 1 and "workflow 77 does not exist" in err
    code, _, err = cli("definitions", "publish",
                       str(ROOT / "docs" / "examples" / "broken-payment.yaml"))
    assert code == 1 and "3 problems" in err and "bad_duration" in err


def test_an_unreachable_server_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["workflows", "list", "--url", "http://127.0.0.1:9", "--token", "t"])
    assert code == 2 and "cannot reach" in capsys.readouterr().err


def test_publish_reports_problems_as_validate_does(cli: Any) -> None:
    code, _, err = cli("definitions", "publish",
                       str(ROOT / "docs" / "examples" / "broken-payment.yaml"))
    assert code == 1
    assert "broken-payment.yaml: 3 problems" in err and "      fix: " in err


def test_manual_steps_list_claim_and_complete(cli: Any, server: Server, run: Any) -> None:
    async def waiting() -> None:
        await publish(server.admin)
        await manual_steps(server.admin, server.worker, 1)

    run(waiting())
    code, out, _ = cli("manual-steps", "list", "--json")
    [step] = json.loads(out)["steps"]
    code, out, _ = cli("manual-steps", "list")
    assert code == 0 and step["job_id"] in out and "escalate" in out
    code, out, _ = cli("manual-steps", "claim", step["job_id"], "--json")
    assert (code, json.loads(out)) == (0, {"result": "accepted", "claimed_by": "admin"})
    code, out, _ = cli("manual-steps", "complete", step["job_id"], "--label", "refund",
                       "--note", "asked by phone", "--json")
    assert (code, json.loads(out)) == (0, {"result": "accepted"})
    code, out, _ = cli("workflows", "show", str(step["workflow_id"]), "--json")
    shown = json.loads(out)
    assert (shown["outcome"], shown["context"]["note"]) == ("refunded", "asked by phone")


def test_definitions_show_and_render_a_published_version(cli: Any) -> None:
    cli("definitions", "publish", str(ROOT / "examples" / "payment.yaml"))
    code, out, _ = cli("definitions", "show", "payment", "--json")
    shown = json.loads(out)
    assert (code, shown["version"], shown["start"], shown["active"]) == (0, 1, "charge", 0)
    code, out, _ = cli("definitions", "render", "payment@1", "--format", "mermaid")
    assert code == 0 and "charge" in out and not out.startswith("{")
    code, out, _ = cli("definitions", "render", "payment")
    assert code == 0 and out.startswith("digraph")
    code, _, err = cli("definitions", "show", "payment@9")
    assert code == 1 and "does not exist" in err


def test_workflows_list_takes_every_filter_and_prints_whole_rows(cli: Any, server: Server,
                                                                 run: Any) -> None:
    async def made() -> list[int]:
        await publish(server.admin)
        broken = await incidents(server.admin, server.worker, 2)
        await start(server.admin, 1, key="a-rather-long-idempotency-key-that-a-narrow-"
                                          "table-would-cut-short")
        return broken

    broken = run(made())
    code, out, _ = cli("workflows", "list", "--incident", "failed", "--definition", "console",
                       "--version", "1", "--node", "charge", "--json")
    assert sorted(w["workflow_id"] for w in json.loads(out)["workflows"]) == broken
    code, out, _ = cli("workflows", "list", "--started-after", "2999-01-01T00:00:00Z",
                       "--json")
    assert json.loads(out)["workflows"] == []
    code, out, _ = cli("workflows", "list", "--retrying", "--json")
    assert json.loads(out)["workflows"] == []
    code, out, _ = cli("workflows", "list", "--key",
                       "a-rather-long-idempotency-key-that-a-narrow-table-would-cut-short-0")
    assert code == 0 and len(out.splitlines()) == 2 and "…" not in out


def test_a_context_is_json_or_a_file_and_bad_json_is_a_clear_usage_error(
        cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli("definitions", "publish", str(ROOT / "examples" / "payment.yaml"))
    context = tmp_path / "order.json"
    context.write_text('{"amount": 7}')
    _, out, _ = cli("workflows", "start", "payment", "--context", f"@{context}", "--json")
    workflow = json.loads(out)["workflow_id"]
    assert json.loads(cli("workflows", "show", str(workflow), "--json")[1])["context"] == {
        "amount": 7}
    for bad, said in (("{amount: 7}", "is not JSON: Expecting property name"),
                      ("[1]", "not an object"), ("@/nonexistent.json", "cannot read")):
        with pytest.raises(SystemExit) as exited:
            main(["workflows", "start", "payment", "--context", bad, "--token", "t"])
        assert exited.value.code == 2
        assert said in capsys.readouterr().err


def test_version_and_help_on_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("relentless ")
    undocumented = [f"{name} {action.option_strings or action.dest}"
                    for name, parser in _every_parser(_parser())
                    for action in parser._actions
                    if not action.help and not isinstance(action, argparse._SubParsersAction)]
    assert not undocumented, undocumented


def _every_parser(parser: argparse.ArgumentParser, name: str = "relentless"
                  ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child_name, child in action.choices.items():
                yield from _every_parser(child, f"{name} {child_name}")
