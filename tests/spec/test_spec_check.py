"""The checker finds no violation in the correct model and catches every mutant."""

from __future__ import annotations

import json

import pytest

from spec import check, coverage
from spec.check import Report, explore, hunt, main, run
from spec.configurations import Configuration, configurations
from spec.invariants import catalogue
from spec.mutants import MUTANTS
from spec.rules import Rules

SMALL = configurations("small")


@pytest.fixture(scope="module")
def small_report() -> Report:
    """One run of the whole checker at small scope, shared by the command-line tests."""
    return run("small")


@pytest.fixture
def cli(small_report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line, answering from the shared small run instead of running again."""
    monkeypatch.setattr(check, "run", lambda scope, mutants=True: small_report)


@pytest.mark.parametrize("config", SMALL, ids=lambda c: c.name)
def test_the_correct_model_breaks_no_invariant(config: Configuration) -> None:
    result = explore(config)
    found = result.counterexample
    assert found is None, found.render()
    assert result.states > 50  # the smallest, `keys`, only starts workflows


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


@pytest.mark.usefixtures("cli")
def test_the_command_line_prints_one_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--scope", "small"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["violations"] == 0
    assert report["states_explored"] > 0
    assert report["mutants"]["caught"] == report["mutants"]["total"] == len(MUTANTS)
    assert set(report["invariants"]) == {invariant.name for invariant in catalogue()}
    assert [c["name"] for c in report["configurations"]] == [c.name for c in SMALL]


@pytest.mark.usefixtures("cli")
def test_the_text_report_shows_each_mutant_s_trace(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--scope", "small"]) == 0
    out = capsys.readouterr().out
    assert out.count("trace:") == len(MUTANTS)
    assert "MISSED" not in out


def test_the_small_worlds_reach_every_branch_of_the_rules(small_report: Report) -> None:
    table = small_report.coverage
    assert list(table) == list(coverage.BRANCHES)
    assert coverage.unreached(table) == []
    assert table["heartbeat.extended"] > 0 and table["interrupted.after_commit"] > 0


@pytest.mark.usefixtures("cli")
def test_coverage_json_keeps_the_old_keys_and_adds_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--coverage", "--json", "--scope", "small"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"configurations", "states_explored", "violations", "mutants", "seconds"} <= set(report)
    assert report["unreached"] == []
    assert set(report["coverage"]) == set(coverage.BRANCHES)
    assert all(count > 0 for count in report["coverage"].values())


@pytest.mark.usefixtures("cli")
def test_a_branch_never_reached_fails_the_coverage_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(coverage.BRANCHES, "fail.never", "a rule no world reaches")
    assert main(["--coverage", "--scope", "small"]) == 1
    out = capsys.readouterr().out
    assert "fail.never" in out and "NEVER REACHED" in out
    assert main(["--scope", "small"]) == 0


def test_a_branch_registered_twice_with_another_meaning_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        coverage.branch("lease", "nothing_due", "something else")
