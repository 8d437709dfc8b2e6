"""Kernel throughput in one process: ``python -m bench.kernel [--json]``.

Measures every implementation at every batch size on the same rows, so the ratios
come from one run on one (possibly noisy) machine. Each figure is the best of
several repeats, each repeat long enough (>= 0.2 s) to swamp timer resolution.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import timeit
from collections.abc import Callable
from typing import Any

from bench import workload

REPEATS = 5


def seconds_per_call(call: Callable[[], object], repeats: int = REPEATS) -> float:
    """Best time of one call over ``repeats`` runs of an auto-sized loop."""
    timer = timeit.Timer(call)
    loops, _ = timer.autorange()
    loops = max(1, loops)
    return min(timer.repeat(repeat=repeats, number=loops)) / loops


def measure(sizes: tuple[int, ...] = workload.BATCH_SIZES) -> dict[str, Any]:
    compiled = workload.definitions()
    tables = workload.tables(compiled)
    per_call: dict[str, dict[str, float]] = {}
    for name, advance in workload.implementations(compiled).items():
        per_call[name] = {}
        for rows in sizes:
            batch = workload.batch(compiled, rows)
            arguments = (tables, batch.def_ids, batch.nodes, batch.labels,
                         batch.out_next, batch.out_status)
            repeats = REPEATS if name != "dict" or rows < 100_000 else 2
            per_call[name][str(rows)] = seconds_per_call(lambda a=advance, x=arguments: a(*x),
                                                         repeats)
    return {
        "workload": {"definitions": workload.DEFINITIONS, "nodes": workload.NODES,
                     "labels": workload.LABELS},
        "transitions_per_s": {
            name: {rows: int(int(rows) / seconds) for rows, seconds in times.items()}
            for name, times in per_call.items()
        },
        "ratio_cython_numpy": {
            rows: round(per_call["numpy"][rows] / per_call["cython"][rows], 2)
            for rows in per_call["cython"]
        },
        "ratio_cython_dict": {
            rows: round(per_call["dict"][rows] / per_call["cython"][rows], 2)
            for rows in per_call["cython"]
        },
        "call_us_batch1": round(per_call["cython"]["1"] * 1e6, 4),
        "machine": {"python": sys.version.split()[0], "processor": platform.machine()},
    }


def _table(result: dict[str, Any]) -> str:
    rates = result["transitions_per_s"]
    sizes = list(rates["cython"])
    lines = ["transitions per second (best of repeats)",
             f"{'implementation':<16}" + "".join(f"{rows:>16}" for rows in sizes)]
    lines.extend(f"{name:<16}" + "".join(f"{rates[name][rows]:>16,}" for rows in sizes)
                 for name in rates)
    lines.append(f"{'cython / numpy':<16}" + "".join(
        f"{result['ratio_cython_numpy'][rows]:>15}x" for rows in sizes))
    lines.append(f"{'cython / dict':<16}" + "".join(
        f"{result['ratio_cython_dict'][rows]:>15}x" for rows in sizes))
    lines.append(f"one kernel call with a batch of 1: {result['call_us_batch1']} us")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kernel", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    arguments = parser.parse_args(argv)
    result = measure()
    print(json.dumps(result, indent=2) if arguments.json else _table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
