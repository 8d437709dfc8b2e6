"""``--plot FILE.png``: a histogram of time to leaf per outcome, if matplotlib is there."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from relentless.core.compiler import CompiledDefinition
from relentless.core.status import Status
from relentless.errors import UserError
from relentless.simulation.runs import RunArrays

BINS = 60


class PlotUnavailable(UserError):
    """Plotting needs matplotlib: pip install 'relentless-orchestrator[plot]'."""


def plot_times(runs: RunArrays, compiled: CompiledDefinition, path: str | Path,
               sla_ms: int | None) -> None:
    """Write a PNG histogram of time to leaf, one series per leaf, SLA marked if given."""
    try:
        import matplotlib  # noqa: PLC0415 - optional, only for --plot

        matplotlib.use("Agg")
        from matplotlib import pyplot  # noqa: PLC0415
    except ImportError:
        raise PlotUnavailable(PlotUnavailable.__doc__) from None
    at_leaf = runs.status == Status.REACHED_LEAF
    seconds = runs.time_ms / 1000.0
    finished = seconds[at_leaf]
    edges = np.linspace(0.0, float(finished.max()) if finished.size else 1.0, BINS + 1)
    figure, axes = pyplot.subplots(figsize=(9, 5))
    for leaf in compiled.definition.leaves:
        here = at_leaf & (runs.end_node == compiled.node_index[leaf])
        if here.any():
            axes.hist(seconds[here], bins=edges.tolist(), histtype="step", linewidth=1.5,
                      label=f"{leaf} ({here.sum() / runs.runs:.1%})")
    if sla_ms is not None:
        axes.axvline(sla_ms / 1000.0, color="red", linestyle="--", label="sla")
    axes.set_xlabel("time to leaf (s)")
    axes.set_ylabel("runs")
    axes.set_yscale("log")
    axes.set_title(f"{compiled.name}: {runs.runs:,} simulated runs")
    axes.legend()
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=100)
    except OSError as exc:
        raise UserError(f"{path}: cannot write the plot: {exc.strerror or exc}") from exc
    finally:
        pyplot.close(figure)
