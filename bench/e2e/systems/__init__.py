"""The systems under test, each one module: a parent side (``SYSTEM``) and a worker side
(``work``), imported only when that system runs, so that running Relentless alone
needs none of the peers installed.

Every system runs the same workload: ``workflows`` chains of ``steps`` no-op steps.
Relentless runs a linear definition; the queues run one job per step, whose handler
enqueues the next step's job; DBOS runs a workflow of ``steps`` steps.
"""

from __future__ import annotations

import importlib
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from bench.e2e.trial import Trial

QUEUE = "e2e"
"""The queue (or DBOS queue) every peer uses."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where workers find the work: the run's database, and a Relentless server if any."""

    dsn: str
    url: str = ""
    token: str = ""
    admin_token: str = ""
    server_pid: int | None = None


class System(Protocol):
    """The parent's side of a system: set up, start workflows, check the end."""

    name: str

    def settings(self, trial: Trial) -> dict[str, Any]:
        """The settings this system runs with: printed and stored with every result."""
        ...

    def tuned(self, trial: Trial) -> Trial:
        """``trial`` at this system's best settings for a 2-core machine (same workload)."""
        ...

    def serving(self, dsn: str, trial: Trial) -> AbstractAsyncContextManager[Endpoint]:
        """Whatever must run besides the workers (a server) while the run lasts."""
        ...

    async def prepare(self, endpoint: Endpoint, trial: Trial) -> None:
        """Schema and definitions, before any measurement."""
        ...

    async def start(self, endpoint: Endpoint, trial: Trial, first: int, count: int) -> None:
        """Start workflows ``first`` .. ``first + count - 1`` (numbered from 0)."""
        ...

    async def finished(self, endpoint: Endpoint, trial: Trial) -> int:
        """How many workflows reached their end, counted in the database after the run."""
        ...


def load(name: str) -> System:
    """The parent side of system ``name``; ImportError names the missing package."""
    module = importlib.import_module(f"bench.e2e.systems.{name}")
    system: System = module.SYSTEM
    return system
