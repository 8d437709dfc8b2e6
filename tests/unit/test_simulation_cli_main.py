"""``relentless analyze`` and ``relentless simulate`` through ``relentless.cli.main``.

These pass once relentless.simulation.commands.register is wired into the CLI's
subcommands (the CLI owns exit codes; user mistakes exit non-zero with a message).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relentless.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAYMENT = str(ROOT / "examples" / "payment.yaml")
SCENARIO = str(ROOT / "docs" / "examples" / "payment-scenario.yaml")


def test_analyze_prints_one_json_object_with_nodes_and_cycles(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", PAYMENT, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "charge" in data["nodes"] and len(data["cycles"]) == 3


def test_simulate_prints_outcome_shares(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", PAYMENT, "--scenario", SCENARIO, "--runs", "10000", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sum(entry["runs"] for entry in data["outcomes"].values()) == 10_000


def test_a_bad_scenario_exits_non_zero_with_its_line(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes:\n  charge:\n    fail: often\n")
    assert main(["simulate", PAYMENT, "--scenario", str(bad)]) != 0
    assert "line 3, node 'charge', field 'fail'" in capsys.readouterr().err


def test_a_missing_file_exits_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "no-such-file.yaml"]) != 0
    assert "cannot read" in capsys.readouterr().err
