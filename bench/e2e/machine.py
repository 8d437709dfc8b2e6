"""The machine a result was measured on, and how busy it was: stored with every result.

Other tenants share this machine's cores, so the CPU time stolen from us by the
hypervisor during the run, and the load before it, are part of the figures' meaning.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

SAMPLE_EVERY_S = 1.0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _commit() -> str | None:
    """The repository's commit (read only), so a result can be traced to its code."""
    try:
        answer = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return answer.stdout.strip() or None


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """Cumulative CPU jiffies from /proc/stat: all of them, and those stolen."""

    total: int
    steal: int

    @classmethod
    def now(cls) -> CpuTimes:
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        except (OSError, IndexError):
            return cls(0, 0)
        values = [int(value) for value in fields]
        return cls(sum(values[:8]), values[7] if len(values) > 7 else 0)

    def steal_percent_since(self, earlier: CpuTimes) -> float | None:
        elapsed = self.total - earlier.total
        return round(100 * (self.steal - earlier.steal) / elapsed, 1) if elapsed > 0 else None


class Neighbours:
    """CPU used by processes that are not the benchmark's, sampled every second in a thread.

    Ours are this process and its descendants (servers, workers) and the PostgreSQL
    server's processes; everything else (another session's tests, say) is a neighbour.
    A process living less than a second between two samples goes unseen.
    """

    def __init__(self, postmaster: int | None) -> None:
        self._postmaster = postmaster
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_forever, daemon=True)
        self._used: dict[str, float] = {}
        self._ours = 0.0
        self._began = 0.0

    def __enter__(self) -> Neighbours:
        self._began = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _family(self) -> set[int]:
        pids = {os.getpid()}
        for root in (os.getpid(), self._postmaster):
            if root is None:
                continue
            pids.add(root)
            try:
                pids.update(child.pid for child in psutil.Process(root).children(recursive=True))
            except psutil.Error:
                continue
        return pids

    def _sample_forever(self) -> None:
        last = _times()
        while not self._stop.wait(SAMPLE_EVERY_S):
            now, family = _times(), self._family()
            for pid, (name, seconds) in now.items():
                if pid in last:
                    used = seconds - last[pid][1]
                    if pid in family:
                        self._ours += used
                    else:
                        self._used[name] = self._used.get(name, 0.0) + used
            last = now

    def report(self) -> dict[str, Any]:
        """Neighbours' CPU as a share of the machine over the run, and the busiest by name."""
        capacity = max(time.monotonic() - self._began, 1e-9) * (os.cpu_count() or 1)
        return {"others_percent": round(100 * sum(self._used.values()) / capacity, 1),
                "ours_percent": round(100 * self._ours / capacity, 1),
                "busiest_others": {name: round(100 * seconds / capacity, 1)
                                   for name, seconds in sorted(self._used.items(),
                                                               key=lambda kv: -kv[1])[:5]
                                   if seconds > 0}}


def _times() -> dict[int, tuple[str, float]]:
    found = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is not None:
            found[process.pid] = (process.info["name"] or "?", times.user + times.system)
    return found


def describe(started: datetime, before: CpuTimes, load_before: tuple[float, ...],
             postgres: dict[str, str], neighbours: dict[str, Any]) -> dict[str, Any]:
    """Everything about the machine and its load that a reader needs to weigh the figures."""
    return {
        "when": started.isoformat(timespec="seconds"),
        "cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0], "postgres": postgres,
        "commit": _commit(),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "cpu_steal_percent_during": CpuTimes.now().steal_percent_since(before),
        "cpu_of_other_processes": neighbours,
        "note": "server, PostgreSQL and every worker process share these cores; the load "
                "average counts our own processes too; cpu_of_other_processes is what "
                "processes that are not the benchmark's used meanwhile (other sessions), "
                "steal what the hypervisor gave other machines",
    }


def now() -> datetime:
    return datetime.now(UTC)
