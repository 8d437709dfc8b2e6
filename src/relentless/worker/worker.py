"""The Worker: handlers registered per operation, and a run that serves them until stopped."""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from relentless.worker.jobs import Handler
from relentless.worker.runner import Run
from relentless.worker.settings import WorkerConfigError, WorkerSettings
from relentless.worker.stats import WorkerStats

log = logging.getLogger("relentless.worker")

H = TypeVar("H", bound=Handler)

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Worker:
    """Leases jobs of the operations it has handlers for, runs them, completes them.

    ::

        worker = Worker("http://127.0.0.1:8080", token, concurrency=20)

        @worker.operation("charge_card")
        async def charge(job: Job) -> str | tuple[str, dict] | Result:
            ...
            return "ok"

        await worker.run()          # until worker.stop(), or SIGINT/SIGTERM with
                                    # handle_signals=True

    A handler returns one of ``job.labels`` (optionally with an output dict). If it
    raises, or returns a label the node does not offer, the error is logged and the
    job released, so that the step is offered again (the same attempt).
    """

    def __init__(self, url: str | None = None, token: str | None = None,
                 **settings: Any) -> None:
        self._settings = _settings(WorkerSettings(), url=url, token=token, **settings)
        self._handlers: dict[str, Handler] = {}
        self.stats = WorkerStats()
        self._run: Run | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested = False
        self._signals_seen = 0

    @property
    def settings(self) -> WorkerSettings:
        return self._settings

    @property
    def operations(self) -> tuple[str, ...]:
        """The operations this worker has handlers for, in registration order."""
        return tuple(self._handlers)

    @property
    def handlers(self) -> Mapping[str, Handler]:
        return dict(self._handlers)

    @property
    def running(self) -> bool:
        return self._run is not None

    @property
    def held(self) -> int:
        """Jobs held right now: running, or waiting for the server to take their answer."""
        return self._run.held if self._run is not None else 0

    def configure(self, **changes: Any) -> None:
        """Change settings (``url``, ``token``, ``concurrency``, ...) before ``run``;
        a None leaves that setting as it is."""
        if self._run is not None:
            raise WorkerConfigError("a running worker cannot be configured; stop it first")
        self._settings = _settings(self._settings, **changes)

    def operation(self, name: str) -> Callable[[H], H]:
        """Register the decorated ``async def handler(job)`` for operation ``name``."""
        if not isinstance(name, str) or not name:
            raise WorkerConfigError(f"an operation name is a non-empty string, not {name!r}")

        def register(handler: H) -> H:
            if name in self._handlers:
                raise WorkerConfigError(f"operation {name!r} already has a handler: "
                                        f"{self._handlers[name].__qualname__}")
            function: object = handler  # checked as an object: the check narrows its type
            if not inspect.iscoroutinefunction(function):
                raise WorkerConfigError(f"the handler of {name!r} must be an async def "
                                        f"function")
            self._handlers[name] = handler
            return handler

        return register

    async def run(self, *, handle_signals: bool = False) -> None:
        """Serve until stopped; then finish or release every held job, and return.

        With ``handle_signals``, SIGINT and SIGTERM stop the worker (a second one stops
        it at once, releasing running jobs). Raises RequestRefused if the server refuses
        to lease (a wrong token, say), after handing back what it holds.
        """
        self._check_runnable()
        self._loop = asyncio.get_running_loop()
        self._run = Run(self._settings, self._handlers, self.stats)
        if self._stop_requested:
            self._run.stop()
        installed = self._install_signals() if handle_signals else ()
        log.info("worker %s serving %s from %s (concurrency %d, batch %d)",
                 self._settings.name, ", ".join(self._handlers), self._settings.url,
                 self._settings.concurrency, self._settings.batch)
        try:
            await self._run.serve()
        finally:
            for number in installed:
                self._loop.remove_signal_handler(number)
            self._run = None
            self._stop_requested = False
            self._signals_seen = 0
            log.info("worker %s stopped", self._settings.name)

    def stop(self, *, force: bool = False) -> None:
        """Ask the worker to stop (from any thread); ``run`` returns once it has.

        It leases nothing more, lets running handlers finish for up to
        ``grace_seconds`` and releases what is left; ``force`` releases them at once.
        Called before ``run`` starts, it makes that run return at once.
        """
        self._stop_requested = True
        loop = self._loop
        if loop is not None and loop.is_running() and not _in_loop(loop):
            loop.call_soon_threadsafe(self._stop_here, force)
        else:
            self._stop_here(force)

    def _stop_here(self, force: bool) -> None:
        if self._run is None:
            return
        if force:
            self._run.force()
        else:
            self._run.stop()

    def _check_runnable(self) -> None:
        if self._run is not None:
            raise WorkerConfigError("this worker is already running")
        missing = [name for name in ("url", "token") if not getattr(self._settings, name)]
        if missing:
            raise WorkerConfigError(f"the worker needs {' and '.join(missing)}: pass them to "
                                    f"Worker(...) or worker.configure(...)")
        if not self._handlers:
            raise WorkerConfigError("the worker has no handlers; register some with "
                                    "@worker.operation(name)")

    def _install_signals(self) -> tuple[int, ...]:
        assert self._loop is not None
        for number in _SIGNALS:
            self._loop.add_signal_handler(number, self._signalled, number)
        return _SIGNALS

    def _signalled(self, number: int) -> None:
        self._signals_seen += 1
        name = signal.Signals(number).name
        if self._signals_seen == 1:
            log.info("%s: stopping; finishing %d held jobs (again to stop at once)", name,
                     self.held)
            self.stop()
        else:
            log.info("%s again: releasing held jobs and stopping now", name)
            self.stop(force=True)


def _settings(base: WorkerSettings, **changes: Any) -> WorkerSettings:
    unknown = sorted(set(changes) - WorkerSettings.names())
    if unknown:
        raise WorkerConfigError(f"unknown worker settings {unknown}; known: "
                                f"{sorted(WorkerSettings.names())}")
    return replace(base, **{name: value for name, value in changes.items()
                            if value is not None})


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
