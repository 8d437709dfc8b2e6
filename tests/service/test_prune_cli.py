"""``relentless prune``: retention by hand over the API, with a dry run first."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from relentless.cli import main
from tests.service.conftest import ADMIN, Server

ROOT = Path(__file__).resolve().parents[2]


def test_prune_counts_with_dry_run_then_deletes_nothing_younger(
        server: Server, run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    def cli(*arguments: str) -> tuple[int, str, str]:
        code = run(asyncio.to_thread(main, [*arguments, "--url", server.url, "--token",
                                            ADMIN]))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    assert cli("definitions", "publish", str(ROOT / "examples" / "payment.yaml"))[0] == 0
    code, out, _ = cli("workflows", "start", "payment", "--json")
    workflow = json.loads(out)["workflow_id"]
    assert cli("workflows", "cancel", str(workflow))[0] == 0
    code, out, _ = cli("prune", "--older-than", "1d", "--dry-run", "--json")
    assert (code, json.loads(out)) == (0, {"workflows": 0, "dry_run": True})
    code, out, _ = cli("prune", "--older-than", "1ms", "--json")
    assert (code, json.loads(out)) == (0, {"workflows": 1})
    code, _, err = cli("workflows", "show", str(workflow))
    assert code == 1 and "does not exist" in err
    with pytest.raises(SystemExit) as refused:
        main(["prune", "--older-than", "soon", "--token", ADMIN])
    assert refused.value.code == 2
    assert "'soon' is not a duration" in capsys.readouterr().err
