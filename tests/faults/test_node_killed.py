"""SIGKILL of a server node under load: three nodes, workers spread over them."""

from __future__ import annotations

import time

from tests.faults import checks
from tests.faults.cluster import Cluster

WORKFLOWS = 600


def test_a_node_killed_under_load_loses_nothing(cluster: Cluster,
                                                figures: dict[str, object]) -> None:
    first = cluster.start_node("n1")
    second, third = (cluster.start_node(name, wait=False) for name in ("n2", "n3"))
    for node in (second, third):
        cluster.wait_ready(node)
    nodes = [first, second, third]
    checks.publish(first.url)
    checks.start_workflows(first.url, WORKFLOWS)
    for index in range(6):
        turn = index % 3
        urls = [node.url for node in nodes[turn:] + nodes[:turn]]
        cluster.start_worker(f"w{index}", urls, delay=0.2, lease_seconds=3)
    while len(cluster.acknowledged()) < WORKFLOWS:  # a third of the work done
        time.sleep(0.05)
    fault_at = time.time()
    second.kill()
    settled = checks.wait_until_settled(first.url)
    outcome = checks.check(cluster, first.url)
    assert first.alive and third.alive
    assert outcome.statuses == {"completed": WORKFLOWS}
    figures.update(outcome.figures(
        fault="SIGKILL of one of three nodes", recovery_s=checks.recovered_after(
            cluster, fault_at), settled_after_fault_s=round(settled, 3)))
