"""The command line: exit codes, messages for people, JSON for machines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from relentless import Definition
from relentless.cli import main

FIVE_MISTAKES = """\
name: payment
start: charge
colour: blue
nodes:
  charge:
    operation: charge_card
    timeout: 30 seconds
    attempts: 0
    on:
      ok: shpi
      Timeout: done
  done: {}
"""
FIVE_MISTAKES_AT = {
    3: "unknown_field", 7: "bad_duration", 8: "bad_count", 10: "unknown_node",
    11: "reserved_label",
}

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(FIVE_MISTAKES, encoding="utf-8")
    return path


def test_validate_a_valid_file_exits_0_and_says_so(payment_path: Path, payment: Definition,
                                                   capsys: Capture) -> None:
    assert main(["validate", str(payment_path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{payment_path}: valid")
    assert payment.fingerprint[:12] in out
    assert err == ""


def test_validate_prints_every_problem_with_its_line_and_exits_1(broken: Path,
                                                                  capsys: Capture) -> None:
    assert main(["validate", str(broken)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{broken}: 5 problems\n")
    for line, code in FIVE_MISTAKES_AT.items():
        place = f"{broken}:{line}:"
        reported = [text for text in err.splitlines() if text.strip().startswith(place)]
        assert len(reported) == 1, line
        assert reported[0].endswith(f"[{code}]")
    assert err.count("fix: ") == 5


def test_validate_lists_problems_in_line_order(broken: Path, capsys: Capture) -> None:
    main(["validate", str(broken)])
    prefix = f"  {broken}:"
    lines = [int(text[len(prefix):].split(":")[0])
             for text in capsys.readouterr().err.splitlines() if text.startswith(prefix)]
    assert lines == sorted(FIVE_MISTAKES_AT)


def test_validate_a_missing_file_exits_2_with_a_message(tmp_path: Path, capsys: Capture) -> None:
    missing = tmp_path / "absent.yaml"
    assert main(["validate", str(missing)]) == 2
    _, err = capsys.readouterr()
    assert str(missing) in err
    assert "cannot read" in err


def test_validate_a_directory_exits_2(tmp_path: Path, capsys: Capture) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_validate_a_file_that_is_not_utf8_exits_2_with_a_message(tmp_path: Path,
                                                                  capsys: Capture) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: café\n".encode("latin-1"))
    assert main(["validate", str(path)]) == 2
    assert str(path) in capsys.readouterr().err


def test_validate_json_output_parses_and_holds_the_problems(broken: Path, payment_path: Path,
                                                            capsys: Capture) -> None:
    assert main(["validate", "--json", str(broken), str(payment_path)]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    results = json.loads(out)
    assert results[str(broken)]["valid"] is False
    problems = results[str(broken)]["problems"]
    assert {(p["line"], p["code"]) for p in problems} == set(FIVE_MISTAKES_AT.items())
    assert {"node", "field", "message", "hint"} <= set(problems[0])
    good = results[str(payment_path)]
    assert (good["valid"], good["name"], good["nodes"]) == (True, "payment", 9)
    assert sorted(good["leaves"]) == ["declined", "done", "refunded"]


def test_validate_json_reports_an_unreadable_file(tmp_path: Path, capsys: Capture) -> None:
    missing = tmp_path / "absent.json"
    assert main(["validate", "--json", str(missing)]) == 2
    result = json.loads(capsys.readouterr().out)[str(missing)]
    assert result["valid"] is False
    assert "cannot read" in result["error"]


def test_validate_json_files_as_json(tmp_path: Path, capsys: Capture) -> None:
    path = tmp_path / "flow.json"
    path.write_text('{"name": "flow", "start": "work", "nodes": {\n'
                    '  "work": {"operation": "do", "on": {"ok": "done"}}, "done": {}}}\n')
    assert main(["validate", str(path)]) == 0
    assert "valid" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        (("good", "good"), 0),
        (("good", "broken"), 1),
        (("broken", "good"), 1),
        (("broken", "missing"), 2),
        (("missing", "broken", "good"), 2),
    ],
)
def test_with_several_files_the_worst_exit_code_wins(
    kinds: tuple[str, ...], expected: int, broken: Path, payment_path: Path, tmp_path: Path,
    capsys: Capture,
) -> None:
    paths = {"good": payment_path, "broken": broken, "missing": tmp_path / "absent.yaml"}
    assert main(["validate", *(str(paths[kind]) for kind in kinds)]) == expected
    out, err = capsys.readouterr()
    assert out.count(": valid") == kinds.count("good")
    assert err.count(" 5 problems") == kinds.count("broken")


def test_validate_without_files_is_a_usage_error(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate"])
    assert caught.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_an_unknown_command_is_a_usage_error(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["launch"])
    assert caught.value.code == 2
    assert "usage" in capsys.readouterr().err


@pytest.mark.parametrize(("fmt", "first_line"), [("dot", 'digraph "payment" {'),
                                                 ("mermaid", "flowchart LR")])
def test_render_prints_the_graph_and_exits_0(payment_path: Path, fmt: str, first_line: str,
                                             capsys: Capture) -> None:
    assert main(["render", str(payment_path), "--format", fmt]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == first_line
    assert "charge_card" in out
    assert err == ""


def test_render_defaults_to_dot(payment_path: Path, capsys: Capture) -> None:
    assert main(["render", str(payment_path)]) == 0
    assert capsys.readouterr().out.startswith("digraph")


def test_render_of_an_invalid_file_exits_1_with_its_problems(broken: Path,
                                                             capsys: Capture) -> None:
    assert main(["render", str(broken)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{broken}: 5 problems" in err


def test_render_of_a_missing_file_exits_2(tmp_path: Path, capsys: Capture) -> None:
    assert main(["render", str(tmp_path / "absent.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_render_rejects_an_unknown_format(payment_path: Path, capsys: Capture) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["render", str(payment_path), "--format", "svg"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_installed_command_validates_as_a_process(broken: Path, payment_path: Path) -> None:
    command = Path(sys.executable).with_name("relentless")
    good = subprocess.run([str(command), "validate", str(payment_path)],
                          capture_output=True, text=True, check=False, timeout=60)
    bad = subprocess.run([str(command), "validate", str(broken)],
                         capture_output=True, text=True, check=False, timeout=60)
    assert (good.returncode, bad.returncode) == (0, 1)
    assert ": valid" in good.stdout
    assert all(f"{broken}:{line}:" in bad.stderr for line in FIVE_MISTAKES_AT)


def test_the_module_runs_as_a_process(payment_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "relentless.cli", "render", str(payment_path),
                             "--format", "mermaid"],
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0
    assert result.stdout.startswith("flowchart LR\n")
