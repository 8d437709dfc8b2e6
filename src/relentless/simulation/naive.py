"""The obviously-correct simulator: one run at a time, walking the Definition itself.

It reads the definition's nodes and edges and calls ``Backoff.delay_ms`` directly,
never the compiled tables, so that a mistake in building or reading the tables shows
up as a difference. It is slow on purpose; the tests and benchmarks compare with it.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from relentless.core.compiler import CompiledDefinition
from relentless.core.definition import RESERVED_LABEL, Node
from relentless.core.status import Status
from relentless.simulation import rules
from relentless.simulation.rules import AttemptEnd
from relentless.simulation.runs import RunArrays, empty_runs
from relentless.simulation.scenario import Scenario, StepScenario
from relentless.simulation.streams import Draws, Xoshiro

StreamFactory = Callable[[int], Draws]
"""The draws of one run, given its index."""


class IndependentDraws:
    """Uniforms from Python's Mersenne Twister: a stream unrelated to the simulators'."""

    def __init__(self, generator: random.Random) -> None:
        self._random = generator.random

    def attempt(self) -> tuple[float, float, float]:
        return self._random(), self._random(), self._random()


def simulate(compiled: CompiledDefinition, scenario: Scenario, runs: int, seed: int,
             max_steps: int, streams: StreamFactory | None = None) -> RunArrays:
    """``runs`` runs from the start node; ``streams`` defaults to the shared xoshiro streams."""
    make = streams or (lambda run: Xoshiro(seed, run))
    out = empty_runs(runs, len(compiled.node_names))
    for run in range(runs):
        _one_run(compiled, scenario, max_steps, make(run), out, run)
    return out


def _one_run(compiled: CompiledDefinition, scenario: Scenario, max_steps: int,
             draws: Draws, out: RunArrays, run: int) -> None:
    nodes = compiled.definition.nodes
    name, now, steps, status = compiled.definition.start, 0, 0, Status.ADVANCED
    while True:
        node = nodes[name]
        label, ended, attempts = _step(node, scenario.steps[name], now, draws)
        index = compiled.node_index[name]
        out.node_time_ms[index] += ended - now
        out.node_visits[index] += 1
        out.node_attempts[index] += attempts
        now, steps = ended, steps + 1
        if label is None or label not in node.on:
            status = Status.LABEL_NOT_OFFERED
            break
        name = node.on[label]
        if nodes[name].is_leaf:
            status = Status.REACHED_LEAF
            break
        if steps >= max_steps:
            break
    out.end_node[run] = compiled.node_index[name]
    out.status[run] = status
    out.time_ms[run] = now
    out.steps[run] = steps


def _step(node: Node, step: StepScenario, started: int,
          draws: Draws) -> tuple[str | None, int, int]:
    """The label a step at ``node`` ends with (None: no route possible), when, and attempts."""
    deadline = started + node.deadline_ms if node.deadline_ms is not None else None
    ready, attempt = started, 1
    while True:
        outcome, label_draw, duration_draw = draws.attempt()
        duration = step.duration.sample(duration_draw)
        if node.manual:
            end = AttemptEnd.COMPLETED
            finished = ready + duration
        else:
            end = rules.attempt_end(outcome < step.fail_below,
                                    step.fail_below <= outcome < step.lost_below, duration,
                                    node.timeout_ms, outcome < step.permanent_below)
            finished = ready + (node.timeout_ms if end is AttemptEnd.EXPIRED else duration)
        if deadline is not None and finished >= deadline:
            return RESERVED_LABEL, deadline, attempt
        if end is AttemptEnd.COMPLETED:
            return _label(step, label_draw), finished, attempt
        if attempt >= node.attempts or end is AttemptEnd.FAILED_PERMANENTLY:
            return _give_up(node, end), finished, attempt
        # The label draw is unused by an attempt that did not complete: it jitters the wait.
        ready = finished + node.backoff.jittered_ms(node.backoff.delay_ms(attempt), label_draw)
        if deadline is not None and ready >= deadline:
            return RESERVED_LABEL, deadline, attempt
        attempt += 1


def _give_up(node: Node, end: AttemptEnd) -> str | None:
    if end is AttemptEnd.EXPIRED:
        return RESERVED_LABEL
    return rules.FAILED_LABEL if rules.routes_failed(node) else None


def _label(step: StepScenario, u: float) -> str:
    """The label whose share of [0, 1) holds ``u``, in the scenario's order."""
    start = 0.0
    chosen = next(iter(step.labels))
    for label, probability in step.labels.items():
        if start <= u:
            chosen = label
        start += probability
    return chosen
