"""An explicit-state model checker: every interleaving, breadth first, every invariant.

``python -m spec.check`` explores the configurations with the correct rules, then
runs each mutant and expects a counterexample. ``--json`` prints one JSON object.
``--coverage`` prints how often each branch of the rules was taken, and fails when
one never was.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from spec.actions import Action, Publish, Start
from spec.answers import describe as describe_answer
from spec.configurations import Configuration, configurations, enabled
from spec.coverage import BRANCHES, Tally, table, unreached
from spec.invariants import catalogue, state_violation, transition_violation
from spec.mutants import MUTANTS
from spec.rules import Rules
from spec.state import State

Step = tuple[Action[object], object]
"""One step of a trace: the action and the answer it got."""


@dataclass(frozen=True, slots=True)
class Counterexample:
    """The shortest trace found to a broken invariant."""

    invariant: str
    problem: str
    trace: tuple[Step, ...]
    state: State

    def render(self) -> str:
        """The trace as numbered lines a person can replay."""
        lines = [f"invariant {self.invariant} broken: {self.problem}", "trace:"]
        for number, (action, answer) in enumerate(self.trace, start=1):
            lines.append(f"  {number:>2}. {action} -> {describe_answer(answer)}")
        lines.append("final state:")
        lines.extend(f"    {line}" for line in describe(self.state))
        return "\n".join(lines)


@dataclass(slots=True)
class Exploration:
    """What one run of the checker saw."""

    configuration: str
    rules: str
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    counterexample: Counterexample | None = None
    bounds: dict[str, object] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)


def describe(state: State) -> list[str]:
    """A compact picture of a state: the time, each workflow, each job."""
    lines = [f"clock {state.clock}"]
    for w in state.store.workflows:
        path = " ".join(f"-{t.label or 'move'}-> {t.target}" for t in w.history)
        lines.append(f"workflow {w.id} {w.status} at {w.node} step {w.step}: start {path}")
    for j in state.store.jobs:
        lease = f" held by {j.holder} until {j.expires_at}" if j.holder else ""
        lines.append(
            f"job {j.id} wf {j.workflow} step {j.step} attempt {j.attempt} {j.state}{lease}"
        )
    return lines


def initial_state(config: Configuration, rules: Rules) -> State:
    """The system with the configuration's definitions published and workflows started."""
    state = State()
    for graph in config.graphs:
        state, _ = Publish(graph).apply(rules, state)
    for key in config.started:
        state, _ = Start(config.graphs[0].name, key=key).apply(rules, state)
    return state


Parents = dict[State, tuple[State, Action[object], object] | None]


def _trace(parents: Parents, state: State) -> tuple[Step, ...]:
    steps: list[Step] = []
    link = parents[state]
    while link is not None:
        before, action, answer = link
        steps.append((action, answer))
        link = parents[before]
    return tuple(reversed(steps))


def _successor(
    rules: Rules, state: State, action: Action[object]
) -> tuple[State, object, tuple[str, str] | None]:
    try:
        after, answer = action.apply(rules, state)
    except Exception as error:  # a model that raises is a finding, not a crash
        return state, error, ("model_raised", f"{type(error).__name__}: {error}")
    return after, answer, transition_violation(state, action, answer, after)


def explore(
    config: Configuration, rules: Rules | None = None, limit: int | None = None
) -> Exploration:
    """Breadth-first search of ``config`` under ``rules``; stops at the first violation
    (or, with ``limit``, once that many states are known: a shallow first look)."""
    rules = rules if rules is not None else Rules()
    began = time.perf_counter()
    result = Exploration(config.name, type(rules).__name__, bounds=config.describe())
    start = initial_state(config, rules)
    parents: Parents = {start: None}
    frontier: deque[tuple[State, int]] = deque([(start, 0)])
    result.counterexample = _check_state(parents, start, None)
    while frontier and result.counterexample is None:
        if limit is not None and len(parents) >= limit:
            break
        state, depth = frontier.popleft()
        result.depth = max(result.depth, depth)
        if not config.within_bounds(state):
            continue
        for action in enabled(config, state):
            result.transitions += 1
            after, answer, broken = _successor(rules, state, action)
            if broken is None and after in parents:
                continue
            parents.setdefault(after, (state, action, answer))
            found = _check_state(parents, after, broken, (state, action, answer))
            if found is not None:
                result.counterexample = found
                break
            frontier.append((after, depth + 1))
    result.states = len(parents)
    result.seconds = time.perf_counter() - began
    result.tally = rules.tally
    return result


def _check_state(
    parents: Parents,
    state: State,
    broken: tuple[str, str] | None,
    last: tuple[State, Action[object], object] | None = None,
) -> Counterexample | None:
    """A counterexample ending in ``state``, reached by ``last``, if anything broke."""
    broken = broken or state_violation(state)
    if broken is None:
        return None
    trace: tuple[Step, ...] = ()
    if last is not None:
        before, action, answer = last
        trace = (*_trace(parents, before), (action, answer))
    return Counterexample(broken[0], broken[1], trace, state)


@dataclass(slots=True)
class Report:
    """The whole run: the correct rules on every configuration, then every mutant."""

    explorations: list[Exploration]
    mutants: list[Exploration]
    seconds: float

    @property
    def coverage(self) -> dict[str, int]:
        """Every registered branch, with how often the correct rules took it."""
        return table(e.tally for e in self.explorations)

    def as_json(self) -> dict[str, object]:
        """The machine-readable summary (``--json``)."""
        coverage = self.coverage
        return {
            "configurations": [_exploration_json(e) for e in self.explorations],
            "states_explored": sum(e.states for e in self.explorations),
            "transitions_explored": sum(e.transitions for e in self.explorations),
            "invariants": [i.name for i in catalogue()],
            "violations": sum(e.counterexample is not None for e in self.explorations),
            "mutants": {
                "caught": sum(m.counterexample is not None for m in self.mutants),
                "total": len(self.mutants),
                "results": [_mutant_json(m) for m in self.mutants],
            },
            "seconds": round(self.seconds, 2),
            "coverage": coverage,
            "unreached": unreached(coverage),
        }


def _exploration_json(exploration: Exploration) -> dict[str, object]:
    return {
        **exploration.bounds,
        "states": exploration.states,
        "transitions": exploration.transitions,
        "depth": exploration.depth,
        "seconds": round(exploration.seconds, 2),
    }


def _mutant_json(exploration: Exploration) -> dict[str, object]:
    found = exploration.counterexample
    return {
        "mutant": exploration.rules,
        "caught": found is not None,
        "configuration": exploration.configuration,
        "invariant": found.invariant if found else None,
        "trace_length": len(found.trace) if found else None,
        "states": exploration.states,
        "seconds": round(exploration.seconds, 2),
    }


SHALLOW = 2_000
"""States per world in a hunt's first, shallow pass: most mutants break an invariant
within a few steps, in whichever world exercises their rule."""


def hunt(rules: Rules, worlds: Sequence[Configuration]) -> Exploration:
    """Explore the worlds in turn until one shows a counterexample: first the shallow
    part of every world (breadth first, so still the shortest trace there), then each
    world whole."""
    began = time.perf_counter()
    result = Exploration(worlds[0].name, type(rules).__name__)
    for limit in (SHALLOW, None):
        for config in worlds:
            result = explore(config, rules, limit)
            if result.counterexample is not None:
                result.seconds = time.perf_counter() - began
                return result
    result.seconds = time.perf_counter() - began
    return result


def run(scope: str = "full", mutants: bool = True) -> Report:
    """Check the correct rules everywhere, then hunt every mutant."""
    began = time.perf_counter()
    worlds = configurations(scope)
    explorations = [explore(config) for config in worlds]
    # Small worlds first: most mutants fall there in a fraction of the time, and a
    # small world is a part of the full one, so a catch there is a catch here.
    grounds = worlds if scope == "small" else (*configurations("small"), *worlds)
    hunted = [hunt(mutant(), grounds) for mutant in MUTANTS] if mutants else []
    return Report(explorations, hunted, time.perf_counter() - began)


def _print_coverage(report: Report) -> None:
    print("\ncoverage (correct rules, every configuration):")
    for name, count in report.coverage.items():
        mark = "" if count else "   <- NEVER REACHED"
        print(f"  {name:<34} {count:>9}  {BRANCHES[name]}{mark}")


def _print_text(report: Report) -> None:
    for e in report.explorations:
        verdict = "ok" if e.counterexample is None else "VIOLATION"
        print(f"{e.configuration}: {e.states} states, {e.transitions} transitions, "
              f"depth {e.depth}, {e.seconds:.1f}s: {verdict}")  # fmt: skip
        if e.counterexample is not None:
            print(e.counterexample.render())
    print(f"invariants: {', '.join(i.name for i in catalogue())}")
    for m in report.mutants:
        found = m.counterexample
        status = f"caught by {found.invariant} in {len(found.trace)} steps" if found else "MISSED"
        print(f"\nmutant {m.rules}: {status}")
        if found is not None:
            print(found.render())
    summary = report.as_json()
    caught = sum(m.counterexample is not None for m in report.mutants)
    print(f"\nstates explored: {summary['states_explored']}, "
          f"violations: {summary['violations']}, "
          f"mutants caught: {caught}/{len(report.mutants)}, {report.seconds:.1f}s")  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m spec.check", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--scope", choices=("small", "full"), default="full")
    parser.add_argument("--no-mutants", action="store_true", help="skip the mutants")
    parser.add_argument(
        "--coverage", action="store_true", help="print the branch table; fail on a gap"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checker; exit 1 on a violation or a missed mutant."""
    args = _parser().parse_args(argv)
    report = run(args.scope, mutants=not args.no_mutants)
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        _print_text(report)
        if args.coverage:
            _print_coverage(report)
    violated = any(e.counterexample is not None for e in report.explorations)
    missed = any(m.counterexample is None for m in report.mutants)
    gaps = args.coverage and bool(unreached(report.coverage))
    return 1 if violated or missed or gaps else 0


if __name__ == "__main__":
    sys.exit(main())
