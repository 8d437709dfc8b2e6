"""Validation of definitions: one test per problem code, located by node, field and line."""

from __future__ import annotations

from textwrap import dedent

import pytest

from relentless import Backoff, DefinitionInvalid, Problem, definition_from_data, parse_definition
from relentless.core.reader import BUILTIN_DEFAULTS
from relentless.core.source import Format

Located = tuple[str, str | None, str | None, int | None]


def problems_of(text: str, fmt: Format = "yaml") -> tuple[Problem, ...]:
    """The problems reported for ``text``, failing the test if it is valid."""
    with pytest.raises(DefinitionInvalid) as caught:
        parse_definition(dedent(text), fmt)
    return caught.value.problems


def located(problems: tuple[Problem, ...]) -> set[Located]:
    return {(p.code, p.node, p.field, p.line) for p in problems}


def valid(text: str) -> None:
    """Fails unless ``text`` is a valid definition."""
    parse_definition(dedent(text))


# A valid definition that the tests below change in one place at a time.
VALID = """\
name: flow
start: work
nodes:
  work:
    operation: do_work
    on:
      ok: done
  done: {}
"""


def test_the_base_definition_used_below_is_valid() -> None:
    definition = parse_definition(VALID)
    assert definition.leaves == ("done",)


# wrong_type


@pytest.mark.parametrize("text", ["- name: flow\n", "just text\n", "42\n", ""])
def test_a_top_level_that_is_not_a_mapping_is_wrong_type(text: str) -> None:
    problems = problems_of(text)
    assert [(p.code, p.node, p.field) for p in problems] == [("wrong_type", None, None)]


def test_json_top_level_list_is_wrong_type() -> None:
    problems = problems_of('[{"name": "flow"}]', "json")
    assert [(p.code, p.node, p.field) for p in problems] == [("wrong_type", None, None)]


@pytest.mark.parametrize("nodes", ["[work, done]", "{}", "work"])
def test_nodes_that_are_not_a_non_empty_mapping_are_wrong_type(nodes: str) -> None:
    problems = problems_of(f"name: flow\nstart: work\nnodes: {nodes}\n")
    assert located(problems) == {("wrong_type", None, "nodes", 3)}


def test_on_that_is_not_a_mapping_is_wrong_type() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on: [done]
          done: {}
        """)
    assert ("wrong_type", "work", "on", 6) in located(problems)


@pytest.mark.parametrize("manual", ["yes", "'true'", "1", "on"])
def test_manual_that_is_not_a_yaml_1_2_boolean_is_wrong_type(manual: str) -> None:
    problems = problems_of(f"""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            manual: {manual}
            on:
              ok: done
          done: {{}}
        """)
    assert located(problems) == {("wrong_type", "work", "manual", 6)}


def test_a_node_that_is_not_a_mapping_is_wrong_type() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: done
          done: {}
          other: 5
        """)
    assert located(problems) == {("wrong_type", "other", None, 9)}


def test_a_target_that_is_not_a_name_is_wrong_type() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: done
              fail: [done]
          done: {}
        """)
    assert located(problems) == {("wrong_type", "work", "on.fail", 8)}


def test_defaults_that_are_not_a_mapping_are_wrong_type() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        defaults: 30s
        nodes:
          work:
            operation: do_work
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("wrong_type", None, "defaults", 3)}


def test_a_description_that_is_not_text_is_wrong_type() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            description: [a, b]
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("wrong_type", "work", "description", 6)}


# missing_field


@pytest.mark.parametrize("field", ["name", "start", "nodes"])
def test_a_missing_top_level_field_is_reported_at_the_top(field: str) -> None:
    lines = [line for line in VALID.splitlines(keepends=True) if not line.startswith(field)]
    if field == "nodes":
        lines = lines[:2]
    problems = problems_of("".join(lines))
    assert located(problems) == {("missing_field", None, field, 1)}


def test_labels_without_an_operation_are_missing_field_operation() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("missing_field", "work", "operation", 4)}


def test_an_operation_without_labels_is_missing_field_on() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: stuck
          stuck: {operation: wait}
          done: {}
        """)
    assert ("missing_field", "stuck", "on", 8) in located(problems)


def test_an_operation_with_empty_labels_is_missing_field_on() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: stuck
              done: done
          stuck:
            operation: wait
            on: {}
          done: {}
        """)
    assert ("missing_field", "stuck", "on", 11) in located(problems)


def test_a_backoff_mapping_without_initial_is_missing_field() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            backoff: {multiplier: 2, max: 1m}
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("missing_field", "work", "backoff", 6)}


# unknown_field


def test_an_unknown_top_level_field_is_reported() -> None:
    problems = problems_of(VALID + "colour: blue\n")
    assert located(problems) == {("unknown_field", None, "colour", 9)}


def test_an_unknown_defaults_field_is_reported() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        defaults:
          timeout: 30s
          retries: 3
        nodes:
          work:
            operation: do_work
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("unknown_field", None, "defaults.retries", 5)}


def test_an_unknown_node_field_is_reported() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            retries: 3
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("unknown_field", "work", "retries", 6)}


def test_an_unknown_backoff_field_is_reported() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            backoff:
              initial: 1s
              spread: 1s
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("unknown_field", "work", "backoff.spread", 8)}


@pytest.mark.parametrize("jitter", ["1s", "1.5", "-0.1", "true"])
def test_a_jitter_that_is_not_a_share_is_reported(jitter: str) -> None:
    problems = problems_of(f"""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            backoff:
              initial: 1s
              jitter: {jitter}
            on:
              ok: done
          done: {{}}
        """)
    assert located(problems) == {("bad_count", "work", "backoff.jitter", 8)}


def test_failed_is_reserved_like_timeout() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              Failed: done
              ok: other
          other:
            operation: do_more
            on:
              failed: done
              timeout: done
          done: {}
        """)
    assert {(code, node) for code, node, _, _ in located(problems)} == {
        ("reserved_label", "work"), ("reserved_label", "other")}


def test_an_unknown_field_in_the_defaults_backoff_is_reported() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        defaults:
          backoff: {initial: 1s, factor: 2}
        nodes:
          work:
            operation: do_work
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("unknown_field", None, "defaults.backoff.factor", 4)}


# invalid_name


def test_an_invalid_node_name_is_reported() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: 1st
          1st: {}
        """)
    assert located(problems) == {("invalid_name", "1st", None, 8)}


def test_an_invalid_label_is_reported() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: done
              not ok: done
          done: {}
        """)
    assert located(problems) == {("invalid_name", "work", "on.not ok", 8)}


def test_an_invalid_operation_name_is_reported() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do work
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("invalid_name", "work", "operation", 5)}


@pytest.mark.parametrize("name", ["my flow", "_flow", "9flow", "'flow!'", "f" * 129, "[flow]"])
def test_an_invalid_definition_name_is_reported(name: str) -> None:
    problems = problems_of(VALID.replace("name: flow", f"name: {name}"))
    assert located(problems) == {("invalid_name", None, "name", 1)}


def test_a_name_of_128_characters_is_valid() -> None:
    valid(VALID.replace("name: flow", "name: " + "f" * 128))


# duplicate_node, duplicate_label, duplicate_field


def test_a_node_defined_twice_is_duplicate_node() -> None:
    problems = problems_of(VALID + "  done: {}\n")
    assert located(problems) == {("duplicate_node", "done", None, 9)}


def test_a_label_given_twice_is_duplicate_label() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: done
              ok: done
          done: {}
        """)
    assert located(problems) == {("duplicate_label", "work", "on.ok", 8)}


def test_a_top_level_field_given_twice_is_duplicate_field() -> None:
    problems = problems_of(VALID + "name: other\n")
    assert located(problems) == {("duplicate_field", None, "name", 9)}


def test_a_node_field_given_twice_is_duplicate_field() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            timeout: 5s
            timeout: 10s
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("duplicate_field", "work", "timeout", 7)}


def test_a_defaults_backoff_field_given_twice_is_duplicate_field() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        defaults:
          backoff:
            initial: 1s
            initial: 2s
        nodes:
          work:
            operation: do_work
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("duplicate_field", None, "defaults.backoff.initial", 6)}


def test_json_top_level_field_given_twice_is_duplicate_field() -> None:
    text = """{"name": "flow", "name": "other", "start": "work", "nodes": {
        "work": {"operation": "do_work", "on": {"ok": "done"}}, "done": {}}}"""
    problems = problems_of(text, "json")
    assert [(p.code, p.node, p.field) for p in problems] == [("duplicate_field", None, "name")]


def test_json_node_field_given_twice_is_duplicate_field() -> None:
    text = """{"name": "flow", "start": "work", "nodes": {
        "work": {"operation": "do_work", "operation": "other", "on": {"ok": "done"}},
        "done": {}}}"""
    problems = problems_of(text, "json")
    assert [(p.code, p.node, p.field) for p in problems] == [
        ("duplicate_field", "work", "operation")
    ]


def test_json_node_and_label_given_twice_are_duplicate_node_and_label() -> None:
    text = """{"name": "flow", "start": "work", "nodes": {
        "work": {"operation": "do_work", "on": {"ok": "done", "ok": "done"}},
        "done": {}, "done": {}}}"""
    problems = problems_of(text, "json")
    assert {(p.code, p.node, p.field) for p in problems} == {
        ("duplicate_label", "work", "on.ok"),
        ("duplicate_node", "done", None),
    }


# unknown_node


def test_an_undefined_start_is_unknown_node() -> None:
    problems = problems_of(VALID.replace("start: work", "start: wrok"))
    assert located(problems) == {("unknown_node", None, "start", 2)}


def test_an_undefined_target_is_unknown_node() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: done
              failed: dnoe
          done: {}
        """)
    assert located(problems) == {("unknown_node", "work", "on.failed", 8)}


# bad_duration


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("timeout: 30 seconds", "timeout"),
        ("timeout: 30", "timeout"),
        ("timeout: 1.5s", "timeout"),
        ("timeout: 0s", "timeout"),
        ("timeout: 0ms", "timeout"),
        ("deadline: 0s", "deadline"),
        ("deadline: tomorrow", "deadline"),
        ("timeout: 3661d", "timeout"),
        ("deadline: 100000h", "deadline"),
        ("backoff: 1", "backoff"),
        ("backoff: {initial: soon}", "backoff.initial"),
        ("backoff: {initial: 1s, max: 3661d}", "backoff.max"),
    ],
)
def test_a_bad_node_duration_is_bad_duration(setting: str, field: str) -> None:
    problems = problems_of(f"""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            {setting}
            on:
              ok: done
          done: {{}}
        """)
    assert located(problems) == {("bad_duration", "work", field, 6)}


def test_a_bad_default_duration_is_bad_duration() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        defaults:
          timeout: 30 seconds
        nodes:
          work:
            operation: do_work
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("bad_duration", None, "defaults.timeout", 4)}


@pytest.mark.parametrize("setting", ["backoff: 0s", "timeout: 3660d", "deadline: 1ms"])
def test_durations_at_the_limits_are_valid(setting: str) -> None:
    valid(f"""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            {setting}
            on:
              ok: done
          done: {{}}
        """)


# bad_count


@pytest.mark.parametrize("attempts", ["0", "-1", "1.5", "true", "'3'", "1000001"])
def test_attempts_that_are_not_a_count_are_bad_count(attempts: str) -> None:
    problems = problems_of(f"""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            attempts: {attempts}
            on:
              ok: done
          done: {{}}
        """)
    assert located(problems) == {("bad_count", "work", "attempts", 6)}


@pytest.mark.parametrize("multiplier", ["0.5", "0", "101", "true", "'2'"])
def test_a_backoff_multiplier_out_of_range_is_bad_count(multiplier: str) -> None:
    problems = problems_of(f"""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            backoff:
              initial: 1s
              multiplier: {multiplier}
            on:
              ok: done
          done: {{}}
        """)
    assert located(problems) == {("bad_count", "work", "backoff.multiplier", 8)}


def test_bad_default_attempts_are_bad_count() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        defaults:
          attempts: 0
        nodes:
          work:
            operation: do_work
            on:
              ok: done
          done: {}
        """)
    assert located(problems) == {("bad_count", None, "defaults.attempts", 4)}


# reserved_label


def test_timeout_as_the_only_label_is_reserved_label() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              timeout: done
          done: {}
        """)
    assert located(problems) == {("reserved_label", "work", "on.timeout", 7)}


@pytest.mark.parametrize("label", ["Timeout", "TIMEOUT", "timeOut"])
def test_a_look_alike_of_timeout_is_reserved_label(label: str) -> None:
    problems = problems_of(f"""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: done
              {label}: done
          done: {{}}
        """)
    assert located(problems) == {("reserved_label", "work", f"on.{label}", 8)}


def test_timeout_beside_other_labels_is_valid() -> None:
    valid("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: done
              timeout: done
          done: {}
        """)


# leaf_setting


@pytest.mark.parametrize(
    ("setting", "field"),
    [("timeout: 5s", "timeout"), ("attempts: 2", "attempts"), ("backoff: 1s", "backoff"),
     ("deadline: 1h", "deadline"), ("manual: true", "manual")],
)
def test_a_setting_on_a_leaf_is_leaf_setting(setting: str, field: str) -> None:
    problems = problems_of(f"""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: done
          done:
            {setting}
        """)
    assert located(problems) == {("leaf_setting", "done", field, 9)}


# start_is_leaf, unreachable, trap


def test_a_leaf_as_start_is_start_is_leaf() -> None:
    problems = problems_of(VALID.replace("start: work", "start: done"))
    assert located(problems) == {
        ("start_is_leaf", None, "start", 2),
        ("unreachable", "work", None, 4),
    }


def test_a_node_without_a_path_from_start_is_unreachable() -> None:
    problems = problems_of(VALID + """\
  orphan:
    operation: do_other
    on:
      ok: done
""")
    assert located(problems) == {("unreachable", "orphan", None, 9)}


def test_a_cycle_with_no_exit_is_a_trap_at_each_of_its_nodes() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: done
              wait: ping
          ping:
            operation: ping
            on:
              pong: pong
          pong:
            operation: pong
            on:
              ping: ping
          done: {}
        """)
    assert located(problems) == {("trap", "ping", None, 9), ("trap", "pong", None, 13)}


def test_a_node_that_only_loops_to_itself_is_a_trap() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: done
              poll: poll
          poll:
            operation: poll
            on:
              again: poll
              timeout: poll
          done: {}
        """)
    assert located(problems) == {("trap", "poll", None, 9)}


def test_a_cycle_with_one_exit_to_a_leaf_is_not_a_trap() -> None:
    valid("""\
        name: flow
        start: ping
        nodes:
          ping:
            operation: ping
            on:
              pong: pong
          pong:
            operation: pong
            on:
              ping: ping
              stop: done
          done: {}
        """)


def test_a_node_whose_only_exit_is_an_unknown_node_is_not_also_a_trap() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: done
              other: lost
          lost:
            operation: search
            on:
              found: nowhere
          done: {}
        """)
    assert located(problems) == {("unknown_node", "lost", "on.found", 12)}


# syntax and size


def test_malformed_yaml_is_a_syntax_problem_with_its_line() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work: {operation: do_work, on: [ok
          done: {}
        """)
    assert len(problems) == 1
    assert problems[0].code == "syntax"
    assert problems[0].line in (4, 5, 6)


def test_yaml_with_a_tab_indent_is_a_syntax_problem_with_its_line() -> None:
    problems = problems_of("name: flow\nstart: work\nnodes:\n\twork: {}\n")
    assert [(p.code, p.line) for p in problems] == [("syntax", 4)]


def test_malformed_json_is_a_syntax_problem_with_its_line() -> None:
    text = '{\n  "name": "flow",\n  "start": "work"\n  "nodes": {}\n}\n'
    problems = problems_of(text, "json")
    assert [(p.code, p.line) for p in problems] == [("syntax", 4)]


def test_more_than_a_thousand_labels_is_too_large() -> None:
    labels = {f"label{index}": "done" for index in range(1_001)}
    data = {"name": "big", "start": "work",
            "nodes": {"work": {"operation": "do_work", "on": labels}, "done": {}}}
    with pytest.raises(DefinitionInvalid) as caught:
        definition_from_data(data)
    assert located(caught.value.problems) == {("too_large", None, "nodes", None)}


def test_a_thousand_labels_is_not_too_large() -> None:
    labels = {f"label{index}": "done" for index in range(999)} | {"timeout": "done"}
    data = {"name": "big", "start": "work",
            "nodes": {"work": {"operation": "do_work", "on": labels}, "done": {}}}
    assert len(definition_from_data(data).nodes["work"].on) == 1_000


# every problem at once


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


def test_five_mistakes_are_all_reported_at_once() -> None:
    problems = problems_of(FIVE_MISTAKES)
    assert located(problems) == {
        ("unknown_field", None, "colour", 3),
        ("bad_duration", "charge", "timeout", 7),
        ("bad_count", "charge", "attempts", 8),
        ("unknown_node", "charge", "on.ok", 10),
        ("reserved_label", "charge", "on.Timeout", 11),
    }


def test_problems_come_sorted_by_line() -> None:
    lines = [p.line for p in problems_of(FIVE_MISTAKES)]
    assert lines == [3, 7, 8, 10, 11]


def test_the_error_message_lists_every_problem_with_its_line() -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        parse_definition(FIVE_MISTAKES, source="five.yaml")
    message = str(caught.value)
    assert message.startswith("five.yaml: definition has 5 problems:")
    for line in (3, 7, 8, 10, 11):
        assert f"line {line}," in message


def test_every_problem_has_a_message_and_a_hint() -> None:
    for problem in problems_of(FIVE_MISTAKES):
        assert problem.message
        assert problem.hint


def test_graph_problems_are_reported_even_when_the_name_is_missing() -> None:
    problems = problems_of("""\
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: dnoe
          done: {}
        """)
    assert located(problems) == {
        ("missing_field", None, "name", 1),
        ("unknown_node", "work", "on.ok", 6),
        ("unreachable", "done", None, 7),
    }


def test_an_edge_to_a_node_of_the_wrong_type_is_not_called_undefined() -> None:
    problems = problems_of("""\
        name: flow
        start: work
        nodes:
          work:
            operation: do_work
            on:
              ok: done
              later: other
          done: {}
          other: 5
        """)
    assert located(problems) == {("wrong_type", "other", None, 10)}


def test_data_without_lines_reports_problems_without_lines() -> None:
    data = {"name": "flow", "start": "work", "colour": "blue",
            "nodes": {"work": {"operation": "do_work", "on": {"ok": "gone"}}}}
    with pytest.raises(DefinitionInvalid) as caught:
        definition_from_data(data, source="api")
    assert located(caught.value.problems) == {
        ("unknown_field", None, "colour", None),
        ("unknown_node", "work", "on.ok", None),
    }
    assert caught.value.source == "api"


# defaults and backoff


def test_nodes_inherit_the_defaults() -> None:
    definition = parse_definition("""\
        name: flow
        start: work
        defaults:
          timeout: 45s
          attempts: 7
          backoff: 2s
          deadline: 1h
        nodes:
          work:
            operation: do_work
            on:
              ok: done
          done: {}
        """)
    work = definition.nodes["work"]
    assert (work.timeout_ms, work.attempts, work.backoff, work.deadline_ms) == (
        45_000, 7, Backoff(2_000), 3_600_000)


def test_node_settings_override_the_defaults_one_by_one() -> None:
    definition = parse_definition("""\
        name: flow
        start: work
        defaults:
          timeout: 45s
          attempts: 7
          backoff: 2s
          deadline: 1h
        nodes:
          work:
            operation: do_work
            timeout: 5s
            deadline: 10m
            on:
              ok: done
          done: {}
        """)
    work = definition.nodes["work"]
    assert (work.timeout_ms, work.attempts, work.backoff, work.deadline_ms) == (
        5_000, 7, Backoff(2_000), 600_000)


def test_builtin_defaults_apply_without_defaults() -> None:
    work = parse_definition(VALID).nodes["work"]
    assert (work.timeout_ms, work.attempts, work.backoff, work.deadline_ms) == (
        BUILTIN_DEFAULTS["timeout_ms"], BUILTIN_DEFAULTS["attempts"],
        BUILTIN_DEFAULTS["backoff"], None)
    assert (work.timeout_ms, work.attempts, work.backoff) == (60_000, 3, Backoff(1_000))


def test_partial_defaults_keep_the_builtin_values_for_the_rest() -> None:
    work = parse_definition(VALID + "defaults: {attempts: 9}\n").nodes["work"]
    assert (work.timeout_ms, work.attempts) == (60_000, 9)


def test_leaves_take_no_settings_from_the_defaults() -> None:
    leaf = parse_definition(VALID + "defaults: {timeout: 5s, deadline: 1h}\n").nodes["done"]
    assert leaf.is_leaf
    assert (leaf.operation, dict(leaf.on), leaf.deadline_ms, leaf.manual) == (
        None, {}, None, False)


def test_a_manual_node_is_marked_manual() -> None:
    definition = parse_definition(VALID.replace("    on:\n", "    manual: true\n    on:\n"))
    assert definition.nodes["work"].manual is True


def test_a_duration_backoff_is_a_fixed_delay() -> None:
    backoff = parse_definition(VALID + "defaults: {backoff: 1s}\n").nodes["work"].backoff
    assert backoff == Backoff(1_000, 1.0, None)
    assert [backoff.delay_ms(n) for n in (1, 2, 3, 10)] == [1_000] * 4


def test_a_backoff_mapping_grows_by_its_multiplier_up_to_its_max() -> None:
    text = VALID + "defaults:\n  backoff: {initial: 1s, multiplier: 3, max: 20s}\n"
    backoff = parse_definition(text).nodes["work"].backoff
    assert backoff == Backoff(1_000, 3.0, 20_000)
    assert [backoff.delay_ms(n) for n in (1, 2, 3, 4, 5)] == [1_000, 3_000, 9_000, 20_000, 20_000]


def test_a_backoff_mapping_doubles_by_default_without_a_cap() -> None:
    backoff = parse_definition(VALID + "defaults: {backoff: {initial: 500ms}}\n").nodes[
        "work"].backoff
    assert backoff == Backoff(500, 2.0, None)
    assert [backoff.delay_ms(n) for n in (1, 2, 3, 4)] == [500, 1_000, 2_000, 4_000]


def test_backoff_delay_before_the_first_retry_is_the_initial_delay() -> None:
    assert Backoff(700, 5.0, None).delay_ms(0) == 700
    assert Backoff(700, 5.0, None).delay_ms(1) == 700


def test_a_capped_backoff_stays_at_its_cap_however_many_attempts_failed() -> None:
    # attempts may be up to 1_000_000 and the multiplier up to 100: the cap must hold.
    backoff = Backoff(1_000, 2.0, 60_000)
    assert backoff.delay_ms(1_100) == 60_000
    assert Backoff(1_000, 100.0, 3_600_000).delay_ms(999_999) == 3_600_000


def test_a_backoff_max_shorter_than_its_initial_delay_is_refused() -> None:
    problems = problems_of(VALID + "defaults:\n  backoff: {initial: 1s, max: 0s}\n")
    assert {(p.code, p.field) for p in problems} == {("bad_duration", "defaults.backoff.max")}


def test_a_zero_cap_never_breaks_the_delay() -> None:
    """A cap of zero (possible only from data, never from a valid file) means no wait."""
    assert Backoff(1_000, 2.0, 0).delay_ms(5) == 0


def test_yaml_aliases_are_refused_before_they_can_expand() -> None:
    laughs = "a: &a [x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(20))
    [problem] = problems_of(laughs)
    assert problem.code == "syntax" and "aliases" in problem.message


def test_a_table_of_more_than_a_million_cells_is_too_large() -> None:
    """2,000 nodes by 600 labels: within each limit alone, too big a table together."""
    nodes = "".join(f"  n{i}: {{operation: op, on: {{l{i % 600}: end}}}}\n" for i in range(2000))
    problems = problems_of("name: big\nstart: n0\nnodes:\n" + nodes + "  end: {}\n")
    [too_large] = [p for p in problems if p.code == "too_large"]
    assert "table cells" in too_large.message
