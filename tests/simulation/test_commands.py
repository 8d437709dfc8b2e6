"""``analyze`` and ``simulate`` through argparse, as the CLI will run them."""

from __future__ import annotations

import argparse
import builtins
import io
import json
from pathlib import Path
from typing import Any

import pytest

from relentless.errors import DefinitionInvalid, UserError
from relentless.simulation.commands import FileUnreadable, register
from relentless.simulation.overrides import BadOverride
from relentless.simulation.plot import PlotUnavailable
from relentless.simulation.scenario import ScenarioInvalid
from tests.simulation.conftest import PAYMENT, PAYMENT_SCENARIO


def run(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="relentless")
    register(parser.add_subparsers(required=True))
    arguments = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    code = arguments.run(arguments, out, err)
    return code, out.getvalue()


def simulate_json(*extra: str) -> dict[str, Any]:
    code, out = run("simulate", str(PAYMENT), "--scenario", str(PAYMENT_SCENARIO),
                    "--runs", "20000", "--json", *extra)
    assert code == 0
    data: dict[str, Any] = json.loads(out)
    return data


def test_analyze_json_has_a_nodes_map_and_a_cycles_list() -> None:
    code, out = run("analyze", str(PAYMENT), "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data["nodes"]) == {"charge", "wait_and_retry", "escalate", "ship", "refund",
                                  "notify_declined", "done", "refunded", "declined"}
    assert [c["nodes"] for c in data["cycles"]] == [
        ["charge", "wait_and_retry"], ["charge", "wait_and_retry", "escalate"],
        ["charge", "escalate"]]


def test_analyze_text_names_the_cycles_and_the_sla_verdict() -> None:
    code, out = run("analyze", str(PAYMENT), "--set", "sla=2h")
    assert code == 0
    assert "charge -error-> wait_and_retry -again-> charge" in out
    assert "sla 2h: can be missed" in out


def test_analyze_set_changes_the_bounds() -> None:
    _, out = run("analyze", str(PAYMENT), "--json", "--set", "ship.timeout=5s",
                 "--set", "ship.attempts=2")
    assert json.loads(out)["nodes"]["ship"]["leaves"]["done"]["worst_ms"] == 11_000


def test_simulate_reports_shares_quantiles_sla_and_nodes() -> None:
    data = simulate_json("--set", "sla=1h")
    outcomes = data["outcomes"]
    assert sum(entry["runs"] for entry in outcomes.values()) == 20_000
    assert 0.9 < outcomes["done"]["share"] < 0.96
    assert outcomes["done"]["time_ms"]["p50"] <= outcomes["done"]["time_ms"]["p99"]
    assert data["sla"]["sla_ms"] == 3_600_000 and 0 < data["sla"]["miss"]["share"] < 0.05
    assert next(iter(data["nodes"])) == "escalate"  # the people's step is where time goes


def test_the_simulators_print_the_same_figures_for_the_same_seed() -> None:
    figures = [simulate_json("--simulator", name, "--runs", "2000")
               for name in ("cython", "numpy", "python")]
    assert figures[0]["outcomes"] == figures[1]["outcomes"] == figures[2]["outcomes"]


def test_what_if_a_scenario_value_changes() -> None:
    more_errors = simulate_json("--set", "charge.labels.error=0.5", "--seed", "3")
    assert more_errors["nodes"]["wait_and_retry"]["visits_per_run"] > 0.3


def test_simulate_without_a_scenario_uses_the_default_one() -> None:
    code, out = run("simulate", str(PAYMENT), "--runs", "1000")
    assert code == 0 and "payment: 1,000 runs" in out


def test_an_unreadable_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(FileUnreadable, match="cannot read"):
        run("analyze", str(tmp_path / "missing.yaml"))
    (tmp_path / "bytes.yaml").write_bytes(b"\xff\xfe")
    with pytest.raises(FileUnreadable, match="not UTF-8"):
        run("analyze", str(tmp_path / "bytes.yaml"))


def test_an_invalid_definition_or_override_is_a_definition_problem(tmp_path: Path) -> None:
    with pytest.raises(DefinitionInvalid, match="not a duration"):
        run("analyze", str(PAYMENT), "--set", "charge.timeout=soon")
    (tmp_path / "broken.yaml").write_text("name: [\n")
    with pytest.raises(DefinitionInvalid):
        run("analyze", str(tmp_path / "broken.yaml"))


def test_an_invalid_scenario_names_the_field_and_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("nodes:\n  charge:\n    fail: often\n")
    with pytest.raises(ScenarioInvalid, match=r"line 3, node 'charge', field 'fail'"):
        run("simulate", str(PAYMENT), "--scenario", str(path))


@pytest.mark.parametrize("setting", ["charge", "nowhere.timeout=1s", "charge.colour=red"])
def test_a_bad_set_is_refused(setting: str) -> None:
    with pytest.raises(BadOverride):
        run("simulate", str(PAYMENT), "--set", setting)


def test_analyze_refuses_scenario_settings() -> None:
    with pytest.raises(UserError, match="analyze reads no scenario"):
        run("analyze", str(PAYMENT), "--set", "charge.fail=0.1")


def test_plot_without_matplotlib_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(PlotUnavailable, match=r"relentless-orchestrator\[plot\]"):
        run("simulate", str(PAYMENT), "--runs", "100", "--plot", str(tmp_path / "p.png"))


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "times.png"
    run("simulate", str(PAYMENT), "--scenario", str(PAYMENT_SCENARIO), "--runs", "5000",
        "--plot", str(target))
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
