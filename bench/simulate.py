"""Simulation throughput: ``python -m bench.simulate [--json]``.

Simulated steps per second of the Cython loop on one and two threads, its NumPy twin
and the naive Python walk, on the payment example and on a 50-node definition with
cycles whose attempts take empirical (histogram) durations; and the wall time of
1,000,000 runs of payment. Ratios come from the same process, at each
implementation's largest run count (the Python walk and NumPy stop earlier: at the
Cython loop's largest count they would take minutes). Each figure is the best of a
few repeats.

Why that is fair: the Python walk's rate does not depend on the run count (one run at
a time, nothing grows; 1,000 and 10,000 runs give the same rate), so 10,000 runs
measure what 10,000,000 would. The NumPy twin is vectorised over runs, and one call
over 10,000,000 lanes is memory-bound (about 40% slower per step than 1,000,000); run
as 10,000,000 runs it would be called in chunks of 1,000,000 (``first_run``), which is
the figure taken, so NumPy is measured at its better rate, not crippled.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from relentless import CompiledDefinition, compile_definition, definition_from_data
from relentless.core.reader import load_definition
from relentless.simulation import naive, native, reference
from relentless.simulation.runs import RunArrays
from relentless.simulation.scenario import Scenario, load_scenario, scenario_from_data
from relentless.simulation.tables import SimulationTables, build_tables

ROOT = Path(__file__).resolve().parents[1]
MAX_STEPS = 10_000
RUNS = {"cython_1": (1_000, 100_000, 10_000_000), "cython_2": (1_000, 100_000, 10_000_000),
        "numpy": (1_000, 100_000, 1_000_000), "python": (1_000, 10_000)}
NODES = 50
HISTOGRAM = {"edges": [f"{ms}ms" for ms in (0, 50, 100, 150, 200, 300, 400, 500, 700, 1000,
                                             1500, 2000, 3000, 5000, 8000, 13000, 30000)],
             "counts": [5, 40, 120, 200, 260, 180, 90, 50, 30, 15, 8, 4, 3, 2, 1, 1]}


def cyclic_definition(nodes: int = NODES) -> dict[str, Any]:
    """``nodes`` steps in a chain with loops back, self-loops and early exits to two leaves."""
    spec: dict[str, Any] = {}
    for i in range(nodes):
        forward = f"n{i + 1}" if i + 1 < nodes else "finished"
        spec[f"n{i}"] = {"operation": f"op{i % 7}", "on": {
            "ok": forward, "back": f"n{max(i - 3, 0)}", "again": f"n{i}",
            "finish": "finished", "abandon": "abandoned", "timeout": "abandoned"}}
    spec.update(finished={}, abandoned={})
    return {"name": "cycles50", "start": "n0", "defaults": {"timeout": "30s", "attempts": 3,
            "backoff": {"initial": "1s", "multiplier": 2, "max": "10s"}}, "nodes": spec}


def cyclic_scenario(definition: Any) -> Scenario:
    nodes = {name: {"labels": {"ok": 60, "back": 20, "again": 10, "finish": 7, "abandon": 3},
                    "duration": {"histogram": HISTOGRAM}, "fail": 0.01, "lost": 0.005}
             for name in definition.nodes if not definition.nodes[name].is_leaf}
    return scenario_from_data({"nodes": nodes}, definition)


def workloads() -> dict[str, tuple[CompiledDefinition, Scenario, SimulationTables]]:
    payment = load_definition(ROOT / "examples" / "payment.yaml")
    cycles = definition_from_data(cyclic_definition())
    cases = {"payment": (payment, load_scenario(ROOT / "docs" / "examples" /
                                                "payment-scenario.yaml", payment)),
             "cycles50": (cycles, cyclic_scenario(cycles))}
    result = {}
    for name, (definition, scenario) in cases.items():
        compiled = compile_definition(definition)
        result[name] = (compiled, scenario, build_tables(compiled, scenario, MAX_STEPS))
    return result


def runner(implementation: str, compiled: CompiledDefinition, scenario: Scenario,
           tables: SimulationTables) -> Callable[[int], RunArrays]:
    """A call that simulates ``runs`` runs with ``implementation``."""
    if implementation == "python":
        return lambda runs: naive.simulate(compiled, scenario, runs, 1, MAX_STEPS)
    if implementation == "numpy":
        return lambda runs: reference.simulate(tables, runs, 1, MAX_STEPS)
    threads = int(implementation[-1])
    return lambda runs: native.simulate(tables, runs, 1, MAX_STEPS, threads=threads)


def best_time(call: Callable[[], RunArrays], budget_s: float = 1.0) -> tuple[float, int]:
    """Best wall time over repeats that fit in ``budget_s`` (at least two), and the steps."""
    best, steps, spent, repeats = float("inf"), 0, 0.0, 0
    while repeats < 2 or (spent < budget_s and repeats < 5):
        started = time.perf_counter()
        steps = call().total_steps
        elapsed = time.perf_counter() - started
        best, spent, repeats = min(best, elapsed), spent + elapsed, repeats + 1
    return best, steps


def measure() -> dict[str, Any]:
    cases = workloads()
    rates: dict[str, dict[str, dict[str, int]]] = {}
    for workload, case in cases.items():
        for implementation, counts in RUNS.items():
            run = runner(implementation, *case)
            for runs in counts:
                seconds, steps = best_time(lambda r=run, n=runs: r(n))  # type: ignore[misc]
                rates.setdefault(implementation, {}).setdefault(workload, {})[str(runs)] = int(
                    steps / seconds)
    largest = {name: rates[name]["cycles50"][str(counts[-1])] for name, counts in RUNS.items()}
    payment = runner("cython_2", *cases["payment"])
    payment_seconds, _ = best_time(lambda: payment(1_000_000))
    return {
        "steps_per_s": largest,
        "ratio_cython_numpy": round(largest["cython_1"] / largest["numpy"], 1),
        "ratio_cython_python": round(largest["cython_1"] / largest["python"], 1),
        "ratio_threads": round(largest["cython_2"] / largest["cython_1"], 2),
        "payment_1m_seconds": round(payment_seconds, 4),
        "steps_per_s_by_workload_and_runs": rates,
        "workload": {"largest_runs": {name: counts[-1] for name, counts in RUNS.items()},
                     "steps_per_s_is_for": "cycles50 (50 nodes, cycles, histogram durations)"},
        "machine": {"python": sys.version.split()[0], "processor": platform.machine()},
    }


def _table(result: dict[str, Any]) -> str:
    lines = ["simulated steps per second (best of repeats)"]
    for implementation, workloads_ in result["steps_per_s_by_workload_and_runs"].items():
        for workload, by_runs in workloads_.items():
            cells = "  ".join(f"{runs:>10} runs {rate:>14,}" for runs, rate in by_runs.items())
            lines.append(f"{implementation:<10}{workload:<10}{cells}")
    lines.append(f"cython / numpy {result['ratio_cython_numpy']}x, cython / python "
                 f"{result['ratio_cython_python']}x, two threads / one "
                 f"{result['ratio_threads']}x")
    lines.append(f"1,000,000 runs of payment: {result['payment_1m_seconds']} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.simulate", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    arguments = parser.parse_args(argv)
    result = measure()
    print(json.dumps(result, indent=2) if arguments.json else _table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
