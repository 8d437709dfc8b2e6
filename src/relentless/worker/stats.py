"""Counters of what a worker did: for logs, tests and the demo's summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class WorkerStats:
    """Totals since the worker was created; requests counts HTTP requests by path."""

    leased: int = 0
    accepted: int = 0
    stale: int = 0
    rejected: int = 0
    released: int = 0
    failed: int = 0
    """Attempts this worker failed (handlers that raised), as the server accepted them."""
    handler_errors: int = 0
    handler_bugs: int = 0
    leases_lost: int = 0
    leases_extended: int = 0
    retried_requests: int = 0
    refused_requests: int = 0
    requests: Counter[str] = field(default_factory=Counter)

    @property
    def finished(self) -> int:
        """Jobs handed back one way or another: completed or failed (any answer), or
        released."""
        return self.accepted + self.stale + self.rejected + self.released + self.failed
