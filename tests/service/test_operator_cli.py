"""The operator's command line against a real server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from relentless.cli import main
from tests.service.conftest import ADMIN, Server

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
