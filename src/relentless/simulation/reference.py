"""The NumPy twin of the Cython simulation loop: the same rules, vectorised over runs.

Each pass of the loop runs one attempt of every run still going, on the same tables
and the same per-run random streams as engine_ext/simulate.pyx, so that both return
identical arrays for the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from relentless.core.compiler import TIMEOUT_LABEL
from relentless.core.status import Status
from relentless.simulation.rules import NEVER_MS, NO_LABEL
from relentless.simulation.runs import RunArrays, empty_runs
from relentless.simulation.streams import XoshiroArrays
from relentless.simulation.tables import SimulationTables

Ints = npt.NDArray[np.int64]


@dataclass(slots=True)
class _Lanes:
    """The runs still going, one lane each."""

    run: Ints
    node: Ints
    started: Ints
    """When the current step began."""
    ready: Ints
    """When the current attempt began."""
    attempt: Ints
    steps: Ints

    def keep(self, lanes: npt.NDArray[np.bool_]) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name)[lanes])


def simulate(tables: SimulationTables, runs: int, seed: int, max_steps: int,
             first_run: int = 0) -> RunArrays:
    """Runs ``first_run`` .. ``first_run + runs - 1`` of the simulation seeded ``seed``."""
    out = empty_runs(runs, tables.node_count)
    index = np.arange(runs, dtype=np.int64)
    zeros = np.zeros(runs, np.int64)
    lanes = _Lanes(index, np.full(runs, tables.start, np.int64), zeros, zeros.copy(),
                   np.ones(runs, np.int64), zeros.copy())
    streams = XoshiroArrays(seed, index + first_run)
    while lanes.run.size:
        resolved, label, when = _attempt(tables, lanes, streams)
        finished = _resolve(tables, lanes, resolved, label, when, max_steps, out)
        streams.keep(~finished)
        lanes.keep(~finished)
    return out


def _attempt(tables: SimulationTables, lanes: _Lanes, streams: XoshiroArrays) -> tuple[
        npt.NDArray[np.bool_], Ints, Ints]:
    """One attempt per lane: which steps it decides, with what label, at what time."""
    node = lanes.node
    outcome, label_draw, duration_draw = streams.attempt()
    duration = _sample(tables.duration_offset[node], tables.duration_count[node],
                       tables.duration_start, duration_draw,
                       tables.duration_value, tables.duration_slope).astype(np.int64)
    timeout = tables.timeout_ms[node]
    failed = outcome < tables.fail_below[node]
    permanent = outcome < tables.permanent_below[node]
    lost = ~failed & (outcome < tables.lost_below[node])
    expired = lost | (duration >= timeout)
    completed = ~expired & ~failed
    end = lanes.ready + np.where(expired, timeout, duration)
    deadline = tables.deadline_ms[node]
    cut = np.where(deadline == NEVER_MS, NEVER_MS, lanes.started + deadline)
    at_deadline = end >= cut
    label = np.full(node.size, TIMEOUT_LABEL, np.int64)
    when = np.where(at_deadline, cut, end)
    done = completed & ~at_deadline
    chosen = _sample(tables.label_offset[node[done]], tables.label_count[node[done]],
                     tables.label_start, label_draw[done])
    label[done] = tables.label_id[chosen]
    retry = ~completed & ~at_deadline
    last = retry & ((lanes.attempt >= tables.attempts[node]) | (permanent & ~expired))
    label[last & ~expired] = tables.failed_label
    retry &= ~last
    delay = _delay(tables, node, lanes.attempt)
    # The label draw is unused by an attempt that did not complete: it jitters the wait.
    ready = end + delay - (delay * tables.jitter[node] * label_draw).astype(np.int64)
    late = retry & (ready >= cut)
    when[late] = cut[late]
    waiting = retry & ~late
    lanes.ready = np.where(waiting, ready, lanes.ready)
    lanes.attempt = lanes.attempt + waiting
    return ~waiting, label, when


def _resolve(tables: SimulationTables, lanes: _Lanes, resolved: npt.NDArray[np.bool_],
             label: Ints, when: Ints, max_steps: int, out: RunArrays) -> npt.NDArray[np.bool_]:
    """Take the decided steps' edges; write out the runs that end; the lanes that ended."""
    node = lanes.node[resolved]
    np.add.at(out.node_time_ms, node, when[resolved] - lanes.started[resolved])
    np.add.at(out.node_visits, node, 1)
    np.add.at(out.node_attempts, node, lanes.attempt[resolved])
    target, status = _follow(tables, node, label[resolved])
    steps = lanes.steps[resolved] + 1
    ends = (status != Status.ADVANCED) | (steps >= max_steps)
    runs = lanes.run[resolved][ends]
    out.end_node[runs] = np.where(status[ends] == Status.LABEL_NOT_OFFERED, node[ends],
                                  target[ends])
    out.status[runs] = status[ends]
    out.time_ms[runs] = when[resolved][ends]
    out.steps[runs] = steps[ends]
    moving = np.flatnonzero(resolved)
    lanes.node[moving] = np.where(ends, lanes.node[moving], target)
    lanes.started[moving] = when[moving]
    lanes.ready[moving] = when[moving]
    lanes.attempt[moving] = 1
    lanes.steps[moving] = steps
    finished = np.zeros(resolved.size, np.bool_)
    finished[moving[ends]] = True
    return finished


def _follow(tables: SimulationTables, node: Ints, label: Ints) -> tuple[Ints, npt.NDArray[
        np.uint8]]:
    """The kernel's rule on the packed tables: the target and status of each edge."""
    packed = tables.packed
    definition = tables.definition_id
    offered = label != NO_LABEL
    cell = packed.next_offset[definition] + node * tables.width + np.where(offered, label, 0)
    target = np.where(offered, packed.next_flat[cell], -1).astype(np.int64)
    leaf = packed.leaf_flat[packed.node_offset[definition] + np.maximum(target, 0)] != 0
    status = np.where(target < 0, Status.LABEL_NOT_OFFERED,
                      np.where(leaf, Status.REACHED_LEAF, Status.ADVANCED)).astype(np.uint8)
    return target, status


def _sample(offset: Ints, count: npt.NDArray[np.int32], starts: npt.NDArray[np.float64],
            u: npt.NDArray[np.float64], values: npt.NDArray[np.float64] | None = None,
            slopes: npt.NDArray[np.float64] | None = None) -> npt.NDArray[np.float64] | Ints:
    """The segment holding each ``u`` (bisection, as the Cython loop does), or its value."""
    low = offset.astype(np.int64)
    width = count.astype(np.int64)
    while (width > 1).any():
        half = width // 2
        probe = np.minimum(low + half, starts.size - 1)
        up = (width > 1) & (starts[probe] <= u)
        low = np.where(up, low + half, low)
        width = np.where(width > 1, width - half, width)
    if values is None or slopes is None:
        return low
    return values[low] + slopes[low] * (u - starts[low])


def _delay(tables: SimulationTables, node: Ints, attempt: Ints) -> Ints:
    """The backoff before the attempt after ``attempt`` (0 where there is none)."""
    count = tables.backoff_count[node].astype(np.int64)
    entry = tables.backoff_offset[node] + np.minimum(attempt, count) - 1
    has = (count > 0) & (tables.backoff_ms.size > 0)
    delays = tables.backoff_ms[np.where(has, entry, 0)] if tables.backoff_ms.size else 0
    return np.where(has, delays, 0).astype(np.int64)
