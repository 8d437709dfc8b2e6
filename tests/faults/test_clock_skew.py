"""Node clocks 60 s ahead and 60 s behind (libfaketime; defect 1 of issue 11): every
time comes from PostgreSQL, so no lease of a healthy worker expires and no step needs
a second attempt, though the leases (10 s) are far shorter than the skew."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time

import asyncpg
import pytest

from tests.faults import checks
from tests.faults.cluster import Cluster

WORKFLOWS = 120
LEASE_SECONDS = 10.0
SKEW = 60


def _faketime(offset: str) -> list[str]:
    return ["faketime", "-f", offset]


def _skew_of(offset: str) -> float:
    """How far the clock of a process under ``faketime offset`` is from ours."""
    ours = time.time()
    theirs = float(subprocess.run([*_faketime(offset), sys.executable, "-c",
                                   "import time; print(time.time())"],
                                  capture_output=True, text=True, check=True).stdout)
    return theirs - ours


async def _attempts(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT count(*) FILTER (WHERE state = 'expired') AS expired,"
            " count(*) FILTER (WHERE attempt > 1) AS later_attempts FROM relentless_jobs")
        return dict(rows[0])
    finally:
        await connection.close()


@pytest.mark.skipif(shutil.which("faketime") is None,
                    reason="needs libfaketime (apt-get install faketime; .ci/run does)")
def test_nodes_skewed_a_minute_either_way_expire_no_healthy_lease(
        cluster: Cluster, figures: dict[str, object]) -> None:
    assert abs(_skew_of(f"+{SKEW}s") - SKEW) < 5, "faketime moves a process's clock"
    # The owner (and so PostgreSQL) keeps the true time; the skewed nodes join it.
    true = cluster.start_node("true", roles="gateway,api")
    env = {"FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    ahead = cluster.start_node("ahead", roles="sweeper", prefix=_faketime(f"+{SKEW}s"),
                               env=env)
    behind = cluster.start_node("behind", prefix=_faketime(f"-{SKEW}s"), env=env)
    checks.publish(behind.url)
    checks.start_workflows(behind.url, WORKFLOWS // 2)
    checks.start_workflows(true.url, WORKFLOWS // 2)
    for index in range(4):
        urls = [behind.url, true.url] if index % 2 else [true.url, behind.url]
        # Each batch takes 1 s, well within its 10 s lease: a healthy worker.
        cluster.start_worker(f"w{index}", urls, delay=1.0, batch=10,
                             lease_seconds=LEASE_SECONDS)
    settled = checks.wait_until_settled(true.url, timeout=120)
    outcome = checks.check(cluster, true.url)
    attempts = asyncio.run(_attempts(cluster.dsn()))
    assert ahead.alive and behind.alive
    assert outcome.statuses == {"completed": WORKFLOWS}
    assert attempts == {"expired": 0, "later_attempts": 0}, attempts
    figures.update(outcome.figures(
        fault=f"one node {SKEW} s ahead (sweeper), one {SKEW} s behind (all roles)",
        lease_seconds=LEASE_SECONDS, expired_leases=attempts["expired"],
        extra_attempts=attempts["later_attempts"], settled_s=round(settled, 3),
        recovery_s=0.0))
