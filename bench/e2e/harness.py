"""Worker processes: spawned, held at a gate until every one is ready, released together,
stopped once the work is done, and their timestamps collected.

Processes are spawned, not forked: the parent runs an event loop and database
connections that a forked child must not inherit. Each child reports the steps it
finished through one shared counter (added to every few milliseconds, so the hot
path never takes a cross-process lock), which the parent watches for progress and
for the end of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import multiprocessing
import queue
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from bench.e2e.samples import Recorder
from bench.e2e.trial import Order

REPORT_EVERY_S = 0.02
"""How often a child adds its finished steps to the shared counter."""
READY_TIMEOUT_S = 60.0
COLLECT_TIMEOUT_S = 30.0

_spawn = multiprocessing.get_context("spawn")


@dataclass(slots=True)
class Signals:
    """What the parent and its children share; created by the parent, passed at spawn."""

    ready: Any
    steps: Any
    go: Any
    stop: Any
    results: Any

    @classmethod
    def create(cls) -> Signals:
        return cls(_spawn.Value("i", 0), _spawn.Value("q", 0), _spawn.Event(), _spawn.Event(),
                   _spawn.Queue())


class Work(Protocol):
    """A system's worker side: serve ``order`` through ``gate``, return what it recorded."""

    def __call__(self, order: Order, gate: Gate) -> Coroutine[Any, Any, Recorder]: ...


class Gate:
    """A child's side of the signals: say ready, wait for go, count steps, wait for stop."""

    def __init__(self, signals: Signals, recorder: Recorder) -> None:
        self._signals = signals
        self.recorder = recorder
        self._reported = 0

    def ready(self) -> None:
        with self._signals.ready.get_lock():
            self._signals.ready.value += 1

    async def wait_go(self) -> None:
        await asyncio.to_thread(self._signals.go.wait)

    async def wait_stop(self) -> None:
        """Return once the parent says the run is over, reporting progress meanwhile."""
        stop = self._signals.stop
        while not await asyncio.to_thread(stop.wait, REPORT_EVERY_S):
            self.report()
        self.report()

    def report(self) -> None:
        """Add the steps finished since the last report to the shared counter."""
        new = self.recorder.steps - self._reported
        if new:
            with self._signals.steps.get_lock():
                self._signals.steps.value += new
            self._reported += new


def child(order: Order, signals: Signals) -> None:
    """A worker process: run the system's worker side, then send back what it recorded."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    module = importlib.import_module(f"bench.e2e.systems.{order.trial.system}")
    work: Work = module.work
    recorder = Recorder()
    try:
        asyncio.run(work(order, Gate(signals, recorder)))
    finally:
        signals.results.put((order.index, recorder))


class Pool:
    """The worker processes of one run; use as ``async with Pool(orders) as pool``."""

    def __init__(self, orders: list[Order]) -> None:
        self._signals = Signals.create()
        self._processes: list[BaseProcess] = [
            _spawn.Process(target=child, args=(order, self._signals), daemon=True,
                           name=f"e2e-{order.trial.system}-{order.index}")
            for order in orders]

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes if process.pid is not None]

    async def __aenter__(self) -> Pool:
        for process in self._processes:
            process.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        self._signals.stop.set()
        await asyncio.to_thread(self._join)

    async def ready(self) -> None:
        """Wait until every child is connected and waiting at the gate."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT_S
        while self._signals.ready.value < len(self._processes):
            if loop.time() > deadline or not all(p.is_alive() for p in self._processes):
                raise RuntimeError("a worker process did not get ready; see its log above")
            await asyncio.sleep(0.02)

    def go(self) -> None:
        self._signals.go.set()

    @property
    def steps(self) -> int:
        return int(self._signals.steps.value)

    async def until(self, target: int, timeout_s: float,
                    progress: Callable[[int], None]) -> bool:
        """Wait until the children finished ``target`` steps (True) or time ran out (False);
        RuntimeError if a child died, since its steps would be missing from the figures."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (done := self.steps) < target:
            progress(done)
            if not all(p.is_alive() for p in self._processes):
                raise RuntimeError("a worker process died during the run; see its log above")
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.05)
        progress(done)
        return True

    async def collect(self) -> list[Recorder]:
        """Stop the children and take what each recorded."""
        self._signals.stop.set()
        recorders: dict[int, Recorder] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + COLLECT_TIMEOUT_S
        while len(recorders) < len(self._processes) and loop.time() < deadline:
            with contextlib.suppress(queue.Empty):
                index, recorder = await asyncio.to_thread(self._signals.results.get, True, 0.5)
                recorders[index] = recorder
        return [recorders[index] for index in sorted(recorders)]

    def _join(self) -> None:
        """Give each child a moment to exit on its own, then end the ones that did not."""
        for process in self._processes:
            process.join(timeout=10)
        for process in self._processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
