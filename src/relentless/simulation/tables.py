"""A compiled definition and a scenario as flat arrays: what the Cython and NumPy loops read.

The transition table and leaf flags are the engine's own packed tables
(:func:`relentless.core.registry.pack`); beside them sit per-node arrays (timeouts,
attempts, deadlines, failure thresholds, backoff jitter) and flat arrays with per-node offsets
(retry delays, label segments, duration segments). Every array is read-only and
C-contiguous, with the dtypes engine_ext/simulate.pyx checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from relentless.core.compiler import CompiledDefinition
from relentless.core.registry import PackedTables, pack
from relentless.simulation import rules
from relentless.simulation.rules import NEVER_MS, TooLongToSimulate
from relentless.simulation.scenario import Scenario

DEFINITION_ID = 0
"""The simulated definition is the only one in its packed tables."""


@dataclass(frozen=True, slots=True)
class SimulationTables:
    """Everything the simulation loop reads, for one definition under one scenario."""

    packed: PackedTables
    definition_id: int
    start: int
    failed_label: int
    timeout_ms: npt.NDArray[np.int64]
    attempts: npt.NDArray[np.int32]
    deadline_ms: npt.NDArray[np.int64]
    backoff_offset: npt.NDArray[np.int64]
    backoff_count: npt.NDArray[np.int32]
    backoff_ms: npt.NDArray[np.int64]
    permanent_below: npt.NDArray[np.float64]
    fail_below: npt.NDArray[np.float64]
    lost_below: npt.NDArray[np.float64]
    jitter: npt.NDArray[np.float64]
    label_offset: npt.NDArray[np.int64]
    label_count: npt.NDArray[np.int32]
    label_start: npt.NDArray[np.float64]
    label_id: npt.NDArray[np.int32]
    duration_offset: npt.NDArray[np.int64]
    duration_count: npt.NDArray[np.int32]
    duration_start: npt.NDArray[np.float64]
    duration_value: npt.NDArray[np.float64]
    duration_slope: npt.NDArray[np.float64]

    @property
    def node_count(self) -> int:
        return int(self.packed.node_count[self.definition_id])

    @property
    def width(self) -> int:
        """Labels per row of the transition table."""
        return int(self.packed.label_count[self.definition_id])


def build_tables(compiled: CompiledDefinition, scenario: Scenario,
                 max_steps: int) -> SimulationTables:
    """Arrays for ``compiled`` under ``scenario``; refuses what the 64-bit clock cannot hold."""
    definition = compiled.definition
    columns: dict[str, list[Any]] = {name: [] for name in _PER_NODE}
    flat: dict[str, list[Any]] = {name: [] for name in _FLAT}
    longest_step = 0
    for name in compiled.node_names:
        node = definition.nodes[name]
        step = scenario.steps.get(name)
        if node.is_leaf or step is None:
            _leaf_row(columns, flat)
            continue
        delays = rules.backoff_delays(node.backoff, node.attempts - 1) if not node.manual else []
        manual_bound = max(step.duration.maximum_ms, node.deadline_ms or 0)
        timeout = NEVER_MS if node.manual else node.timeout_ms
        columns["timeout_ms"].append(timeout)
        columns["attempts"].append(1 if node.manual else node.attempts)
        columns["deadline_ms"].append(NEVER_MS if node.deadline_ms is None else node.deadline_ms)
        _extend(columns, flat, "backoff", [delays], ("ms",))
        columns["permanent_below"].append(0.0 if node.manual else step.permanent_below)
        columns["fail_below"].append(step.fail_below)
        columns["lost_below"].append(step.lost_below)
        columns["jitter"].append(0.0 if node.manual else node.backoff.jitter)
        labels = [(start, compiled.label_index[label]) for start, label in _label_segments(step)]
        _extend(columns, flat, "label", list(zip(*labels, strict=True)), ("start", "id"))
        segments = step.duration
        _extend(columns, flat, "duration", [segments.starts, segments.values, segments.slopes],
                ("start", "value", "slope"))
        worst = manual_bound if node.manual else node.attempts * node.timeout_ms + \
            rules.total_backoff_ms(node.backoff, node.attempts - 1)
        longest_step = max(longest_step, min(worst, node.deadline_ms or worst))
    if longest_step * max_steps >= NEVER_MS:
        raise TooLongToSimulate(
            f"{max_steps:,} steps of up to {longest_step:,} ms overflow the simulator's clock; "
            "lower --max-steps")
    return SimulationTables(
        pack([compiled]), DEFINITION_ID, compiled.start, rules.failed_label(compiled),
        **{name: _array(values, _PER_NODE[name]) for name, values in columns.items()},
        **{name: _array(values, _FLAT[name]) for name, values in flat.items()},
    )


_PER_NODE: dict[str, type[np.generic]] = {
    "timeout_ms": np.int64, "attempts": np.int32, "deadline_ms": np.int64,
    "backoff_offset": np.int64, "backoff_count": np.int32,
    "permanent_below": np.float64, "fail_below": np.float64, "lost_below": np.float64,
    "jitter": np.float64,
    "label_offset": np.int64, "label_count": np.int32,
    "duration_offset": np.int64, "duration_count": np.int32,
}
_FLAT: dict[str, type[np.generic]] = {
    "backoff_ms": np.int64, "label_start": np.float64, "label_id": np.int32,
    "duration_start": np.float64, "duration_value": np.float64, "duration_slope": np.float64,
}


def _label_segments(step: Any) -> list[tuple[float, str]]:
    """Each label's segment of [0, 1), in the scenario's order; the first starts at 0."""
    segments, start = [], 0.0
    for label, probability in step.labels.items():
        segments.append((start, label))
        start += probability
    return segments


def _extend(columns: dict[str, list[Any]], flat: dict[str, list[Any]], prefix: str,
            parts: list[Any], names: tuple[str, ...]) -> None:
    """Append one node's flat entries under ``prefix`` and record its offset and count."""
    columns[f"{prefix}_offset"].append(len(flat[f"{prefix}_{names[0]}"]))
    columns[f"{prefix}_count"].append(len(parts[0]) if parts else 0)
    for name, values in zip(names, parts or [()] * len(names), strict=True):
        flat[f"{prefix}_{name}"].extend(values)


def _leaf_row(columns: dict[str, list[Any]], flat: dict[str, list[Any]]) -> None:
    for name, values in (("timeout_ms", NEVER_MS), ("attempts", 0), ("deadline_ms", NEVER_MS),
                         ("permanent_below", 0.0), ("fail_below", 0.0), ("lost_below", 0.0),
                         ("jitter", 0.0)):
        columns[name].append(values)
    for prefix, first in (("backoff", "ms"), ("label", "start"), ("duration", "start")):
        columns[f"{prefix}_offset"].append(len(flat[f"{prefix}_{first}"]))
        columns[f"{prefix}_count"].append(0)


def _array(values: list[Any], dtype: type[np.generic]) -> npt.NDArray[Any]:
    array = np.ascontiguousarray(np.array(values, dtype=dtype))
    array.setflags(write=False)
    return array
