"""The command line of ``python -m bench.e2e``: what to run, and how to show it.

``python -m bench.e2e`` runs Relentless alone at the defaults; ``--compare`` runs
every system interleaved over ``--rounds`` and then the sweep; ``--sweep`` runs the
sweep alone; ``--profile FILE`` runs Relentless once with py-spy on its server.
Tables go to stdout (or one JSON object with ``--json``), progress to stderr, and the
result, with the machine it was measured on, to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.e2e import compare, database, machine, report, sweep
from bench.e2e.compare import Announce
from bench.e2e.profile import Profiler, summarise
from bench.e2e.runs import run
from bench.e2e.trial import SYSTEMS, VARIANTS, Trial

THROUGHPUT_TARGET = 5_000
RATIO_TARGET = 3.0
LATENCY_TARGET_MS = 50.0
LATENCY_POLLERS = 100


@dataclass(frozen=True, slots=True)
class Plan:
    """What this invocation measures."""

    base: Trial
    systems: list[str]
    rounds: int
    sweep: bool
    profile: Path | None

    @property
    def mode(self) -> str:
        if self.profile is not None:
            return "profile"
        if len(self.systems) > 1:
            return "compare"
        return "sweep" if self.sweep and not self.systems else "single"


def parse(argv: list[str] | None) -> tuple[Plan, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Trial("relentless")
    parser.add_argument("--compare", action="store_true",
                        help="every system, interleaved over --rounds, then the sweep")
    parser.add_argument("--sweep", action="store_true", help="the sweep (Relentless only)")
    parser.add_argument("--no-sweep", action="store_true", help="with --compare: skip it")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="with --compare: which systems (default: all four)")
    parser.add_argument("--rounds", type=int, help="rounds per system (default: 3 with "
                                                   "--compare, else 1)")
    parser.add_argument("--workflows", type=int, default=defaults.workflows)
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--workers", type=int, default=defaults.workers,
                        help="Relentless worker processes (the peers use their own best)")
    parser.add_argument("--batch", type=int, default=defaults.batch,
                        help="Relentless jobs per lease and completions per request")
    parser.add_argument("--max-seconds", type=float, default=defaults.timeout_s,
                        help="a run still going after this long is stopped and reported")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="run Relentless once with py-spy on its server; collapsed "
                             "stacks to FILE, a summary in the result")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="draw the figures")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    parser.add_argument("--dsn", help="a PostgreSQL 14+ server to create the databases on "
                                      "(default: an embedded server in a temporary directory)")
    arguments = parser.parse_args(argv)
    systems = _systems(parser, arguments)
    base = Trial("relentless", arguments.workflows, arguments.steps, arguments.workers,
                 arguments.batch, timeout_s=arguments.max_seconds)
    rounds = arguments.rounds or (3 if arguments.compare else 1)
    run_sweep = arguments.sweep or (arguments.compare and not arguments.no_sweep)
    return Plan(base, systems, rounds, run_sweep, arguments.profile), arguments


def _systems(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> list[str]:
    if arguments.profile is not None:
        return ["relentless"]
    if not arguments.compare:
        return [] if arguments.sweep else ["relentless"]
    chosen = [name.strip() for name in arguments.systems.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SYSTEMS) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown systems {unknown}; choose from {[*SYSTEMS, *VARIANTS]}")
    return chosen


def announcer(progress: Progress) -> Announce:
    """A progress bar per run, counting its steps; a line per run where stderr is no
    terminal (a bar there would only show once everything is over)."""

    def announce(label: str, trial: Trial) -> Any:
        task = progress.add_task(label, total=trial.total_steps)
        if not progress.console.is_terminal:
            progress.console.print(f"{label}: {trial.workflows:,} workflows x {trial.steps} "
                                   f"steps, {trial.workers} worker process"
                                   f"{'es' if trial.workers != 1 else ''}")
        return lambda done: progress.update(task, completed=done)

    return announce


async def measure(server_dsn: str, plan: Plan, progress: Progress) -> dict[str, Any]:
    """Everything the plan asks for, and the machine it ran on."""
    started, cpu, load = machine.now(), machine.CpuTimes.now(), os.getloadavg()
    began = time.perf_counter()
    postgres = await database.server_settings(server_dsn)
    announce = announcer(progress)
    result: dict[str, Any] = {"systems": {}, "ratios": {}, "sweep": None}
    with machine.Neighbours(await database.postmaster_pid(server_dsn)) as neighbours:
        if plan.profile is not None:
            result.update(await _profiled(server_dsn, plan, announce))
        elif plan.systems:
            result.update(await compare.compare(server_dsn, plan.base, plan.systems,
                                                plan.rounds, announce))
        if plan.sweep:
            result["sweep"] = await sweep.sweep(server_dsn, plan.base, announce)
    result.update({
        "mode": plan.mode, "rounds": plan.rounds,
        "workload": {"workflows": plan.base.workflows, "steps": plan.base.steps,
                     "operation": "no-op", "max_seconds_per_run": plan.base.timeout_s},
        "elapsed_s": round(time.perf_counter() - began, 1),
        "machine": machine.describe(started, cpu, load, postgres, neighbours.report()),
    })
    result["checks"] = checks(result)
    return result


async def _profiled(server_dsn: str, plan: Plan, announce: Announce) -> dict[str, Any]:
    assert plan.profile is not None
    profiler = Profiler(plan.profile)
    trial = plan.base
    outcome = await run(server_dsn, trial, announce("relentless, profiled", trial), profiler)
    described = compare.describe(trial, [outcome])
    return {"systems": {"relentless": described},
            "profile": {"cpu_percent_of_machine": profiler.cpu_split,
                        **summarise(plan.profile)}}


def checks(result: dict[str, Any]) -> dict[str, Any]:
    """The acceptance figures, each with its target, from this result alone."""
    found: dict[str, Any] = {}
    ours = result["systems"].get("relentless")
    if ours:
        rate = ours["steps_per_s"]["median"]
        found["relentless_steps_per_s"] = {"value": rate, "target": THROUGHPUT_TARGET,
                                           "met": rate >= THROUGHPUT_TARGET}
    if result["ratios"]:
        worst = min(result["ratios"].values())
        found["ratio_over_best_peer"] = {"value": worst, "target": RATIO_TARGET,
                                         "met": worst >= RATIO_TARGET}
    for point in (result.get("sweep") or {}).get("lease_latency_by_idle_pollers", []):
        if point["pollers"] == LATENCY_POLLERS:
            p99 = point["lease_ms"]["p99"]
            found["lease_p99_ms_at_100_idle_workers"] = {
                "value": p99, "target": LATENCY_TARGET_MS,
                "met": p99 is not None and p99 < LATENCY_TARGET_MS}
    return found


def _check_lines(result: dict[str, Any]) -> list[str]:
    names = {"relentless_steps_per_s": "Relentless steps/s (median)",
             "ratio_over_best_peer": "Relentless / best peer (medians)",
             "lease_p99_ms_at_100_idle_workers": "p99 lease ms, 100 idle workers"}
    return [f"  {names[key]}: {check['value']} (target {check['target']}): "
            f"{'met' if check['met'] else 'NOT MET'}" for key, check in result["checks"].items()]


def _text(result: dict[str, Any]) -> str:
    lines = [report.text(result)] if result["systems"] else []
    if not result["systems"] and result["sweep"]:
        lines.append("\n".join(report.sweep_lines(result["sweep"])))
    if "profile" in result:
        profile = result["profile"]
        split = ", ".join(f"{kind} {share}%"
                          for kind, share in profile["cpu_percent_of_machine"].items())
        lines += [f"CPU used during the run, share of the machine: {split}",
                  f"server profile: busy {profile['busy_percent']}% of samples; own time "
                  f"(share of busy samples):"]
        lines += [f"  {share:5.1f}%  {name}"
                  for name, share in profile["self_percent_of_busy"].items()]
    lines += ["checks:", *_check_lines(result), f"took {result['elapsed_s']} s"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    plan, arguments = parse(argv)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    server_dsn = arguments.dsn or database.embedded_server()
    console = Console(file=sys.stderr)
    with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:
        result = asyncio.run(measure(server_dsn, plan, progress))
    print(json.dumps(result, indent=1) if arguments.json else _text(result))
    if arguments.plot is not None:
        from bench.e2e import plot  # noqa: PLC0415 - matplotlib only when plotting

        plot.draw(result, arguments.plot)
        console.print(f"plot written to {arguments.plot}")
    if not arguments.no_save:
        console.print(f"result written to {report.save(result)}")
    return 0
