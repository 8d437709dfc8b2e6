"""``--compare``: every system in turn, interleaved over rounds, on the same server.

Each round visits every system once, in an order rotated by one each round, so that
no system always runs right after the same neighbour (whose dead rows, checkpoints
and warm caches it would inherit) and slow drift of a shared machine falls on all of
them alike. A system runs at its own best settings for this machine (its module's
``tuned``), with the same workload: the same workflows, steps and durability.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from bench.e2e import runs
from bench.e2e.runs import Outcome
from bench.e2e.samples import spread
from bench.e2e.systems import load
from bench.e2e.trial import Trial

Announce = Callable[[str, Trial], runs.Progress]
"""Told a run is about to start (a label and its trial); returns its progress callback."""


def rotated(systems: list[str], round_number: int) -> list[str]:
    """``systems`` starting from a different one each round."""
    shift = round_number % len(systems)
    return systems[shift:] + systems[:shift]


async def compare(server_dsn: str, base: Trial, systems: list[str], rounds: int,
                  announce: Announce) -> dict[str, Any]:
    """Run every system ``rounds`` times; the "systems" and "ratios" parts of the result."""
    outcomes: dict[str, list[Outcome]] = {system: [] for system in systems}
    trials = {system: load(system).tuned(base.but(system=system)) for system in systems}
    for round_number in range(rounds):
        for system in rotated(systems, round_number):
            label = f"round {round_number + 1}/{rounds} {system}"
            outcomes[system].append(
                await runs.run(server_dsn, trials[system], announce(label, trials[system])))
    described = {system: describe(trials[system], outcomes[system]) for system in systems}
    return {"systems": described, "ratios": ratios(described)}


def describe(trial: Trial, outcomes: list[Outcome]) -> dict[str, Any]:
    """One system's figures over its rounds, with the settings it ran with."""
    return {
        "steps_per_s": spread([o.steps_per_s for o in outcomes]),
        "workflows_per_s": spread([o.as_dict()["workflows_per_s"] for o in outcomes]),
        "lease_ms": _median_percentiles([o.as_dict()["lease_ms"] for o in outcomes]),
        "round_trip_ms": _median_percentiles([o.as_dict()["round_trip_ms"] for o in outcomes]),
        "complete": all(o.complete for o in outcomes),
        "capped_rounds": sum(o.capped for o in outcomes),
        "settings": {"workers": trial.workers, "batch": trial.batch,
                     "workflows": trial.workflows, "steps": trial.steps,
                     **load(trial.system).settings(trial)},
        "runs": [o.as_dict() for o in outcomes],
    }


def ratios(described: dict[str, Any]) -> dict[str, float]:
    """Relentless's median steps/s over each peer's median, measured in the same run."""
    if "relentless" not in described:
        return {}
    ours = described["relentless"]["steps_per_s"]["median"]
    return {name: round(ours / figures["steps_per_s"]["median"], 2)
            for name, figures in described.items()
            if name != "relentless" and figures["steps_per_s"]["median"] > 0}


def _median_percentiles(items: list[dict[str, Any]]) -> dict[str, float | None]:
    """The median over rounds of each round's p50 and p99."""
    result: dict[str, float | None] = {}
    for key in ("p50", "p99"):
        values = [item[key] for item in items if item[key] is not None]
        result[key] = round(statistics.median(values), 2) if values else None
    return result
