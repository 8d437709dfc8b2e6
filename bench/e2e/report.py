"""The result for people (tables) and for machines (one JSON object, also kept on disk)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "results"


def save(result: dict[str, Any], directory: Path = RESULTS) -> Path:
    """Write the result next to earlier ones, named by when it was measured; its path."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = result["machine"]["when"].replace(":", "").replace("-", "").split("+")[0]
    path = directory / f"e2e-{result['mode']}-{stamp}.json"
    path.write_text(json.dumps(_without_runs(result), indent=1) + "\n")
    return path


def _without_runs(result: dict[str, Any]) -> dict[str, Any]:
    """The stored copy keeps every round's steps/s and latencies, not the bulky rest."""
    systems = {name: {**figures, "runs": [_brief(run) for run in figures.get("runs", [])]}
               for name, figures in result.get("systems", {}).items()}
    return {**result, "systems": systems}


def _brief(run: dict[str, Any]) -> dict[str, Any]:
    return {key: run[key] for key in ("steps_per_s", "seconds", "complete", "capped_at_s",
                                      "lease_ms", "round_trip_ms")}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def systems_table(result: dict[str, Any]) -> list[str]:
    """Steps/s per system (median, min, max), Relentless's ratio, and the latencies."""
    lines = [f"{'system':<14}{'steps/s':>9}{'min':>8}{'max':>8}{'wf/s':>7}{'ratio':>8}"
             f"{'lease p50':>11}{'p99':>8}{'ack p50':>9}{'p99':>8}  runs"]
    ratios = result.get("ratios", {})
    for name, figures in result["systems"].items():
        rate, lease, ack = figures["steps_per_s"], figures["lease_ms"], figures["round_trip_ms"]
        ratio = "-" if name == "relentless" else f"{ratios.get(name, 0):.1f}x"
        lines.append(f"{name:<14}{rate['median']:>9,}{rate['min']:>8,}{rate['max']:>8,}"
                     f"{figures['workflows_per_s']['median']:>7,}{ratio:>8}"
                     f"{_ms(lease['p50']):>11}{_ms(lease['p99']):>8}"
                     f"{_ms(ack['p50']):>9}{_ms(ack['p99']):>8}  {_ending(figures)}")
    return lines


def _ending(figures: dict[str, Any]) -> str:
    """How the rounds ended: every workflow finished, or stopped at the time cap."""
    capped = figures.get("capped_rounds", 0)
    if capped:
        cap = next(run["capped_at_s"] for run in figures["runs"] if run.get("capped_at_s"))
        return f"{capped} of {len(figures['runs'])} stopped at {cap:g} s"
    return "all finished" if figures["complete"] else "INCOMPLETE"


def settings_lines(result: dict[str, Any]) -> list[str]:
    lines = []
    for name, figures in result["systems"].items():
        lines.append(f"{name}:")
        lines += [f"  {key}: {value}" for key, value in figures["settings"].items()]
    return lines


def sweep_lines(sweep: dict[str, Any]) -> list[str]:
    lines = ["steps/s by batch size:   " + "  ".join(
        f"{p['batch']}: {p['steps_per_s']:,}" for p in sweep["steps_per_s_by_batch"]),
             "steps/s by worker count: " + "  ".join(
        f"{p['workers']}: {p['steps_per_s']:,}" for p in sweep["steps_per_s_by_workers"]),
             "lease latency by idle long-polling workers (p50 / p99 ms):"]
    lines += [f"  {p['pollers']:>4} workers: {_ms(p['lease_ms']['p50'])} / "
              f"{_ms(p['lease_ms']['p99'])}  ({p['lease_ms']['count']:,} steps, "
              f"{p['steps_per_s']:,} steps/s)" for p in sweep["lease_latency_by_idle_pollers"]]
    return lines


def text(result: dict[str, Any]) -> str:
    """The whole result as tables, with what was measured and on what."""
    machine = result["machine"]
    workload = result["workload"]
    lines = [f"{workload['workflows']:,} workflows x {workload['steps']} steps, durable "
             f"commits (fsync {machine['postgres'].get('fsync')}, synchronous_commit "
             f"{machine['postgres'].get('synchronous_commit')}); {result['rounds']} "
             f"round(s), median/min/max steps/s over them",
             *systems_table(result), "", "settings:", *settings_lines(result)]
    if result.get("sweep"):
        lines += ["", "sweep (relentless):", *sweep_lines(result["sweep"])]
    lines += ["", f"machine: {machine['cpu']}, {machine['cores']} cores, "
                  f"{machine['memory_gib']} GiB; load average before "
                  f"{machine['load_average_before']}; during the run other processes used "
                  f"{machine['cpu_of_other_processes']['others_percent']}% of the machine "
                  f"{machine['cpu_of_other_processes']['busiest_others']}, CPU steal "
                  f"{machine['cpu_steal_percent_during']}%",
              "lease = a step made ready (as the client saw it) to leased; ack = the write "
              "deciding a step, sent to acknowledged (see docs/performance.md)"]
    return "\n".join(lines)
