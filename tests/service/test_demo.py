"""``relentless demo`` runs the example end to end and leaves nothing behind."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from relentless.cli import main
from relentless.examples import payment_definition, payment_worker

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_workflows_to_their_leaves_and_stops_everything() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "relentless.cli", "demo", "--workflows", "30"],
        capture_output=True, text=True, timeout=120, check=False)
    out = finished.stdout
    assert finished.returncode == 0, finished.stderr
    assert "30 of 30 workflows ended" in out
    assert re.search(r"^ *done +\d+", out, re.MULTILINE), out
    assert re.search(r"server +http://127\.0\.0\.1:\d+", out), out
    assert re.search(r"console +http://127\.0\.0\.1:\d+/ui +\(sign in with the admin token",
                     out), out
    where = re.search(r"PostgreSQL in (\S+), removed afterwards", out)
    assert where is not None, out
    assert not Path(where.group(1)).exists()
    assert not [process for process in psutil.process_iter(["cmdline"])
                if where.group(1) in " ".join(process.info["cmdline"] or ())]


def test_the_packaged_example_is_the_repository_example() -> None:
    """The demo ships its own copy (examples/ is not package data); they must not drift."""
    assert payment_definition() == (ROOT / "examples" / "payment.yaml").read_text()
    sys.path.insert(0, str(ROOT))
    try:
        from examples.payment_worker import worker  # noqa: PLC0415
    finally:
        sys.path.remove(str(ROOT))
    assert worker is payment_worker.worker
    assert set(worker.operations) == {"charge_card", "wait", "ship_order", "refund_card",
                                      "send_email"}


@pytest.mark.parametrize("option", [["--workflows", "0"], ["--port", "70000"]])
def test_demo_options_out_of_range_are_usage_errors(
        option: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", *option]) == 2
    assert "relentless demo:" in capsys.readouterr().err
