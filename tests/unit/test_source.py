"""Reading YAML and JSON: lines, duplicates, YAML 1.2 booleans, and one fingerprint per content."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from relentless import Definition, DefinitionInvalid, load_definition, parse_definition
from relentless.core.source import (
    SourceMapping,
    SyntaxProblem,
    format_of,
    parse_text,
    walk_mappings,
)


def plain(data: Any) -> Any:
    """``data`` as builtin dicts and lists, as a client would build it before json.dumps."""
    if isinstance(data, dict):
        return {key: plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [plain(item) for item in data]
    return data


def reversed_order(data: Any) -> Any:
    """``data`` with every mapping's keys in the opposite order."""
    if isinstance(data, dict):
        return {key: reversed_order(data[key]) for key in reversed(list(data))}
    return data


# reading YAML


def test_yaml_1_2_keeps_the_on_key_a_string() -> None:
    data = parse_text("operation: x\non:\n  ok: done\n", "yaml")
    assert list(data) == ["operation", "on"]
    assert data["on"] == {"ok": "done"}


@pytest.mark.parametrize("word", ["yes", "no", "off", "on", "y", "n", "Yes", "OFF"])
def test_yaml_1_2_reads_yes_no_on_off_as_strings(word: str) -> None:
    data = parse_text(f"{word}: {word}\n", "yaml")
    assert data == {word: word}


@pytest.mark.parametrize(("word", "value"), [("true", True), ("false", False), ("True", True),
                                             ("FALSE", False)])
def test_yaml_1_2_booleans_are_only_true_and_false(word: str, value: bool) -> None:
    assert parse_text(f"manual: {word}\n", "yaml") == {"manual": value}


def test_labels_yes_no_off_are_labels_of_a_valid_definition() -> None:
    definition = parse_definition("""\
name: vote
start: ask
nodes:
  ask:
    operation: ask
    on:
      yes: accepted
      no: rejected
      off: rejected
  accepted: {}
  rejected: {}
""")
    assert dict(definition.nodes["ask"].on) == {
        "yes": "accepted", "no": "rejected", "off": "rejected"}


def test_the_yaml_1_2_loader_does_not_change_pyyaml_safe_load() -> None:
    parse_text("on: yes\n", "yaml")
    assert yaml.safe_load("on: yes\n") == {True: True}


def test_yaml_mappings_remember_the_line_of_each_key() -> None:
    data = parse_text("name: flow\n\nnodes:\n  work:\n    operation: x\n", "yaml")
    assert isinstance(data, SourceMapping)
    assert (data.line_of("name"), data.line_of("nodes")) == (1, 3)
    assert data["nodes"].line_of("work") == 4
    assert data["nodes"]["work"].line_of("operation") == 5


def test_an_absent_key_is_located_at_its_mapping() -> None:
    data = parse_text("name: flow\nnodes:\n  work:\n    operation: x\n", "yaml")
    assert data["nodes"]["work"].line_of("on") == 4


def test_yaml_duplicate_keys_keep_the_first_and_record_the_rest_with_lines() -> None:
    data = parse_text("a: 1\nb: 2\na: 3\na: 4\n", "yaml")
    assert data == {"a": 1, "b": 2}
    assert data.duplicates == [("a", 3), ("a", 4)]


def test_non_string_yaml_keys_become_strings() -> None:
    assert parse_text("404: x\n1.5: y\n", "yaml") == {"404": "x", "1.5": "y"}


def test_an_empty_yaml_document_is_none() -> None:
    assert parse_text("", "yaml") is None
    assert parse_text("# only a comment\n", "yaml") is None


@pytest.mark.parametrize(("text", "line"), [
    ("a: 1\nb: [1, 2\nc: 3\n", 3),
    ("a: 1\n  b: 2\n", 2),
    ("a: 'open\n", 2),
])
def test_malformed_yaml_raises_a_syntax_problem_with_a_line(text: str, line: int) -> None:
    with pytest.raises(SyntaxProblem) as caught:
        parse_text(text, "yaml")
    assert (caught.value.problem.code, caught.value.problem.line) == ("syntax", line)


def test_two_yaml_documents_are_a_syntax_problem() -> None:
    with pytest.raises(SyntaxProblem) as caught:
        parse_text("a: 1\n---\nb: 2\n", "yaml")
    assert caught.value.problem.code == "syntax"


# reading JSON


def test_json_duplicate_keys_keep_the_first_and_record_the_rest() -> None:
    data = parse_text('{"a": 1, "a": 2, "b": {"c": 1, "c": 2}}', "json")
    assert data == {"a": 1, "b": {"c": 1}}
    assert data.duplicates == [("a", None)]
    assert data["b"].duplicates == [("c", None)]


def test_malformed_json_raises_a_syntax_problem_with_its_line() -> None:
    with pytest.raises(SyntaxProblem) as caught:
        parse_text('{\n  "a": 1,\n}\n', "json")
    assert (caught.value.problem.code, caught.value.problem.line) == ("syntax", 3)


@pytest.mark.parametrize(("path", "fmt"), [
    ("flow.json", "json"), ("FLOW.JSON", "json"), ("flow.yaml", "yaml"), ("flow.yml", "yaml"),
    ("flow", "yaml"), (Path("dir.json") / "flow.yaml", "yaml"),
])
def test_the_extension_decides_the_format(path: str | Path, fmt: str) -> None:
    assert format_of(path) == fmt


def test_walk_mappings_finds_every_mapping_with_its_path() -> None:
    data = {"a": {"b": {"c": 1}}, "l": [{"d": 2}, 3]}
    paths = [path for path, _ in walk_mappings(data)]
    assert paths == [(), ("a",), ("a", "b"), ("l", "0")]


# loading files


def test_load_definition_reads_json_files_as_json(tmp_path: Path, payment: Definition) -> None:
    path = tmp_path / "payment.json"
    path.write_text(json.dumps(plain(payment_data())), encoding="utf-8")
    assert load_definition(path).fingerprint == payment.fingerprint


def test_load_definition_names_the_file_in_its_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [\n", encoding="utf-8")
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(path)
    assert caught.value.source == str(path)
    assert str(caught.value).startswith(f"{path}: definition has 1 problem:")


def test_load_definition_of_a_missing_file_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_definition(tmp_path / "absent.yaml")


# the acceptance definition and fingerprints


def payment_data() -> Any:
    path = Path(__file__).resolve().parents[2] / "examples" / "payment.yaml"
    return parse_text(path.read_text(encoding="utf-8"), "yaml")


def test_the_payment_example_is_valid(payment: Definition) -> None:
    assert payment.name == "payment"
    assert payment.start == "charge"
    assert set(payment.leaves) == {"done", "refunded", "declined"}
    assert payment.nodes["escalate"].manual
    assert payment.nodes["charge"].on["timeout"] == "escalate"
    assert payment.nodes["charge"].timeout_ms == 30_000
    assert len(payment.fingerprint) == 64


def test_the_payment_example_written_as_json_has_the_same_fingerprint(
    payment: Definition,
) -> None:
    as_json = json.dumps(plain(payment_data()), indent=2)
    assert '"on": {' in as_json
    assert parse_definition(as_json, "json").fingerprint == payment.fingerprint


def test_key_order_does_not_change_the_fingerprint(payment: Definition) -> None:
    shuffled = json.dumps(reversed_order(plain(payment_data())))
    assert parse_definition(shuffled, "json").fingerprint == payment.fingerprint


def test_the_spelling_of_a_duration_does_not_change_the_fingerprint(
    payment: Definition, payment_text: str,
) -> None:
    respelled = payment_text.replace("timeout: 30s", "timeout: 30000ms").replace(
        "backoff: 1s", "backoff: 1000ms")
    assert respelled != payment_text
    assert parse_definition(respelled).fingerprint == payment.fingerprint


def test_defaults_written_out_on_every_node_give_the_same_fingerprint(
    payment: Definition,
) -> None:
    data = plain(payment_data())
    settings_ = data.pop("defaults")
    for node in data["nodes"].values():
        if node:
            node.update(settings_)
    assert definition_fingerprint(data) == payment.fingerprint


def test_a_changed_target_changes_the_fingerprint(payment: Definition) -> None:
    data = plain(payment_data())
    data["nodes"]["escalate"]["on"]["retry"] = "wait_and_retry"
    assert definition_fingerprint(data) != payment.fingerprint


def test_a_changed_timeout_changes_the_fingerprint(payment: Definition) -> None:
    data = plain(payment_data())
    data["nodes"]["ship"]["timeout"] = "31s"
    assert definition_fingerprint(data) != payment.fingerprint


def test_a_changed_description_changes_the_fingerprint(payment: Definition) -> None:
    data = plain(payment_data())
    data["description"] = "Take a payment, then ship."
    assert definition_fingerprint(data) != payment.fingerprint


def definition_fingerprint(data: Any) -> str:
    return parse_definition(json.dumps(data), "json").fingerprint


# round trip of random valid definitions

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True)
LABELS = NAMES.filter(lambda label: label != "timeout")
DURATION_TEXTS = ("1ms", "250ms", "30s", "5m", "1h30m", "2d")  # shortest first
DURATIONS = st.sampled_from(DURATION_TEXTS)


def label_not_in(taken: dict[str, str]) -> st.SearchStrategy[str]:
    return LABELS.filter(lambda label: label not in taken)


@st.composite
def settings_of(draw: st.DrawFn) -> dict[str, Any]:
    """Some of the settings a node or the defaults may carry."""
    chosen: dict[str, Any] = {}
    if draw(st.booleans()):
        chosen["timeout"] = draw(DURATIONS)
    if draw(st.booleans()):
        chosen["attempts"] = draw(st.integers(1, 10))
    if draw(st.booleans()):
        chosen["deadline"] = draw(DURATIONS)
    backoff = draw(st.sampled_from(["none", "fixed", "growing"]))
    if backoff == "fixed":
        chosen["backoff"] = draw(DURATIONS)
    elif backoff == "growing":
        initial, maximum = sorted(draw(st.lists(st.sampled_from(range(len(DURATION_TEXTS))),
                                                min_size=2, max_size=2)))
        chosen["backoff"] = {"initial": DURATION_TEXTS[initial],
                             "multiplier": draw(st.sampled_from([1, 1.5, 2, 10])),
                             "max": DURATION_TEXTS[maximum]}
    return chosen


@st.composite
def valid_definitions(draw: st.DrawFn) -> dict[str, Any]:
    """A valid definition as plain data, valid by construction.

    Steps form a chain from the start to the first leaf, so every step is reachable and
    reaches a leaf; each other leaf gets an edge from some step; further edges go anywhere.
    """
    names = draw(st.lists(NAMES, min_size=2, max_size=8, unique=True))
    step_count = draw(st.integers(1, len(names) - 1))
    steps, leaves = names[:step_count], names[step_count:]
    edges: dict[str, dict[str, str]] = {step: {} for step in steps}
    chain = [*steps, leaves[0]]
    for step, following in pairwise(chain):
        edges[step][draw(LABELS)] = following
    for leaf in leaves[1:]:
        taken = edges[draw(st.sampled_from(steps))]
        taken[draw(label_not_in(taken))] = leaf
    for step in steps:
        extra = draw(st.dictionaries(LABELS, st.sampled_from(names), max_size=2))
        for label, target in extra.items():
            edges[step].setdefault(label, target)
        if draw(st.booleans()):
            edges[step]["timeout"] = draw(st.sampled_from(names))
    nodes: dict[str, Any] = {leaf: {} for leaf in leaves}
    for step in steps:
        node = {"operation": draw(NAMES), "on": edges[step], **draw(settings_of())}
        if draw(st.booleans()):
            node["manual"] = True
        nodes[step] = node
    ordered = dict(draw(st.permutations(list(nodes.items()))))
    data: dict[str, Any] = {"name": draw(NAMES), "start": steps[0], "nodes": ordered}
    if draw(st.booleans()):
        data["defaults"] = draw(settings_of())
    return data


@settings(max_examples=60, deadline=None)
@given(valid_definitions())
def test_random_definitions_give_one_fingerprint_in_yaml_and_json(data: dict[str, Any]) -> None:
    from_yaml = parse_definition(yaml.safe_dump(data, sort_keys=True), "yaml")
    from_json = parse_definition(json.dumps(data), "json")
    assert from_yaml.fingerprint == from_json.fingerprint
    assert from_yaml == from_json
    assert set(from_yaml.nodes) == set(data["nodes"])
    for name, node in data["nodes"].items():
        assert dict(from_yaml.nodes[name].on) == node.get("on", {})
