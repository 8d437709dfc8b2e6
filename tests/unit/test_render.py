"""Graph text for people: DOT and Mermaid show every node and edge, the start and the leaves."""

from __future__ import annotations

import re

import pytest

from relentless import Definition, parse_definition
from relentless.core.render import render

DOT_EDGE = re.compile(r'^  "([^"]+)" -> "([^"]+)"(?: \[label="([^"]*)"(, style=dotted)?\])?;$')
DOT_NODE = re.compile(r'^  "([^"]+)" \[label="([^"]*)", (.*)\];$')
MERMAID_NODE = re.compile(r'^  (n\d+)(\({3}|\(|\[/)"([^"<]+)(?:<br/>[^"]*)?"(\){3}|\)|/\])$')
MERMAID_EDGE = re.compile(r'^  (n\d+) (-->|-\.->)\|"([^"]+)"\| (n\d+)$')


def edges_of(definition: Definition) -> set[tuple[str, str, str]]:
    return {(name, target, label) for name, node in definition.nodes.items()
            for label, target in node.on.items()}


def test_dot_is_one_balanced_digraph(payment: Definition) -> None:
    lines = render(payment, "dot").splitlines()
    assert lines[0] == 'digraph "payment" {'
    assert lines[-1] == "}"
    text = "\n".join(lines)
    assert text.count("{") == text.count("}") == 1
    assert all(line.endswith(";") for line in lines[1:-1])


def test_dot_has_one_line_per_edge_with_its_label(payment: Definition) -> None:
    matches = [DOT_EDGE.match(line) for line in render(payment, "dot").splitlines()]
    drawn = [m.groups()[:3] for m in matches if m and m.group(1) != "__start__"]
    assert len(drawn) == len(edges_of(payment))
    assert set(drawn) == edges_of(payment)


def test_dot_declares_every_node(payment: Definition) -> None:
    matches = [DOT_NODE.match(line) for line in render(payment, "dot").splitlines()]
    declared = {m.group(1) for m in matches if m}
    assert declared == set(payment.nodes)


def test_dot_marks_the_start_with_an_entry_arrow(payment: Definition) -> None:
    text = render(payment, "dot")
    assert '"__start__" [shape=point' in text
    assert text.count('"__start__" ->') == 1
    assert '"__start__" -> "charge";' in text


def test_dot_draws_leaves_as_end_states_and_steps_as_boxes(payment: Definition) -> None:
    styles = {}
    for line in render(payment, "dot").splitlines():
        match = DOT_NODE.match(line)
        if match:
            styles[match.group(1)] = match.group(3)
    for name, node in payment.nodes.items():
        assert ("doublecircle" in styles[name]) == node.is_leaf, name


def test_dot_draws_manual_steps_dashed_and_timeouts_dotted(payment: Definition) -> None:
    text = render(payment, "dot")
    assert '"escalate" [label="escalate\\nmanual_review (manual)", style="rounded,dashed"];' in text
    assert '"charge" -> "escalate" [label="timeout", style=dotted];' in text
    assert text.count("style=dotted") == 1
    assert text.count("dashed") == 1


def test_dot_labels_steps_with_their_operation(payment: Definition) -> None:
    assert '"ship" [label="ship\\nship_order", style=rounded];' in render(payment, "dot")


def mermaid_graph(definition: Definition) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Node names by id, node shapes by name, and the remaining lines of the Mermaid text."""
    names: dict[str, str] = {}
    shapes: dict[str, str] = {}
    rest = []
    for line in render(definition, "mermaid").splitlines():
        match = MERMAID_NODE.match(line)
        if match:
            names[match.group(1)] = match.group(3)
            shapes[match.group(3)] = match.group(2)
        else:
            rest.append(line)
    return names, shapes, rest


def test_mermaid_declares_every_node_once(payment: Definition) -> None:
    names, _, _ = mermaid_graph(payment)
    assert sorted(names.values()) == sorted(payment.nodes)


def test_mermaid_has_every_edge_with_its_label(payment: Definition) -> None:
    names, _, rest = mermaid_graph(payment)
    matches = [MERMAID_EDGE.match(line) for line in rest]
    drawn = [(names[m.group(1)], names[m.group(4)], m.group(3)) for m in matches if m]
    assert len(drawn) == len(edges_of(payment))
    assert set(drawn) == edges_of(payment)
    dotted = [(names[m.group(1)], m.group(3)) for m in matches if m and m.group(2) == "-.->"]
    assert dotted == [("charge", "timeout")]


def test_mermaid_marks_the_start_leaves_and_manual_steps(payment: Definition) -> None:
    names, shapes, rest = mermaid_graph(payment)
    assert rest[0] == "flowchart LR"
    start_lines = [line for line in rest if "start_marker" in line]
    assert len(start_lines) == 1
    assert names[start_lines[0].split("--> ")[1]] == "charge"
    for name, node in payment.nodes.items():
        expected = "(((" if node.is_leaf else "[/" if node.manual else "("
        assert shapes[name] == expected, name


def test_every_line_of_mermaid_is_a_header_node_or_edge(payment: Definition) -> None:
    _, _, rest = mermaid_graph(payment)
    others = [line for line in rest[1:] if not MERMAID_EDGE.match(line)]
    assert others == ["  start_marker(( )) --> n0"]


@pytest.mark.parametrize("fmt", ["dot", "mermaid"])
def test_render_is_deterministic_and_ends_with_a_newline(payment: Definition, fmt: str) -> None:
    text = render(payment, fmt)  # type: ignore[arg-type]
    assert text.endswith("}\n" if fmt == "dot" else "\n")
    assert text == render(payment, fmt)  # type: ignore[arg-type]


def test_names_with_dots_and_dashes_render_quoted() -> None:
    definition = parse_definition("""\
name: my-flow.v2
start: step.one
nodes:
  step.one:
    operation: do-it
    on:
      all-done: the-end
  the-end: {}
""")
    dot = render(definition, "dot")
    assert dot.startswith('digraph "my-flow.v2" {')
    assert '"step.one" -> "the-end" [label="all-done"];' in dot
    names, _, rest = mermaid_graph(definition)
    edges = [MERMAID_EDGE.match(line) for line in rest]
    assert [(names[m.group(1)], m.group(3), names[m.group(4)]) for m in edges if m] == [
        ("step.one", "all-done", "the-end")]
