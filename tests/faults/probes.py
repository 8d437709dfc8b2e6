"""How long a waiting long-poll takes to wake when another node makes work ready."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from tests.faults.cluster import ADMIN, WORKER
from tests.faults.http import call

PROBE = """
name: probe
start: p
nodes:
  p: {operation: probe, on: {ok: end}}
  end: {}
"""
WAIT_SECONDS = 20.0


def wake_latency(waiting_url: str, starting_url: str) -> float:
    """Seconds from sending a start to ``starting_url`` until a lease already waiting on
    ``waiting_url`` answers with its job (WAIT_SECONDS if only the wait's end woke it)."""
    lease = {"worker": "probe", "operations": ["probe"], "max_jobs": 1,
             "lease_seconds": 30, "wait_seconds": WAIT_SECONDS}
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(call, "POST", f"{waiting_url}/v1/jobs/lease", lease,
                              token=WORKER, timeout=WAIT_SECONDS + 10)
        time.sleep(0.3)  # not a synchronisation: if the lease is not waiting yet, it
        assert not waiting.done(), "the lease should be waiting"  # finds the job at once
        sent = time.monotonic()
        status, _ = call("POST", f"{starting_url}/v1/workflows", {"definition": "probe"},
                         token=ADMIN)
        assert status in (200, 201)
        _, answer = waiting.result()
        latency = time.monotonic() - sent
    assert answer["jobs"], f"the lease was not woken within {WAIT_SECONDS}s"
    [job] = answer["jobs"]
    call("POST", f"{waiting_url}/v1/jobs/complete",
         {"completions": [{"job_id": job["job_id"], "label": "ok"}]}, token=WORKER)
    return latency


def latencies(first: str, second: str, rounds: int = 5) -> dict[str, float]:
    """Wake latencies both ways between two nodes: median and worst, in milliseconds."""
    found: list[float] = []
    for _ in range(rounds):
        for waiting, starting in ((first, second), (second, first)):
            found.append(wake_latency(waiting, starting))
            if found[-1] > 1:  # woken by the end of its wait, not by NOTIFY: enough said
                break
    return {"median_ms": round(statistics.median(found) * 1000, 1),
            "max_ms": round(max(found) * 1000, 1), "samples": len(found)}
