"""``--profile``: py-spy sampling the Relentless server while the workers run.

py-spy attaches to the server process from outside (no code change, and
``--nonblocking`` so the server is never paused), samples the Python stacks ``RATE``
times a second, idle ones included, and writes collapsed stacks per thread. The
summary looks at the main thread, where the event loop runs every request: how busy
it was (samples not waiting in the event loop's ``select``) and which functions the
busy samples were in, by their own time and including what they called. A sample in
a socket ``write`` is mostly the server waiting for a core while PostgreSQL or a
worker, woken by that write, runs on it: on two shared cores, a round trip costs
two context switches.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

RATE = 200
IDLE_FRAMES = ("select (selectors.py",)
"""A sample whose innermost frame is one of these is the event loop waiting for I/O."""


def _kind(process: psutil.Process, server: int) -> str:
    """Which part of the benchmark a process is: the server, PostgreSQL, a worker, or other."""
    try:
        if process.pid == server:
            return "server"
        if process.name() == "postgres":
            return "postgres"
        command = " ".join(process.cmdline())
    except psutil.Error:
        return "other"
    if "multiprocessing" in command and "spawn" in command:
        return "workers"
    return "harness" if process.pid == os.getpid() else "other"


def _cpu_seconds(server: int) -> dict[int, tuple[str, float]]:
    """Every process's kind and CPU seconds (user + system) so far."""
    found = {}
    for process in psutil.process_iter():
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        found[process.pid] = (_kind(process, server), times.user + times.system)
    return found


class Profiler:
    """py-spy recording one process into ``output`` (collapsed stacks) between start and stop,
    and the CPU time every process of the machine used meanwhile, by kind."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self._process: subprocess.Popen[bytes] | None = None
        self._server = 0
        self._before: dict[int, tuple[str, float]] = {}
        self._began = 0.0
        self.cpu_split: dict[str, float] = {}

    async def start(self, pid: int) -> None:
        self._server = pid
        self._before = _cpu_seconds(pid)
        self._began = time.monotonic()
        executable = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self._process = subprocess.Popen(
            [executable, "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw",
             "--idle", "--threads", "--nonblocking", "--output", str(self.output)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        await asyncio.sleep(0.5)  # attaching takes a moment; samples before it are lost
        if self._process.poll() is not None:
            error = self._process.stderr.read().decode() if self._process.stderr else ""
            raise RuntimeError(f"py-spy could not attach to {pid}: {error.strip()}")

    async def stop(self) -> None:
        """Stop sampling (py-spy writes its output on SIGINT); tally the CPU time used."""
        elapsed = time.monotonic() - self._began
        used: dict[str, float] = {}
        for pid, (kind, seconds) in _cpu_seconds(self._server).items():
            used[kind] = used.get(kind, 0.0) + seconds - self._before.get(pid, (kind, 0.0))[1]
        capacity = elapsed * (os.cpu_count() or 1)
        self.cpu_split = {kind: round(100 * seconds / capacity, 1)
                          for kind, seconds in sorted(used.items(), key=lambda kv: -kv[1])}
        if self._process is None:
            return
        self._process.send_signal(signal.SIGINT)
        await asyncio.to_thread(self._process.wait, 30)


MAIN_THREAD = "MainThread"


def _stacks(path: Path) -> Counter[tuple[str, ...]]:
    """The main thread's collapsed stacks (outermost frame first) and their samples.

    Lines read ``thread (tid): Name;frame;frame;... count``.
    """
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        thread, *rest = frames.split(";")
        if rest and count.isdigit() and thread.endswith(MAIN_THREAD):
            stacks[tuple(rest)] += int(count)
    return stacks


def _short(frame: str) -> str:
    """``function (path/to/module.py:123)`` as ``function (module.py)``."""
    name, _, place = frame.partition(" (")
    module = place.rsplit(":", 1)[0].rsplit("/", 2)
    return f"{name} ({'/'.join(module[-2:])})" if place else name


def summarise(path: Path, top: int = 15) -> dict[str, Any]:
    """Busy share, and the ``top`` functions by self and by inclusive share of busy samples."""
    stacks = _stacks(path)
    total = sum(stacks.values())
    busy = {stack: count for stack, count in stacks.items()
            if not any(marker in stack[-1] for marker in IDLE_FRAMES)}
    busy_total = sum(busy.values()) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, count in busy.items():
        own[_short(stack[-1])] += count
        for frame in {_short(frame) for frame in stack}:
            inclusive[frame] += count
    return {
        "samples": total, "rate_hz": RATE,
        "busy_percent": round(100 * sum(busy.values()) / total, 1) if total else None,
        "self_percent_of_busy": {name: round(100 * count / busy_total, 1)
                                 for name, count in own.most_common(top)},
        "inclusive_percent_of_busy": {name: round(100 * count / busy_total, 1)
                                      for name, count in inclusive.most_common(top * 3)},
    }
