"""PostgreSQL restarted in immediate mode under load (defect 2 of issue 11): no node
dies, nothing is lost, and each node's LISTEN comes back, so long-polls are woken by
NOTIFY again (the waker's fallback poll is pushed to 60 s: only a NOTIFY wakes sooner)."""

from __future__ import annotations

import time

from tests.faults import checks, probes
from tests.faults.cluster import Cluster

WORKFLOWS = 400


def test_an_immediate_restart_of_postgres_under_load_loses_nothing_and_listen_returns(
        cluster: Cluster, figures: dict[str, object]) -> None:
    first = cluster.start_node("n1", poll_seconds=60)
    second = cluster.start_node("n2", poll_seconds=60)
    checks.publish(first.url)
    checks.publish(first.url, probes.PROBE)
    before = probes.latencies(first.url, second.url, rounds=2)
    checks.start_workflows(first.url, WORKFLOWS)
    for index in range(4):
        urls = [first.url, second.url] if index % 2 else [second.url, first.url]
        cluster.start_worker(f"w{index}", urls, delay=0.1, lease_seconds=5)
    while len(cluster.acknowledged()) < WORKFLOWS:
        time.sleep(0.05)
    fault_at, began = time.time(), time.monotonic()
    cluster.pg_ctl("-m", "immediate", "-w", "-l", str(cluster.data_dir / "log"), "restart")
    restarted_s = time.monotonic() - began
    for node in (first, second):
        cluster.wait_ready(node)  # "ready", not "degraded: no LISTEN"
    listening_s = time.monotonic() - began
    settled = checks.wait_until_settled(first.url)
    assert first.alive and second.alive, "no node died"
    outcome = checks.check(cluster, first.url, checks.DEFINITION, probes.PROBE)
    assert outcome.statuses == {"completed": WORKFLOWS + before["samples"]}
    after = probes.latencies(first.url, second.url)
    assert after["max_ms"] < 100, f"long-polls woke slower than 100 ms: {after}"
    figures.update(outcome.figures(
        fault="pg_ctl -m immediate restart under load", postgres_back_s=round(restarted_s, 3),
        recovery_s=round(listening_s, 3), settled_after_fault_s=round(settled, 3),
        first_ack_after_fault_s=checks.recovered_after(cluster, fault_at),
        wake_before=before, wake_after=after))
