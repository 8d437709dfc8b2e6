"""Graph text of a definition for people: Graphviz DOT and Mermaid.

Both mark the start node with an entry arrow, draw leaves as end states, manual
steps dashed, and the engine-taken ``timeout`` edges dotted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

from relentless.core.definition import RESERVED_LABELS, Definition, Node

GraphFormat = Literal["dot", "mermaid"]


def render(definition: Definition, fmt: GraphFormat) -> str:
    """The graph of ``definition`` as DOT or Mermaid text."""
    renderers: dict[str, Callable[[Definition], Iterator[str]]] = {
        "dot": _dot, "mermaid": _mermaid,
    }
    return "\n".join(renderers[fmt](definition)) + "\n"


def _caption(node: Node) -> str:
    if node.is_leaf:
        return node.name
    manual = " (manual)" if node.manual else ""
    return f"{node.name}\n{node.operation}{manual}"


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _dot(definition: Definition) -> Iterator[str]:
    yield f"digraph {_quoted(definition.name)} {{"
    yield "  rankdir=LR;"
    yield '  node [shape=box, style=rounded, fontname="Helvetica"];'
    yield '  edge [fontname="Helvetica"];'
    yield '  "__start__" [shape=point, width=0.15, label=""];'
    yield f'  "__start__" -> {_quoted(definition.start)};'
    for node in definition.nodes.values():
        if node.is_leaf:
            style = "shape=doublecircle, style=solid"
        else:
            style = 'style="rounded,dashed"' if node.manual else "style=rounded"
        yield f"  {_quoted(node.name)} [label={_quoted(_caption(node))}, {style}];"
    for node in definition.nodes.values():
        for label, target in node.on.items():
            dotted = ", style=dotted" if label in RESERVED_LABELS else ""
            yield f"  {_quoted(node.name)} -> {_quoted(target)} [label={_quoted(label)}{dotted}];"
    yield "}"


def _mermaid(definition: Definition) -> Iterator[str]:
    ids = {name: f"n{index}" for index, name in enumerate(definition.nodes)}

    def text(value: str) -> str:
        return '"' + value.replace('"', "#quot;").replace("\n", "<br/>") + '"'

    yield "flowchart LR"
    yield "  start_marker(( )) --> " + ids[definition.start]
    for node in definition.nodes.values():
        if node.is_leaf:
            yield f"  {ids[node.name]}((({text(node.name)})))"
        elif node.manual:
            yield f"  {ids[node.name]}[/{text(_caption(node))}/]"
        else:
            yield f"  {ids[node.name]}({text(_caption(node))})"
    for node in definition.nodes.values():
        for label, target in node.on.items():
            arrow = "-.->" if label in RESERVED_LABELS else "-->"
            yield f"  {ids[node.name]} {arrow}|{text(label)}| {ids[target]}"
