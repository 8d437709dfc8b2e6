"""Three sweepers on three nodes against 10,000 due timers (lapsed leases): each is
handled exactly once (one expiry, one new attempt), whichever sweeper took it."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from tests.faults import checks
from tests.faults.cluster import WORKER, Cluster
from tests.faults.http import call

TIMERS = 10_000
TIMER = """
name: timer
start: t
defaults: {timeout: 60s, attempts: 5, backoff: 100ms}
nodes:
  t: {operation: tick, on: {ok: end}}
  end: {}
"""

COUNTS = """
SELECT count(*) FILTER (WHERE state = 'leased') AS leased,
       count(*) FILTER (WHERE attempt = 1 AND state = 'expired') AS expired_once,
       count(*) FILTER (WHERE attempt = 2) AS second_attempts,
       count(*) FILTER (WHERE attempt > 2) AS later_attempts
FROM relentless_jobs
"""


async def _counts(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        return dict((await connection.fetch(COUNTS))[0])
    finally:
        await connection.close()


def _lease_everything(url: str) -> int:
    leased = 0
    while leased < TIMERS:
        status, answer = call("POST", f"{url}/v1/jobs/lease", {
            "worker": "lapses", "operations": ["tick"], "max_jobs": 1000,
            "lease_seconds": 1}, token=WORKER, timeout=60)
        assert status == 200, answer
        leased += len(answer["jobs"])
    return leased


def test_three_sweepers_handle_each_of_ten_thousand_due_timers_once(
        cluster: Cluster, figures: dict[str, object]) -> None:
    gateway = cluster.start_node("gateway", roles="gateway,api")
    checks.publish(gateway.url, TIMER)
    checks.start_workflows(gateway.url, TIMERS, definition="timer")
    assert _lease_everything(gateway.url) == TIMERS
    time.sleep(1.5)  # the leases lapse: every timer is due before a sweeper starts
    began = time.monotonic()
    sweepers = [cluster.start_node(f"sweeper{i}", roles="sweeper", wait=False)
                for i in range(3)]
    for sweeper in sweepers:
        cluster.wait_ready(sweeper)
    while (counts := asyncio.run(_counts(cluster.dsn())))["leased"]:
        assert time.monotonic() - began < 120, f"timers still due: {counts}"
        time.sleep(0.2)
    handled_s = time.monotonic() - began
    assert counts == {"leased": 0, "expired_once": TIMERS, "second_attempts": TIMERS,
                      "later_attempts": 0}, counts
    for index in range(2):
        cluster.start_worker(f"w{index}", [gateway.url], delay=0, batch=500,
                             operations="tick")
    checks.wait_until_settled(gateway.url)
    outcome = checks.check(cluster, gateway.url, TIMER)
    assert outcome.statuses == {"completed": TIMERS}
    assert outcome.redone() == TIMERS
    figures.update(outcome.figures(
        fault="3 sweepers, 10,000 lapsed leases due at once", timers=TIMERS,
        handled_twice=counts["later_attempts"], recovery_s=round(handled_s, 3)))
