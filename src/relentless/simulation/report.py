"""What ``analyze`` and ``simulate`` print: plain data for ``--json``, text for people."""

from __future__ import annotations

import math
from typing import Any

from relentless.core.definition import RESERVED_LABEL
from relentless.core.durations import format_duration
from relentless.simulation.analysis import Analysis, Cycle, Time
from relentless.simulation.rules import FAILED_LABEL

UNBOUNDED = "unbounded"
ENGINE_LABELS = frozenset({RESERVED_LABEL, FAILED_LABEL})


def milliseconds(time: Time) -> int | None:
    """A time for JSON: whole milliseconds, or null for no bound."""
    return None if math.isinf(time) else int(time)


def spelled(time: Time | None) -> str:
    """A time for people: ``1m32s``, or ``unbounded``."""
    if time is None or math.isinf(time):
        return UNBOUNDED
    return format_duration(int(time))


def cycle_bound(cycle: Cycle, analysis: Analysis) -> str:
    """What would bound a cycle, said to the definition's author."""
    definition = analysis.definition
    if cycle.engine_only:
        text = ("every pass is a give-up the engine takes, so it loops until a person acts; "
                "route one of its give-ups out of the loop")
    else:
        answers = sorted({label for labels in cycle.labels for label in labels} - ENGINE_LABELS)
        text = (f"nothing in the definition limits the passes, only the answers "
                f"({', '.join(answers)}) keep it going; an answer that leaves the loop "
                "after a few tries bounds it")
    open_ended = [name for name in cycle.nodes if definition.nodes[name].manual
                  and definition.nodes[name].deadline_ms is None]
    if open_ended:
        text += f"; one pass can last forever: a deadline on {', '.join(open_ended)} bounds it"
    sla = definition.sla_ms
    if sla is None:
        text += "; declare sla: to see how many passes miss it"
    elif math.isinf(cycle.worst_ms) or cycle.worst_ms >= sla:
        text += f"; a single pass can miss the sla of {format_duration(sla)}"
    elif cycle.worst_ms > 0:
        passes = math.ceil(sla / cycle.worst_ms)
        text += f"; {passes} passes at worst miss the sla of {format_duration(sla)}"
    return text


def short(time: int | None) -> str:
    """A measured time for a table, to about three figures: ``812ms``, ``1.92s``, ``5m33s``."""
    if time is None:
        return ""
    if time < 1_000:
        return f"{time}ms"
    if time < 60_000:
        return f"{time / 1000:.3g}s"
    seconds = round(time / 1000)
    if seconds < 3_600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    minutes = round(seconds / 60)
    if minutes < 1_440:
        return f"{minutes // 60}h{minutes % 60:02d}m"
    return f"{minutes // 1440}d{(minutes % 1440) // 60:02d}h"


def _pair(best: Time, worst: Time) -> dict[str, int | None]:
    return {"best_ms": milliseconds(best), "worst_ms": milliseconds(worst)}


def sla_verdict(analysis: Analysis) -> dict[str, Any] | None:
    """How the start node's times compare with the definition's SLA."""
    definition = analysis.definition
    if definition.sla_ms is None:
        return None
    best = analysis.best[definition.start]
    worst = analysis.worst[definition.start]
    leaves = [leaf for leaf in definition.leaves if leaf in best]
    fastest = min(best[leaf] for leaf in leaves)
    slowest = max(worst[leaf] for leaf in leaves)
    if fastest > definition.sla_ms:
        verdict = "missed by every run"
    elif slowest <= definition.sla_ms and None not in best:
        verdict = "met by every run"
    else:
        verdict = "can be missed"
    return {"sla_ms": definition.sla_ms, "verdict": verdict, **_pair(fastest, slowest),
            "incident_possible": None in best}


def analysis_data(analysis: Analysis) -> dict[str, Any]:
    """The ``--json`` object of ``relentless analyze``: a ``nodes`` map and a ``cycles`` list."""
    definition = analysis.definition
    nodes: dict[str, Any] = {}
    for name, node in definition.nodes.items():
        best, worst = analysis.best[name], analysis.worst[name]
        nodes[name] = {
            "leaf": node.is_leaf,
            "manual": node.manual,
            "exits": {e.label: {"to": e.target, **_pair(e.best_ms, e.worst_ms)}
                      for e in analysis.exits.get(name, ())},
            "leaves": {leaf: _pair(best[leaf], worst[leaf])
                       for leaf in definition.leaves if leaf in best},
            "incident": _pair(best[None], worst[None]) if None in best else None,
        }
    return {
        "definition": definition.name,
        "start": definition.start,
        "sla": sla_verdict(analysis),
        "nodes": nodes,
        "cycles": [{"nodes": list(c.nodes), "labels": [list(ls) for ls in c.labels],
                    "bounded": False, "engine_only": c.engine_only,
                    "pass": _pair(c.best_ms, c.worst_ms), "bound": cycle_bound(c, analysis)}
                   for c in analysis.cycles],
        "cycles_truncated": analysis.cycles_truncated,
    }


def analysis_text(analysis: Analysis) -> str:
    """``relentless analyze`` for people: outcomes from the start, steps, cycles."""
    data = analysis_data(analysis)
    definition = analysis.definition
    lines = [f"{definition.name}: starts at {definition.start}"]
    sla = data["sla"]
    if sla is not None:
        lines.append(f"sla {format_duration(sla['sla_ms'])}: {sla['verdict']} (start to leaf "
                     f"{spelled(sla['best_ms'])} at best, {spelled(sla['worst_ms'])} at worst)")
    lines.append("")
    lines.append(f"{'from':<20}{'to':<20}{'best':>12}{'worst':>14}")
    for name, node in data["nodes"].items():
        if node["leaf"]:
            continue
        outcomes = {**node["leaves"], **({"(incident)": node["incident"]}
                                         if node["incident"] else {})}
        for index, (outcome, times) in enumerate(outcomes.items()):
            lines.append(f"{name if index == 0 else '':<20}{outcome:<20}"
                         f"{spelled(times['best_ms']):>12}{spelled(times['worst_ms']):>14}")
    lines.extend(["", "how long each step can last before it leaves by each label:"])
    for name, node in data["nodes"].items():
        if node["exits"]:
            parts = [f"{label} -> {e['to'] or '(incident)'} {spelled(e['best_ms'])}.."
                     f"{spelled(e['worst_ms'])}" for label, e in node["exits"].items()]
            lines.append(f"  {name}: " + "; ".join(parts))
    cycles = data["cycles"]
    lines.extend(["", f"cycles that can repeat without bound: {len(cycles)}"
                  + (" (the first ones)" if data["cycles_truncated"] else "")])
    for cycle in cycles:
        hops = "".join(f"{node} -{'|'.join(labels)}-> " for node, labels in
                       zip(cycle["nodes"], cycle["labels"], strict=True))
        lines.append(f"  {hops}{cycle['nodes'][0]}   one pass "
                     f"{spelled(cycle['pass']['best_ms'])}..{spelled(cycle['pass']['worst_ms'])}")
        lines.append(f"      {cycle['bound']}")
    return "\n".join(lines) + "\n"


def simulation_text(summary: dict[str, Any]) -> str:
    """``relentless simulate`` for people: outcomes, time to leaf, SLA risk, where time goes."""
    lines = [f"{summary['definition']}: {summary['runs']:,} runs, {summary['total_steps']:,} "
             f"steps ({summary['simulator']}, seed {summary['seed']}, "
             f"{summary['seconds']:.3f} s)", "",
             f"{'outcome':<16}{'share':>9}{'95% interval':>20}{'p50':>10}{'p90':>10}"
             f"{'p99':>10}{'p99.9':>10}{'max':>10}"]
    for outcome, entry in summary["outcomes"].items():
        if not entry["runs"]:
            continue
        low, high = entry["ci95"]
        times = entry.get("time_ms") or {}
        cells = "".join(f"{short(times.get(q)):>10}"
                        for q in ("p50", "p90", "p99", "p99.9", "max"))
        lines.append(f"{outcome:<16}{entry['share']:>9.2%}{f'{low:.2%}..{high:.2%}':>20}{cells}")
        if entry.get("at"):
            lines.append(f"{'':<16}at " + ", ".join(f"{n}: {c:,}" for n, c in
                                                     entry["at"].items()))
    steps = summary["steps"]
    if steps:
        lines.append(f"\nsteps per run: p50 {steps['p50']}, p99 {steps['p99']}, "
                     f"max {steps['max']}")
    sla = summary["sla"]
    if sla is not None:
        miss = sla["miss"]
        lines.append(f"sla {format_duration(sla['sla_ms'])}: missed by {miss['share']:.3%} "
                     f"of runs (95%: {miss['ci95'][0]:.3%}..{miss['ci95'][1]:.3%}; late at a "
                     f"leaf {sla['late_at_leaf']['share']:.3%}, the rest never reached one)")
    lines.extend(["", "where the time goes:",
                  f"  {'node':<20}{'time':>8}{'visits/run':>12}{'attempts/visit':>16}"
                  f"{'mean/visit':>12}"])
    for node, entry in summary["nodes"].items():
        lines.append(f"  {node:<20}{entry['time_share']:>8.1%}{entry['visits_per_run']:>12.3f}"
                     f"{entry['attempts_per_visit']:>16.3f}"
                     f"{short(round(entry['mean_ms_per_visit'])):>12}")
    return "\n".join(lines) + "\n"
