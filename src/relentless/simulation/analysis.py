"""Best and worst time from every node to every leaf, from the definition alone.

Exact integer arithmetic over the graph under the engine's rules (see ``rules``): a
step's exits each get the least and the largest time the step can take to leave by
them, then shortest paths give the best case and longest paths the worst case, which
is unbounded where a cycle can be entered on the way. Durations of attempts are not
in the definition, so a completion can take no time at all; what the definition does
bound is how long a step can last before it gives up. Worst cases are least upper
bounds: a run can come as close to them as it likes (an attempt completing just
before its timeout) and a ``timeout`` route reaches them exactly.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from relentless.core.definition import RESERVED_LABEL, Definition, Node
from relentless.simulation import rules

Time = int | float
"""Milliseconds, or ``math.inf`` for no bound."""

INCIDENT = None
"""The target of an exit that makes the workflow an incident."""

MAX_CYCLES = 100
"""Elementary cycles listed at most; a graph can have exponentially many."""
_SEARCH_BUDGET = 200_000


@dataclass(frozen=True, slots=True)
class Exit:
    """One way out of a step: its label, where it leads (None: incident) and its times."""

    label: str
    target: str | None
    best_ms: Time
    worst_ms: Time


@dataclass(frozen=True, slots=True)
class Cycle:
    """An elementary cycle: its nodes in order, the labels of each edge, one pass's times."""

    nodes: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]
    best_ms: Time
    worst_ms: Time

    @property
    def engine_only(self) -> bool:
        """Every edge is a give-up the engine takes: nobody's answer can leave the loop."""
        return all(set(labels) <= {RESERVED_LABEL, rules.FAILED_LABEL} for labels in self.labels)


@dataclass(frozen=True, slots=True)
class Analysis:
    """What ``relentless analyze`` reports; times in milliseconds, ``math.inf`` unbounded."""

    definition: Definition
    exits: Mapping[str, tuple[Exit, ...]]
    best: Mapping[str, Mapping[str | None, Time]]
    """Node -> outcome (a leaf, or None for an incident) -> best time; reachable only."""
    worst: Mapping[str, Mapping[str | None, Time]]
    cycles: tuple[Cycle, ...]
    cycles_truncated: bool = field(default=False)


def step_exits(node: Node) -> tuple[Exit, ...]:
    """Each way out of a step at ``node`` with the least and largest time it can take."""
    deadline: Time = node.deadline_ms if node.deadline_ms is not None else math.inf
    exits: list[Exit] = []
    if node.manual:
        # Never leased, so never expired or failed: only a deadline ends it early.
        exits.extend(Exit(label, node.on[label], 0, deadline) for label in node.offered_labels)
        if node.deadline_ms is not None:
            exits.append(Exit(RESERVED_LABEL, node.on.get(RESERVED_LABEL), deadline, deadline))
        return tuple(exits)
    retries = node.attempts - 1
    waits = rules.total_backoff_ms(node.backoff, retries)
    least_waits = rules.total_backoff_ms(node.backoff, retries, least=True)
    longest = min(node.attempts * node.timeout_ms + waits, deadline)
    exits.extend(Exit(label, node.on[label], 0, longest) for label in node.offered_labels)
    # Early attempts may fail at once and wait as little as their jitter allows; the
    # last one expires at its timeout.
    exits.append(Exit(RESERVED_LABEL, node.on.get(RESERVED_LABEL),
                      min(least_waits + node.timeout_ms, deadline), longest))
    if deadline > 0:
        # A failure that may not be retried gives the step up at once.
        failed_to = node.on[rules.FAILED_LABEL] if rules.routes_failed(node) else INCIDENT
        exits.append(Exit(rules.FAILED_LABEL, failed_to, 0, longest))
    return _merged(exits)


def _merged(exits: list[Exit]) -> tuple[Exit, ...]:
    """One exit per label (``failed`` may be both a worker's label and a give-up)."""
    by_label: dict[str, Exit] = {}
    for exit_ in exits:
        seen = by_label.get(exit_.label)
        by_label[exit_.label] = exit_ if seen is None else Exit(
            exit_.label, exit_.target, min(seen.best_ms, exit_.best_ms),
            max(seen.worst_ms, exit_.worst_ms))
    return tuple(by_label.values())


def analyze(definition: Definition) -> Analysis:
    """Step exits, best and worst times to each outcome, and the cycles of ``definition``."""
    exits = {name: step_exits(node) for name, node in definition.nodes.items()
             if not node.is_leaf}
    outcomes: list[str | None] = [*definition.leaves, INCIDENT]
    best: dict[str, dict[str | None, Time]] = {name: {} for name in definition.nodes}
    worst: dict[str, dict[str | None, Time]] = {name: {} for name in definition.nodes}
    for outcome in outcomes:
        for name, time in _shortest_to(definition, exits, outcome).items():
            best[name][outcome] = time
        for name, time in _longest_to(definition, exits, outcome).items():
            worst[name][outcome] = time
    cycles, truncated = _cycles(definition, exits)
    return Analysis(definition, exits, best, worst, tuple(cycles), truncated)


def _edges_into(exits: Mapping[str, tuple[Exit, ...]]) -> dict[str | None, list[tuple[str, Exit]]]:
    into: dict[str | None, list[tuple[str, Exit]]] = {}
    for source, outs in exits.items():
        for exit_ in outs:
            into.setdefault(exit_.target, []).append((source, exit_))
    return into


def _shortest_to(definition: Definition, exits: Mapping[str, tuple[Exit, ...]],
                 outcome: str | None) -> dict[str, Time]:
    """Dijkstra backwards from ``outcome``: the least time from each node that can reach it."""
    into = _edges_into(exits)
    found: dict[str, Time] = {}
    queue: list[tuple[Time, int, str | None]] = [(0, 0, outcome)]
    tie = 0
    while queue:
        time, _, name = heapq.heappop(queue)
        if name is not None:
            if name in found:
                continue
            found[name] = time
        elif found or time:
            continue
        for source, exit_ in into.get(name, ()):
            if source not in found:
                tie += 1
                heapq.heappush(queue, (time + exit_.best_ms, tie, source))
    return found


def _longest_to(definition: Definition, exits: Mapping[str, tuple[Exit, ...]],
                outcome: str | None) -> dict[str, Time]:
    """The largest time from each node to ``outcome``; infinite where a cycle can be entered."""
    can_reach = set(_shortest_to(definition, exits, outcome))
    inside = {name: [e for e in exits.get(name, ()) if e.target == outcome or
                     e.target in can_reach] for name in can_reach}
    looping = _on_cycles({name: [e.target for e in outs if e.target in can_reach]
                          for name, outs in inside.items()})
    memo: dict[str, Time] = {}
    for name in _post_order(inside, can_reach, looping):
        if name == outcome:
            memo[name] = 0
            continue
        if name in looping:
            memo[name] = math.inf
            continue
        candidates: list[Time] = []
        for exit_ in inside[name]:
            rest: Time = 0 if exit_.target == outcome else (
                math.inf if exit_.target in looping else memo[exit_.target or ""])
            candidates.append(exit_.worst_ms + rest)
        memo[name] = max(candidates, default=0)
    return memo


def _post_order(inside: Mapping[str, list[Exit]], nodes: set[str],
                looping: set[str]) -> Iterator[str]:
    """Nodes, each after every node it leads to (looping nodes count as sinks).

    Outside the looping nodes the graph is acyclic, so this order exists; it is built
    with an explicit stack to survive 10,000-node chains.
    """
    done: set[str] = set()
    for root in sorted(nodes):
        stack: list[tuple[str, Iterator[str]]] = []
        if root in done:
            continue
        stack.append((root, _successors(inside, root, nodes, looping)))
        done.add(root)
        while stack:
            name, successors = stack[-1]
            child = next(successors, None)
            if child is None:
                stack.pop()
                yield name
            elif child not in done:
                done.add(child)
                stack.append((child, _successors(inside, child, nodes, looping)))


def _successors(inside: Mapping[str, list[Exit]], name: str, nodes: set[str],
                looping: set[str]) -> Iterator[str]:
    if name in looping:
        return iter(())
    return (e.target for e in inside[name] if e.target in nodes and e.target is not None)


def _on_cycles(graph: Mapping[str, list[str | None]]) -> set[str]:
    """Nodes that lie on a cycle, or lead to one, within ``graph``."""
    components = _strong_components(graph)
    cyclic = {name for component in components for name in component
              if len(component) > 1 or name in graph.get(name, [])}
    reverse: dict[str, set[str]] = {name: set() for name in graph}
    for name, targets in graph.items():
        for target in targets:
            if target is not None:
                reverse[target].add(name)
    seen, stack = set(cyclic), list(cyclic)
    while stack:
        for source in reverse[stack.pop()]:
            if source not in seen:
                seen.add(source)
                stack.append(source)
    return seen


def _strong_components(graph: Mapping[str, list[str | None]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(name: str) -> Iterator[str]:
        index[name] = low[name] = len(index)
        stack.append(name)
        return iter([t for t in graph[name] if t is not None])

    for root in graph:
        if root in index:
            continue
        work = [(root, visit(root))]
        while work:
            name, targets = work[-1]
            target = next(targets, None)
            if target is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[name])
                if low[name] == index[name]:
                    components.append(_pop_component(stack, name))
            elif target not in index:
                work.append((target, visit(target)))
            elif target in stack:
                low[name] = min(low[name], index[target])
    return components


def _pop_component(stack: list[str], root: str) -> list[str]:
    """The members of ``root``'s component: the stack down to ``root``."""
    at = len(stack) - 1 - stack[::-1].index(root)
    component = stack[at:]
    del stack[at:]
    return component


def _cycles(definition: Definition,
            exits: Mapping[str, tuple[Exit, ...]]) -> tuple[list[Cycle], bool]:
    """Elementary cycles, each from its earliest node in file order, at most MAX_CYCLES."""
    order = {name: i for i, name in enumerate(definition.nodes)}
    edges: dict[str, dict[str, list[Exit]]] = {}
    for source, outs in exits.items():
        for exit_ in outs:
            if exit_.target is not None and exit_.target in exits:
                edges.setdefault(source, {}).setdefault(exit_.target, []).append(exit_)
    found: list[Cycle] = []
    budget = _SEARCH_BUDGET
    for first in sorted(exits, key=order.__getitem__):
        path = [first]
        stack = [iter(sorted(edges.get(first, {}), key=order.__getitem__))]
        while stack:
            budget -= 1
            if budget < 0 or len(found) >= MAX_CYCLES:
                return found, True
            target = next(stack[-1], None)
            if target is None:
                stack.pop()
                path.pop()
            elif target == first:
                found.append(_cycle(path, edges))
            elif order[target] > order[first] and target not in path:
                path.append(target)
                stack.append(iter(sorted(edges.get(target, {}), key=order.__getitem__)))
    return found, False


def _cycle(path: list[str], edges: Mapping[str, Mapping[str, list[Exit]]]) -> Cycle:
    hops = [edges[a][b] for a, b in zip(path, [*path[1:], path[0]], strict=True)]
    return Cycle(tuple(path), tuple(tuple(e.label for e in hop) for hop in hops),
                 sum(min(e.best_ms for e in hop) for hop in hops),
                 sum(max(e.worst_ms for e in hop) for hop in hops))
