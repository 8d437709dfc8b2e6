"""SIGKILL of a worker mid-batch: its leases expire and each of its jobs is redone once."""

from __future__ import annotations

import time

from tests.faults import checks
from tests.faults.cluster import Cluster

WORKFLOWS = 200
LEASE_SECONDS = 2.0


def test_a_worker_killed_mid_batch_has_its_work_redone_once(
        cluster: Cluster, figures: dict[str, object]) -> None:
    node = cluster.start_node("n1")
    checks.publish(node.url)
    checks.start_workflows(node.url, WORKFLOWS)
    # The victim leases a batch and is killed while working on it (it would take 60 s).
    victim = cluster.start_worker("victim", [node.url], delay=60, batch=50,
                                  lease_seconds=LEASE_SECONDS)
    while not cluster.leased(victim):
        time.sleep(0.02)
    fault_at = time.time()
    victim.kill()
    held = cluster.leased(victim)
    for index in range(3):
        cluster.start_worker(f"w{index}", [node.url], delay=0.05, lease_seconds=30)
    settled = checks.wait_until_settled(node.url)
    outcome = checks.check(cluster, node.url)
    assert outcome.statuses == {"completed": WORKFLOWS}
    attempts = {entry["job_id"].rsplit(".", 1)[0]: entry["attempt"]
                for history in outcome.histories.values() for entry in history}
    for job_id in held:
        step = job_id.rsplit(".", 1)[0]
        assert attempts[step] == 2, f"{job_id}: decided by attempt {attempts[step]}, not 2"
    assert outcome.redone() == len(held), "only the victim's jobs were redone"
    acks = cluster.acknowledged()
    redone_at = max(acks[f"{job_id.rsplit('.', 1)[0]}.2"] for job_id in held)
    figures.update(outcome.figures(
        fault="SIGKILL of a worker holding a batch", held_by_killed_worker=len(held),
        lease_seconds=LEASE_SECONDS, recovery_s=round(redone_at - fault_at, 3),
        settled_after_fault_s=round(settled, 3)))
