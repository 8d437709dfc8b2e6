"""docs/analysis.md shows what ``relentless analyze`` really prints for payment."""

from __future__ import annotations

import argparse
import io
import re

from relentless.simulation.commands import register
from tests.simulation.conftest import PAYMENT, PAYMENT_SCENARIO, ROOT


def test_the_worked_example_is_the_real_output() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(required=True))
    arguments = parser.parse_args(["analyze", str(PAYMENT), "--set", "sla=2h"])
    out = io.StringIO()
    arguments.run(arguments, out, io.StringIO())
    text = (ROOT / "docs" / "analysis.md").read_text(encoding="utf-8")
    shown = re.search(r"```\n(payment: starts at charge\n.*?)```", text, re.DOTALL)
    assert shown is not None
    assert shown.group(1) == out.getvalue()


def test_the_scenario_shown_is_the_example_file() -> None:
    text = (ROOT / "docs" / "analysis.md").read_text(encoding="utf-8")
    assert PAYMENT_SCENARIO.read_text(encoding="utf-8").rstrip() in text
