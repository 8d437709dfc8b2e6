"""How a worker behaves: where it connects, how much it takes on, how it paces itself."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, fields

from relentless.errors import UserError
from relentless.protocol import MAX_BATCH

MAX_WAIT_SECONDS = 60.0
"""The longest long poll the server allows."""


class WorkerConfigError(UserError):
    """A worker setting is wrong; the message names it and says what it may be."""


def default_name() -> str:
    """``host-pid``: unique enough among the workers of one deployment, and readable."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Every setting of a worker; ``Worker(**settings)`` and ``worker.configure`` take these.

    - ``concurrency``: handlers running at once (and jobs held at once).
    - ``batch``: the most jobs per lease and completions per request.
    - ``lease_seconds``: how long a lease lasts before it must be extended (the server
      may grant less: never past the node's attempt timeout).
    - ``wait_seconds``: how long a lease request waits for work (the long poll); a stop
      waits for the poll in flight, so this bounds how long stopping takes when idle.
    - ``flush_seconds``: how long a completion may wait for others to share its request.
    - ``heartbeat_fraction``: extend a lease once this fraction of it has passed.
    - ``grace_seconds``: on stop, how long running handlers may take to finish before
      they are cancelled and their jobs released.
    - ``retry_initial_seconds``, ``retry_max_seconds``: backoff after network errors.
    - ``request_timeout_seconds``: one request's limit (a long poll gets its wait on top).
    """

    url: str | None = None
    token: str | None = None
    name: str = field(default_factory=default_name)
    concurrency: int = 10
    batch: int = 10
    lease_seconds: float = 30.0
    wait_seconds: float = 5.0
    flush_seconds: float = 0.05
    heartbeat_fraction: float = 0.5
    grace_seconds: float = 30.0
    retry_initial_seconds: float = 0.2
    retry_max_seconds: float = 10.0
    request_timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        _check(self.concurrency >= 1, "concurrency", self.concurrency, "at least 1")
        _check(1 <= self.batch <= MAX_BATCH, "batch", self.batch, f"from 1 to {MAX_BATCH}")
        _check(0 < self.lease_seconds <= 86_400, "lease_seconds", self.lease_seconds,
               "more than 0 and at most 86400")
        _check(0 <= self.wait_seconds <= MAX_WAIT_SECONDS, "wait_seconds", self.wait_seconds,
               f"from 0 to {MAX_WAIT_SECONDS:g}")
        _check(0 < self.heartbeat_fraction < 1, "heartbeat_fraction", self.heartbeat_fraction,
               "between 0 and 1")
        for name in ("flush_seconds", "grace_seconds"):
            _check(getattr(self, name) >= 0, name, getattr(self, name), "0 or more")
        for name in ("retry_initial_seconds", "retry_max_seconds", "request_timeout_seconds"):
            _check(getattr(self, name) > 0, name, getattr(self, name), "more than 0")
        _check(bool(self.name) and len(self.name) <= 200, "name", self.name,
               "1 to 200 characters")

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))


def _check(ok: bool, name: str, value: object, allowed: str) -> None:
    if not ok:
        raise WorkerConfigError(f"worker setting {name} is {value!r}; it must be {allowed}")
