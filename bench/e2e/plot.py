"""``--plot FILE.png``: the comparison and the sweep, drawn with matplotlib (Agg, no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def draw(result: dict[str, Any], path: Path) -> None:
    """Up to four panels: steps/s per system, by batch size, by worker count, and lease
    latency by idle long-polling workers; panels without data are left out."""
    import matplotlib  # noqa: PLC0415 - only when plotting

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    panels = [panel for panel in (_systems, _batch, _workers, _pollers)
              if panel(result, None)]
    if not panels:
        raise ValueError("nothing to plot: run with --compare or --sweep")
    columns = 2 if len(panels) > 1 else 1
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(6 * columns, 4 * rows), squeeze=False)
    for panel, axis in zip(panels, axes.flat, strict=False):
        panel(result, axis)
    for axis in list(axes.flat)[len(panels):]:
        axis.set_visible(False)
    machine = result["machine"]
    figure.suptitle(f"Relentless end to end, {result['workload']['workflows']:,} workflows x "
                    f"{result['workload']['steps']} steps, {machine['cores']} cores, "
                    f"{machine['when'][:10]}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _systems(result: dict[str, Any], axis: Any) -> bool:
    systems = result.get("systems") or {}
    if len(systems) < 2:
        return False
    if axis is None:
        return True
    names = list(systems)
    medians = [systems[name]["steps_per_s"]["median"] for name in names]
    low = [m - systems[name]["steps_per_s"]["min"] for name, m in zip(names, medians,
                                                                       strict=True)]
    high = [systems[name]["steps_per_s"]["max"] - m for name, m in zip(names, medians,
                                                                        strict=True)]
    bars = axis.bar(names, medians, yerr=[low, high], capsize=4,
                    color=["#1f6f8b" if name == "relentless" else "#999999" for name in names])
    axis.bar_label(bars, labels=[f"{m:,}" for m in medians], padding=3)
    axis.set_ylim(0, 1.15 * max(m + h for m, h in zip(medians, high, strict=True)))
    axis.set_ylabel("steps per second (median, min-max)")
    axis.set_title(f"Same workload, same PostgreSQL, {result['rounds']} interleaved rounds")
    return True


def _line(axis: Any, points: list[dict[str, Any]], x: str, title: str, xlabel: str,
          log: bool) -> None:
    axis.plot([p[x] for p in points], [p["steps_per_s"] for p in points], marker="o")
    for point in points:
        axis.annotate(f"{point['steps_per_s']:,}", (point[x], point["steps_per_s"]),
                      textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    if log:
        axis.set_xscale("log")
    axis.set_xticks([p[x] for p in points], [str(p[x]) for p in points])
    axis.set_xlabel(xlabel)
    axis.set_ylabel("steps per second")
    axis.set_ylim(0, 1.15 * max(p["steps_per_s"] for p in points))
    axis.set_title(title)


def _batch(result: dict[str, Any], axis: Any) -> bool:
    sweep = result.get("sweep")
    if not sweep:
        return False
    if axis is not None:
        _line(axis, sweep["steps_per_s_by_batch"], "batch", "Relentless: batch size",
              "jobs per lease and completions per request", log=True)
    return True


def _workers(result: dict[str, Any], axis: Any) -> bool:
    sweep = result.get("sweep")
    if not sweep:
        return False
    if axis is not None:
        _line(axis, sweep["steps_per_s_by_workers"], "workers", "Relentless: worker processes",
              "worker processes", log=False)
    return True


def _pollers(result: dict[str, Any], axis: Any) -> bool:
    sweep = result.get("sweep")
    if not sweep:
        return False
    if axis is None:
        return True
    points = sweep["lease_latency_by_idle_pollers"]
    counts = [p["pollers"] for p in points]
    for key, style in (("p50", "o-"), ("p99", "s--")):
        axis.plot(counts, [p["lease_ms"][key] for p in points], style, label=key)
    axis.set_xscale("log")
    axis.set_xticks(counts, [str(c) for c in counts])
    axis.set_xlabel("long-polling workers (mostly idle)")
    axis.set_ylabel("ready -> leased, ms")
    axis.set_ylim(bottom=0)
    axis.legend()
    arrivals = sweep["settings"]["latency"]["arrivals_per_s"]
    axis.set_title(f"Relentless: lease latency, {arrivals:g} workflows/s arriving")
    return True
