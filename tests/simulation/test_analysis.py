"""The static analysis: exact step bounds, and bounds that simulated runs respect and reach."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from relentless import Definition, compile_definition, parse_definition
from relentless.core.definition import RESERVED_LABEL
from relentless.core.status import Status
from relentless.simulation import native
from relentless.simulation.analysis import Analysis, Exit, analyze, step_exits
from relentless.simulation.report import analysis_data
from relentless.simulation.rules import FAILED_LABEL
from relentless.simulation.scenario import scenario_from_data
from relentless.simulation.tables import build_tables
from tests.simulation.conftest import PAYMENT
from tests.simulation.strategies import definitions, scenarios

MAX_STEPS = 60


def test_the_payment_steps_have_the_worked_example_bounds(payment: Definition) -> None:
    exits = {e.label: e for e in step_exits(payment.nodes["charge"])}
    # 3 attempts of 30s and 2 waits of 1s
    assert exits["ok"] == Exit("ok", "ship", 0, 92_000)
    assert exits[RESERVED_LABEL] == Exit(RESERVED_LABEL, "escalate", 32_000, 92_000)
    assert exits[FAILED_LABEL] == Exit(FAILED_LABEL, None, 0, 92_000)  # final at once
    manual = {e.label: e for e in step_exits(payment.nodes["escalate"])}
    assert manual["retry"].worst_ms == math.inf
    assert RESERVED_LABEL not in manual  # a manual step without a deadline never times out


def test_the_payment_analysis_names_its_unbounded_cycles(payment: Definition) -> None:
    data = analysis_data(analyze(payment))
    cycles = {tuple(cycle["nodes"]) for cycle in data["cycles"]}
    assert cycles == {("charge", "wait_and_retry"), ("charge", "wait_and_retry", "escalate"),
                      ("charge", "escalate")}
    assert all(not cycle["bounded"] and cycle["bound"] for cycle in data["cycles"])
    assert data["nodes"]["charge"]["leaves"]["done"] == {"best_ms": 0, "worst_ms": None}
    assert data["nodes"]["ship"]["leaves"]["done"] == {"best_ms": 0, "worst_ms": 92_000}


def test_a_deadline_caps_every_exit_and_is_the_least_timeout_when_shorter() -> None:
    definition = parse_definition("""\
name: d
start: a
nodes:
  a: {operation: x, timeout: 10s, attempts: 3, backoff: 1s, deadline: 5s,
      on: {ok: done, timeout: done}}
  done: {}
""")
    exits = {e.label: e for e in step_exits(definition.nodes["a"])}
    assert exits["ok"].worst_ms == 5_000
    assert (exits[RESERVED_LABEL].best_ms, exits[RESERVED_LABEL].worst_ms) == (5_000, 5_000)
    assert exits[FAILED_LABEL].best_ms == 0  # a failure that may not be retried


def test_an_sla_gets_a_verdict_and_a_pass_count_per_cycle() -> None:
    text = "sla: 10m\n" + PAYMENT.read_text(encoding="utf-8")
    data = analysis_data(analyze(parse_definition(text)))
    assert data["sla"]["verdict"] == "can be missed"
    retry_loop = next(c for c in data["cycles"] if c["nodes"] == ["charge", "wait_and_retry"])
    assert "4 passes at worst miss the sla of 10m" in retry_loop["bound"]


def simulate(definition: Definition, scenario: Any, runs: int, seed: int = 0) -> Any:
    tables = build_tables(compile_definition(definition), scenario, MAX_STEPS)
    return native.simulate(tables, runs, seed, MAX_STEPS)


def outcome_name(definition: Definition, status: int, node: int) -> str | None:
    compiled = compile_definition(definition)
    return compiled.node_names[node] if status == Status.REACHED_LEAF else None


def assert_within_bounds(analysis: Analysis, definition: Definition, runs: Any) -> None:
    best, worst = analysis.best[definition.start], analysis.worst[definition.start]
    compiled = compile_definition(definition)
    for status, node, time in zip(runs.status, runs.end_node, runs.time_ms, strict=True):
        if status == Status.ADVANCED:
            continue
        outcome = compiled.node_names[node] if status == Status.REACHED_LEAF else None
        assert outcome in best, f"reached {outcome}, which the analysis says is unreachable"
        assert best[outcome] <= time <= worst[outcome], (outcome, time)


@settings(max_examples=60)
@given(data=st.data())
def test_no_run_leaves_the_computed_bounds(data: st.DataObject) -> None:
    definition = data.draw(definitions())
    assert_within_bounds(analyze(definition), definition,
                         simulate(definition, data.draw(scenarios(definition)), 500))


@settings(max_examples=60)
@given(definition=definitions())
def test_no_run_with_durations_at_their_maxima_exceeds_the_worst_case(
        definition: Definition) -> None:
    # Each attempt takes as long as it can and still complete: 1 ms short of its timeout.
    nodes = {name: {"duration": f"{max(node.timeout_ms - 1, 0)}ms",
                    **({} if node.manual else {"lost": 0.3, "fail": 0.2})}
             for name, node in definition.nodes.items() if not node.is_leaf}
    assert_within_bounds(analyze(definition), definition,
                         simulate(definition, scenario_from_data({"nodes": nodes}, definition),
                                  500))


def best_path(analysis: Analysis, start: str, outcome: str | None) -> list[tuple[str, Exit]]:
    """A least-time path to ``outcome``, fewest steps among equals (Bellman-Ford on pairs)."""
    cost: dict[str | None, tuple[float, int]] = {outcome: (0, 0)}
    choice: dict[str, Exit] = {}
    for _ in range(len(analysis.exits) + 1):
        for name, exits in analysis.exits.items():
            for exit_ in exits:
                if exit_.target in cost and (exit_.target is not None or outcome is None):
                    time, hops = cost[exit_.target]
                    candidate = (time + exit_.best_ms, hops + 1)
                    if name not in cost or candidate < cost[name]:
                        cost[name], choice[name] = candidate, exit_
    path: list[tuple[str, Exit]] = []
    at: str | None = start
    while at is not None and at in choice:
        path.append((at, choice[at]))
        if choice[at].target == outcome:
            break
        at = choice[at].target
    assert cost[start][0] == analysis.best[start][outcome]
    return path


def steering(definition: Definition, analysis: Analysis, outcome: str | None) -> dict[str, Any]:
    """A scenario that follows a best path to ``outcome`` with some probability per run."""
    nodes: dict[str, Any] = {}
    for name, exit_ in best_path(analysis, definition.start, outcome):
        node = definition.nodes[name]
        entry: dict[str, Any] = {"duration": "0ms"}
        if exit_.label in node.offered_labels:
            entry["labels"] = {exit_.label: 1}
        elif exit_.label == FAILED_LABEL:
            entry["permanent"] = 1
        else:  # the least timeout: earlier attempts fail at once, the last one is lost
            share = (node.attempts - 1) / node.attempts
            entry.update(fail=share, lost=1 - share)
        nodes[name] = entry
    return nodes


@settings(max_examples=60)
@given(definition=definitions(max_steps=4, max_attempts=2, jitter=False),
       pick=st.integers(0, 10))
def test_the_computed_best_case_is_reached_by_some_run(definition: Definition,
                                                        pick: int) -> None:
    analysis = analyze(definition)
    reachable = sorted(analysis.best[definition.start], key=str)
    outcome = reachable[pick % len(reachable)]
    scenario = scenario_from_data({"nodes": steering(definition, analysis, outcome)}, definition)
    runs = simulate(definition, scenario, 4_000)
    compiled = compile_definition(definition)
    hit = (runs.status == Status.LABEL_NOT_OFFERED) if outcome is None else (
        (runs.status == Status.REACHED_LEAF) & (runs.end_node == compiled.node_index[outcome]))
    assert hit.any(), f"no run reached {outcome}"
    assert int(np.min(runs.time_ms[hit])) == analysis.best[definition.start][outcome]


def test_the_least_time_to_a_timeout_route_is_reached_when_early_attempts_fail_fast() -> None:
    definition = parse_definition("""\
name: t
start: a
nodes:
  a: {operation: x, timeout: 10s, attempts: 3, backoff: 1s, on: {ok: a, timeout: out}}
  out: {}
""")
    analysis = analyze(definition)
    assert analysis.best["a"]["out"] == 2 * 1_000 + 10_000  # fail, fail, then the last is lost
    scenario = scenario_from_data({"nodes": {"a": {"fail": 0.5, "lost": 0.5}}}, definition)
    runs = simulate(definition, scenario, 2_000)
    at_out = runs.status == Status.REACHED_LEAF
    assert int(runs.time_ms[at_out].min()) == 12_000
    assert int(runs.time_ms[~at_out].min()) == 2_000  # retried failures, then a last one
    assert analysis.best["a"][None] == 0  # a failure that may not be retried, at once
    final = scenario_from_data({"nodes": {"a": {"permanent": 0.5, "lost": 0.5}}}, definition)
    runs = simulate(definition, final, 2_000)
    assert int(runs.time_ms[runs.status == Status.LABEL_NOT_OFFERED].min()) == 0
    assert analysis.worst["a"]["out"] == math.inf  # ok -> a can repeat without bound


def test_jitter_shortens_the_least_wait_and_never_the_largest() -> None:
    definition = parse_definition("""\
name: j
start: a
nodes:
  a: {operation: x, timeout: 10s, attempts: 3,
      backoff: {initial: 1s, multiplier: 2, jitter: 0.5}, on: {ok: a, timeout: out}}
  out: {}
""")
    analysis = analyze(definition)
    # Waits of 1s and 2s, each shortened by just under half: 501ms + 1001ms.
    assert analysis.best["a"]["out"] == 501 + 1_001 + 10_000
    exits = {e.label: e for e in step_exits(definition.nodes["a"])}
    assert exits[RESERVED_LABEL].worst_ms == 3 * 10_000 + 1_000 + 2_000
    scenario = scenario_from_data({"nodes": {"a": {"fail": 0.5, "lost": 0.5}}}, definition)
    runs = simulate(definition, scenario, 20_000)
    times = runs.time_ms[runs.status == Status.REACHED_LEAF]
    assert analysis.best["a"]["out"] <= int(times.min()) < 1_000 + 2_000 + 10_000
