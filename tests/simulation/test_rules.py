"""The engine's step rules, checked on hand-made cases with exact times in all three simulators."""

from __future__ import annotations

from textwrap import dedent
from typing import Any

import pytest

from relentless import compile_definition, parse_definition
from relentless.core.status import Status
from relentless.simulation import naive, native, reference
from relentless.simulation.runs import RunArrays
from relentless.simulation.scenario import parse_scenario
from relentless.simulation.tables import build_tables

WORK = """\
name: flow
start: work
nodes:
  work:
    operation: do_work
    timeout: 10s
    attempts: 3
    backoff: {{initial: 1s, multiplier: 2, max: 1500ms}}
    {extra}
    on:
      ok: done
      {routes}
  escalate:
    operation: look
    manual: true
    on:
      fixed: done
  done: {{}}
"""


def run_all(definition_text: str, scenario_text: str, runs: int = 50) -> list[RunArrays]:
    definition = parse_definition(dedent(definition_text))
    scenario = parse_scenario(dedent(scenario_text), definition)
    compiled = compile_definition(definition)
    tables = build_tables(compiled, scenario, 100)
    return [native.simulate(tables, runs, 9, 100), reference.simulate(tables, runs, 9, 100),
            naive.simulate(compiled, scenario, runs, 9, 100)]


def only(runs: RunArrays, field: str) -> Any:
    values = set(getattr(runs, field).tolist())
    assert len(values) == 1, f"{field} varies: {sorted(values)[:5]}"
    return values.pop()


def definition(extra: str = "", routes: str = "timeout: escalate") -> str:
    return WORK.format(extra=extra, routes=routes)


@pytest.mark.parametrize("index", [0, 1, 2], ids=["cython", "numpy", "python"])
def test_lost_attempts_use_every_attempt_and_backoff_then_take_timeout(index: int) -> None:
    runs = run_all(definition(), "nodes: {work: {lost: 1}, escalate: {duration: 1m}}")[index]
    # three attempts of 10s, waits of 1s then 1.5s (capped), then a person for a minute
    assert only(runs, "time_ms") == 30_000 + 1_000 + 1_500 + 60_000
    assert only(runs, "status") == Status.REACHED_LEAF
    assert runs.node_attempts[compile_definition(parse_definition(definition())).node_index[
        "work"]] == 3 * runs.runs


@pytest.mark.parametrize("index", [0, 1, 2], ids=["cython", "numpy", "python"])
def test_an_attempt_slower_than_its_timeout_expires(index: int) -> None:
    runs = run_all(definition(), "nodes: {work: {duration: 10s}, escalate: {duration: 0s}}")[index]
    assert only(runs, "time_ms") == 32_500
    fast = run_all(definition(), "nodes: {work: {duration: 9999ms}}")[index]
    assert only(fast, "time_ms") == 9_999


@pytest.mark.parametrize("index", [0, 1, 2], ids=["cython", "numpy", "python"])
def test_a_deadline_cuts_the_step_short_during_an_attempt_or_a_backoff(index: int) -> None:
    during = run_all(definition("deadline: 15s"), "nodes: {work: {lost: 1}}")[index]
    assert only(during, "time_ms") == 15_000
    # attempts end at 10s, the retry would be ready at 11s: the deadline at 10500ms wins
    waiting = run_all(definition("deadline: 10500ms"), "nodes: {work: {lost: 1}}")[index]
    assert only(waiting, "time_ms") == 10_500


@pytest.mark.parametrize("index", [0, 1, 2], ids=["cython", "numpy", "python"])
def test_a_timeout_without_a_route_is_an_incident(index: int) -> None:
    runs = run_all(definition(routes="later: escalate"), "nodes: {work: {lost: 1}}")[index]
    assert only(runs, "status") == Status.LABEL_NOT_OFFERED
    assert only(runs, "time_ms") == 32_500


@pytest.mark.parametrize("index", [0, 1, 2], ids=["cython", "numpy", "python"])
def test_failed_attempts_retry_after_backoff_and_give_up_with_failed_if_routed(
        index: int) -> None:
    unrouted = run_all(definition(), "nodes: {work: {fail: 1, duration: 2s}}")[index]
    assert only(unrouted, "status") == Status.LABEL_NOT_OFFERED
    assert only(unrouted, "time_ms") == 3 * 2_000 + 1_000 + 1_500
    routed = run_all(definition(routes="failed: escalate"),
                     "nodes: {work: {fail: 1, duration: 2s}, escalate: {duration: 1s}}")[index]
    assert only(routed, "status") == Status.REACHED_LEAF
    assert only(routed, "time_ms") == 8_500 + 1_000


@pytest.mark.parametrize("index", [0, 1, 2], ids=["cython", "numpy", "python"])
def test_a_manual_step_never_expires_but_its_deadline_ends_it(index: int) -> None:
    text = definition(routes="timeout: escalate\n      wait: escalate")
    slow = run_all(text, "nodes: {work: {labels: {wait: 1}}, escalate: {duration: 30d}}")[index]
    assert only(slow, "time_ms") == 30 * 86_400_000
    bounded = text.replace("manual: true", "manual: true\n    deadline: 1h")
    cut = run_all(bounded, "nodes: {work: {labels: {wait: 1}}, escalate: {duration: 30d}}")
    assert only(cut[index], "status") == Status.LABEL_NOT_OFFERED  # escalate has no timeout route


@pytest.mark.parametrize("index", [0, 1, 2], ids=["cython", "numpy", "python"])
def test_a_run_that_loops_past_max_steps_is_unfinished(index: int) -> None:
    text = """\
    name: loop
    start: a
    nodes:
      a: {operation: x, on: {again: b, out: done}}
      b: {operation: y, on: {again: a}}
      done: {}
    """
    runs = run_all(text, "nodes: {a: {labels: {again: 1}, duration: 1s}}")[index]
    assert only(runs, "status") == Status.ADVANCED
    assert only(runs, "steps") == 100
    assert only(runs, "time_ms") == 50_000
