"""What one measured run does (a Trial), and what a worker process is told (an Order)."""

from __future__ import annotations

from dataclasses import dataclass, replace

SYSTEMS = ("relentless", "pgqueuer", "procrastinate", "dbos")
"""Every system the harness runs, in the order rounds visit them."""
VARIANTS = ("relentless_nometrics",)
"""Systems run only when asked for by name: Relentless with metrics off."""


@dataclass(frozen=True, slots=True)
class Trial:
    """One run: ``workflows`` chains of ``steps`` no-op steps through ``workers`` processes.

    - ``batch``: jobs per lease (Relentless) or per dequeue (the queues).
    - ``pollers``: long-polling workers spread over the processes; 0 means one per
      process (the throughput runs). The latency sweep sets it to 10, 100 or 500.
    - ``arrivals_per_s``: 0 starts every workflow before the workers go (throughput);
      otherwise workflows are started at this rate while the workers run (latency).
    - ``timeout_s``: a run not finished by then is stopped there (capped): its rate is
      the steps finished in its window, which for the slower peers leaves out only
      their slower tail, and keeps ``--compare`` within ten minutes.
    """

    system: str
    workflows: int = 2_000
    steps: int = 10
    workers: int = 4
    batch: int = 100
    pollers: int = 0
    arrivals_per_s: float = 0.0
    timeout_s: float = 30.0

    @property
    def total_steps(self) -> int:
        return self.workflows * self.steps

    @property
    def paced(self) -> bool:
        """Whether workflows arrive during the run rather than all before it."""
        return self.arrivals_per_s > 0

    def pollers_in(self, process: int) -> int:
        """How many long-polling workers process ``process`` (0-based) runs."""
        if self.pollers <= 0:
            return 1
        share, extra = divmod(self.pollers, self.workers)
        return share + (1 if process < extra else 0)

    def but(self, **changes: object) -> Trial:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Order:
    """What a worker process needs: the trial, its index, and where to find the work.

    ``dsn`` is the run's database (the queues and DBOS talk to it); ``url`` and
    ``token`` are the Relentless server's (its workers never see the database).
    """

    trial: Trial
    index: int
    dsn: str
    url: str = ""
    token: str = ""
