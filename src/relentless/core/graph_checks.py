"""Checks on the shape of the graph: targets exist, every node is reachable, none is a trap."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Set

from relentless.core.definition import Node
from relentless.errors import Problem

LineOf = Callable[[str | None, str | None], int | None]
"""Source line of a node (label None), of one of its labels, or of a top-level field."""


def graph_problems(start: str | None, nodes: Mapping[str, Node], declared: Set[str],
                   line_of: LineOf) -> list[Problem]:
    """Every problem of the graph: unknown start or targets, unreachable nodes, traps.

    ``nodes`` are the nodes that were read; ``declared`` every name under ``nodes``,
    including those too broken to read (already reported, so not called unknown).
    A missing ``start`` (already reported) skips only the checks that need it.
    """
    start_line = line_of(None, "start")
    problems = list(_unknown_names(start, nodes, declared, line_of))
    if start is not None and start in nodes:
        if nodes[start].is_leaf:
            problems.append(Problem(
                "start_is_leaf", f"the start node {start!r} is a leaf, so nothing would run",
                "start at a node with an operation", field="start", line=start_line))
        reached = _reachable(start, nodes)
        problems.extend(
            Problem("unreachable", "no path from the start node leads here",
                    "add an edge to it, or remove it", node=name, line=line_of(name, None))
            for name in nodes if name not in reached
        )
    trapped = sorted(_traps(nodes))
    problems.extend(
        Problem("trap", "no leaf can be reached from here: every path loops forever",
                f"add an edge to a leaf from one of: {', '.join(trapped)}",
                node=name, line=line_of(name, None))
        for name in trapped
    )
    return problems


def _unknown_names(start: str | None, nodes: Mapping[str, Node], declared: Set[str],
                   line_of: LineOf) -> Iterable[Problem]:
    known = ", ".join(sorted(declared))
    if start is not None and start not in declared:
        yield Problem("unknown_node", f"start node {start!r} is not defined",
                      f"name one of: {known}", field="start", line=line_of(None, "start"))
    for name, node in nodes.items():
        for label, target in node.on.items():
            if target not in declared:
                yield Problem("unknown_node", f"label {label!r} leads to {target!r}, "
                              "which is not defined", f"name one of: {known}",
                              node=name, field=f"on.{label}", line=line_of(name, label))


def _reachable(start: str, nodes: Mapping[str, Node]) -> set[str]:
    """Names reachable from ``start`` along edges to known nodes."""
    seen = {start}
    queue = deque([start])
    while queue:
        for target in nodes[queue.popleft()].on.values():
            if target in nodes and target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _traps(nodes: Mapping[str, Node]) -> set[str]:
    """Names of nodes from which no leaf is reachable.

    An edge to an unknown or unreadable node counts as a way out: that mistake is
    reported once already, and calling its node a trap as well would only add noise.
    """
    predecessors: dict[str, set[str]] = {name: set() for name in nodes}
    escapes = set()
    for name, node in nodes.items():
        if node.is_leaf:
            escapes.add(name)
        for target in node.on.values():
            if target in nodes:
                predecessors[target].add(name)
            else:
                escapes.add(name)
    queue = deque(escapes)
    while queue:
        for source in predecessors[queue.popleft()]:
            if source not in escapes:
                escapes.add(source)
                queue.append(source)
    return set(nodes) - escapes
