"""The documentation shows what Relentless really does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relentless import parse_definition
from relentless.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_the_full_example_in_the_definition_docs_is_valid() -> None:
    text = (ROOT / "docs" / "definitions.md").read_text()
    example = re.search(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert example is not None
    definition = parse_definition(example.group(1))
    nodes = definition.nodes
    assert nodes["escalate"].manual
    assert nodes["charge"].on["timeout"] == "escalate"
    assert nodes["wait_and_retry"].on["again"] == "charge"


def test_the_readme_shows_the_real_output_for_the_broken_example(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT / "docs" / "examples")
    assert main(["validate", "broken-payment.yaml"]) == 1
    shown = re.search(r"```\n(broken-payment.yaml: .*?)```",
                      (ROOT / "README.md").read_text(), re.DOTALL)
    assert shown is not None
    assert capsys.readouterr().err == shown.group(1)
