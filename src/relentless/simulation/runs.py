"""What a simulator returns: per-run arrays and per-node totals, the same for all three."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from relentless.core.status import Status


@dataclass(frozen=True, slots=True)
class RunArrays:
    """One entry per run, and one per node of the definition (in compiled order).

    ``status`` is the kernel's status of the run's last transition: REACHED_LEAF
    (``end_node`` is the leaf), LABEL_NOT_OFFERED (a give-up the node does not route:
    an incident at ``end_node``), or ADVANCED (still going when ``max_steps`` ran out).
    """

    end_node: npt.NDArray[np.int32]
    status: npt.NDArray[np.uint8]
    time_ms: npt.NDArray[np.int64]
    steps: npt.NDArray[np.int32]
    node_time_ms: npt.NDArray[np.int64]
    node_visits: npt.NDArray[np.int64]
    node_attempts: npt.NDArray[np.int64]

    @property
    def runs(self) -> int:
        return len(self.end_node)

    @property
    def total_steps(self) -> int:
        """Steps simulated over every run: the unit of the simulators' speed."""
        return int(self.steps.sum(dtype=np.int64))


def empty_runs(runs: int, nodes: int) -> RunArrays:
    """Zeroed outputs for ``runs`` runs of a definition of ``nodes`` nodes."""
    return RunArrays(
        np.zeros(runs, np.int32), np.full(runs, Status.ADVANCED, np.uint8),
        np.zeros(runs, np.int64), np.zeros(runs, np.int32),
        np.zeros(nodes, np.int64), np.zeros(nodes, np.int64), np.zeros(nodes, np.int64))
