"""Random definitions with timing settings, and random scenarios for them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from relentless import Definition, definition_from_data
from relentless.core.durations import format_duration
from relentless.simulation.rules import FAILED_LABEL
from relentless.simulation.scenario import Scenario, scenario_from_data

LABELS = ("ok", "error", "again", "retry", "timeout", FAILED_LABEL)


@st.composite
def definitions(draw: st.DrawFn, max_steps: int = 6, max_attempts: int = 3,
                jitter: bool = True) -> Definition:
    """A valid definition: chained s0 -> s1 -> ... -> leaf0 by ``next``, other edges anywhere.

    Nodes get random timeouts, attempts, backoffs (with jitter, unless ``jitter`` is
    false) and deadlines; some are manual;
    ``timeout`` and ``failed`` are routed on some nodes only, so incidents happen.
    """
    steps = draw(st.integers(1, max_steps))
    leaves = draw(st.integers(1, 3))
    step_names = [f"s{i}" for i in range(steps)]
    leaf_names = [f"leaf{i}" for i in range(leaves)]
    everything = step_names + leaf_names
    nodes: dict[str, Any] = {}
    for index, name in enumerate(step_names):
        chained = step_names[index + 1] if index + 1 < steps else leaf_names[0]
        extra = draw(st.dictionaries(st.sampled_from(LABELS), st.sampled_from(everything),
                                     max_size=3))
        node: dict[str, Any] = {"operation": f"op{index}", "on": {**extra, "next": chained},
                                "timeout": format_duration(draw(st.integers(1, 50)) * 100),
                                "attempts": draw(st.integers(1, max_attempts))}
        backoff = draw(st.sampled_from(["fixed", "growing", "none"]))
        if backoff == "fixed":
            node["backoff"] = format_duration(draw(st.integers(0, 30)) * 100)
        elif backoff == "growing":
            node["backoff"] = {"initial": "100ms", "multiplier": draw(st.sampled_from([1.5, 2])),
                               "max": format_duration(draw(st.integers(1, 10)) * 100)}
            if jitter:
                node["backoff"]["jitter"] = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
        if draw(st.booleans()):
            node["deadline"] = format_duration(draw(st.integers(1, 100)) * 100)
        if draw(st.integers(0, 4)) == 0:
            node["manual"] = True
        nodes[name] = node
    for leaf in leaf_names[1:]:
        nodes[draw(st.sampled_from(step_names))]["on"][f"to_{leaf}"] = leaf
    nodes.update({leaf: {} for leaf in leaf_names})
    return definition_from_data({"name": "random", "start": "s0", "nodes": nodes})


def durations(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["fixed", "uniform", "lognormal", "histogram"]))
    ms = st.integers(0, 6_000)
    if kind == "fixed":
        return format_duration(draw(ms))
    if kind == "uniform":
        low, high = sorted((draw(ms), draw(ms)))
        return {"uniform": [format_duration(low), format_duration(high)]}
    if kind == "lognormal":
        return {"lognormal": {"median": format_duration(draw(st.integers(1, 3_000))),
                              "sigma": draw(st.sampled_from([0.1, 0.5, 1.0]))}}
    edges = sorted(set(draw(st.lists(ms, min_size=2, max_size=6, unique=True))))
    counts = draw(st.lists(st.integers(0, 50), min_size=len(edges) - 1,
                           max_size=len(edges) - 1).filter(any))
    return {"histogram": {"edges": [format_duration(e) for e in edges], "counts": counts}}


@st.composite
def scenarios(draw: st.DrawFn, definition: Definition) -> Scenario:
    """Random label weights, durations, failure and loss rates for every step node."""
    nodes: dict[str, Any] = {}
    for name, node in definition.nodes.items():
        if node.is_leaf:
            continue
        labels = node.offered_labels
        weights = draw(st.lists(st.integers(0, 10), min_size=len(labels),
                                max_size=len(labels)).filter(any))
        entry: dict[str, Any] = {"labels": dict(zip(labels, weights, strict=True)),
                                 "duration": durations(draw)}
        if not node.manual:
            fail = draw(st.sampled_from([0.0, 0.1, 0.3]))
            entry["fail"] = fail
            entry["lost"] = draw(st.sampled_from([0.0, 0.1, 0.5 - fail]))
            entry["permanent"] = draw(st.sampled_from([0.0, 0.0, 0.05, 0.2]))
        nodes[name] = entry
    return scenario_from_data({"nodes": nodes}, definition)
