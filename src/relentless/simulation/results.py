"""From per-run arrays to what an operator reads: outcome shares, quantiles, SLA risk.

Shares carry a 95% interval (Wilson), so that a reader sees how much the run count
limits them; quantiles are of the simulated runs themselves (inverted CDF, no
interpolation), in milliseconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from relentless.core.compiler import CompiledDefinition
from relentless.core.status import Status
from relentless.simulation.runs import RunArrays

QUANTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99.9": 99.9}
Z_95 = 1.959963984540054
INCIDENT = "incident"
UNFINISHED = "unfinished"


def share(count: int, total: int) -> dict[str, Any]:
    """``count`` of ``total`` as a share with its 95% Wilson interval."""
    if total == 0:
        return {"runs": count, "share": 0.0, "ci95": [0.0, 1.0]}
    p = count / total
    centre = (p + Z_95**2 / (2 * total)) / (1 + Z_95**2 / total)
    half = Z_95 * math.sqrt(p * (1 - p) / total + Z_95**2 / (4 * total**2)) / (1 + Z_95**2 / total)
    return {"runs": count, "share": p, "ci95": [max(0.0, centre - half), min(1.0, centre + half)]}


def quantiles(values: npt.NDArray[np.int64] | npt.NDArray[np.int32]) -> dict[str, int] | None:
    """p50, p90, p99, p99.9 and max of ``values``, or None when there are none."""
    if values.size == 0:
        return None
    found = np.percentile(values, list(QUANTILES.values()), method="inverted_cdf")
    summary = {name: int(value) for name, value in zip(QUANTILES, found, strict=True)}
    summary["max"] = int(values.max())
    return summary


def summarise(runs: RunArrays, compiled: CompiledDefinition,
              sla_ms: int | None) -> dict[str, Any]:
    """Everything ``relentless simulate`` reports, as plain data (``--json`` prints it)."""
    total = runs.runs
    at_leaf = runs.status == Status.REACHED_LEAF
    outcomes: dict[str, Any] = {}
    for leaf in compiled.definition.leaves:
        here = at_leaf & (runs.end_node == compiled.node_index[leaf])
        outcomes[leaf] = {**share(int(here.sum()), total), "time_ms": quantiles(runs.time_ms[here])}
    incident = runs.status == Status.LABEL_NOT_OFFERED
    where = np.bincount(runs.end_node[incident], minlength=len(compiled.node_names))
    outcomes[INCIDENT] = {**share(int(incident.sum()), total),
                          "time_ms": quantiles(runs.time_ms[incident]),
                          "at": {compiled.node_names[i]: int(n) for i, n in enumerate(where) if n}}
    unfinished = runs.status == Status.ADVANCED
    outcomes[UNFINISHED] = share(int(unfinished.sum()), total)
    return {
        "definition": compiled.name,
        "runs": total,
        "total_steps": runs.total_steps,
        "outcomes": outcomes,
        "time_to_leaf_ms": quantiles(runs.time_ms[at_leaf]),
        "steps": quantiles(runs.steps),
        "sla": _sla(runs, at_leaf, sla_ms),
        "nodes": _nodes(runs, compiled),
    }


def _sla(runs: RunArrays, at_leaf: npt.NDArray[np.bool_], sla_ms: int | None) -> Any:
    """Runs that miss the SLA: late at a leaf, or not at a leaf (an incident needs a person)."""
    if sla_ms is None:
        return None
    late = at_leaf & (runs.time_ms > sla_ms)
    missed = int(late.sum()) + int((~at_leaf).sum())
    return {"sla_ms": sla_ms, "miss": share(missed, runs.runs),
            "late_at_leaf": share(int(late.sum()), runs.runs)}


def _nodes(runs: RunArrays, compiled: CompiledDefinition) -> dict[str, Any]:
    """Where the time goes: each step node's share of all simulated time, largest first."""
    spent = int(runs.node_time_ms.sum())
    per_node = {}
    for index in np.argsort(-runs.node_time_ms, kind="stable"):
        visits = int(runs.node_visits[index])
        if not visits:
            continue
        per_node[compiled.node_names[index]] = {
            "time_share": int(runs.node_time_ms[index]) / spent if spent else 0.0,
            "visits_per_run": visits / runs.runs,
            "attempts_per_visit": int(runs.node_attempts[index]) / visits,
            "mean_ms_per_visit": int(runs.node_time_ms[index]) / visits,
        }
    return per_node
