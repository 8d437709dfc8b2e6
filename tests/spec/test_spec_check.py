"""The checker finds no violation in the correct model and catches every mutant."""

from __future__ import annotations

import json

import pytest

from spec.check import explore, hunt, main
from spec.configurations import Configuration, configurations
from spec.invariants import catalogue
from spec.mutants import MUTANTS
from spec.rules import Rules

SMALL = configurations("small")


@pytest.mark.parametrize("config", SMALL, ids=lambda c: c.name)
def test_the_correct_model_breaks_no_invariant(config: Configuration) -> None:
    result = explore(config)
    found = result.counterexample
    assert found is None, found.render()
    assert result.states > 1000


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.__name__)
def test_every_mutant_is_caught_with_a_counterexample(mutant: type[Rules]) -> None:
    result = hunt(mutant(), SMALL)
    found = result.counterexample
    assert found is not None, f"{mutant.__name__} escaped the checker"
    rendered = found.render()
    assert found.invariant in rendered and "trace:" in rendered
    assert len(found.trace) >= 1


def test_every_invariant_says_its_guarantee_in_words() -> None:
    names = [invariant.name for invariant in catalogue()]
    assert len(names) == len(set(names)) >= 8
    assert all(len(invariant.doc.split()) >= 8 for invariant in catalogue())


def test_the_command_line_prints_one_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--scope", "small"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["violations"] == 0
    assert report["states_explored"] > 0
    assert report["mutants"]["caught"] == report["mutants"]["total"] == len(MUTANTS)
    assert set(report["invariants"]) == {invariant.name for invariant in catalogue()}
    assert [c["name"] for c in report["configurations"]] == [c.name for c in SMALL]


def test_the_text_report_shows_each_mutant_s_trace(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--scope", "small"]) == 0
    out = capsys.readouterr().out
    assert out.count("trace:") == len(MUTANTS)
    assert "MISSED" not in out
