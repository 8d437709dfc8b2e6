"""The sweep: how Relentless's cost grows with batch size, worker processes and idle workers.

- steps/s against the batch size (jobs per lease and completions per request), at
  the default worker count;
- steps/s against the number of worker processes, at the default batch;
- lease latency against the number of long-polling workers, with work arriving at a
  modest steady rate (``LATENCY_ARRIVALS_PER_S`` workflows a second), so that almost
  every worker is idle, waiting in a long poll, when a step becomes ready.
"""

from __future__ import annotations

from typing import Any

from bench.e2e import runs
from bench.e2e.compare import Announce
from bench.e2e.trial import Trial

BATCHES = (1, 10, 100, 500)
WORKER_COUNTS = (1, 2, 4, 8)
POLLERS = (10, 100, 500)
LATENCY_ARRIVALS_PER_S = 100.0
LATENCY_WORKFLOWS = 500
LATENCY_BATCH = 10
THROUGHPUT_CAP_S = 15.0
"""Sweep points stop here at the latest: batches of 1 would otherwise take half a minute."""


def latency_trial(base: Trial, pollers: int) -> Trial:
    """``pollers`` long-polling workers over the base's processes, work arriving steadily."""
    return base.but(system="relentless", pollers=pollers, workflows=LATENCY_WORKFLOWS,
                    arrivals_per_s=LATENCY_ARRIVALS_PER_S, batch=LATENCY_BATCH)


async def sweep(server_dsn: str, base: Trial, announce: Announce) -> dict[str, Any]:
    """Every point of the sweep, one run each; the "sweep" part of the result."""
    base = base.but(system="relentless", timeout_s=min(base.timeout_s, THROUGHPUT_CAP_S))

    async def point(label: str, trial: Trial) -> runs.Outcome:
        return await runs.run(server_dsn, trial, announce(f"sweep {label}", trial))

    batch = [{"batch": size, **_throughput(await point(f"batch {size}",
                                                       base.but(batch=size)))}
             for size in BATCHES]
    workers = [{"workers": count, **_throughput(await point(f"workers {count}",
                                                            base.but(workers=count)))}
               for count in WORKER_COUNTS]
    pollers = [{"pollers": count, **_latency(await point(f"{count} idle pollers",
                                                         latency_trial(base, count)))}
               for count in POLLERS]
    return {
        "steps_per_s_by_batch": batch,
        "steps_per_s_by_workers": workers,
        "lease_latency_by_idle_pollers": pollers,
        "settings": {
            "throughput": {"workflows": base.workflows, "steps": base.steps,
                           "workers": base.workers, "batch": base.batch},
            "latency": {"workflows": LATENCY_WORKFLOWS, "steps": base.steps,
                        "arrivals_per_s": LATENCY_ARRIVALS_PER_S,
                        "worker_processes": base.workers, "batch": LATENCY_BATCH,
                        "wait_seconds": 5.0},
        },
    }


def _throughput(outcome: runs.Outcome) -> dict[str, Any]:
    figures = outcome.as_dict()
    return {"steps_per_s": figures["steps_per_s"], "lease_ms": figures["lease_ms"],
            "complete": figures["complete"], "capped_at_s": figures["capped_at_s"]}


def _latency(outcome: runs.Outcome) -> dict[str, Any]:
    figures = outcome.as_dict()
    return {"lease_ms": figures["lease_ms"], "round_trip_ms": figures["round_trip_ms"],
            "steps_per_s": figures["steps_per_s"], "complete": figures["complete"]}
