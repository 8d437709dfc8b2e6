"""The worker SDK: lease jobs over HTTP, run a handler per operation, complete in batches.

Only the worker protocol is used (lease, complete, fail, heartbeat, release); a worker needs
the server's URL and a worker token, never the database.
"""

from __future__ import annotations

from relentless.worker.jobs import Handler, HandlerBug, Job, Outcome, PermanentFailure, Result
from relentless.worker.settings import WorkerConfigError, WorkerSettings
from relentless.worker.stats import WorkerStats
from relentless.worker.transport import GatewayError, RequestRefused, Retry, Unavailable
from relentless.worker.worker import Worker

__all__ = [
    "GatewayError",
    "Handler",
    "HandlerBug",
    "Job",
    "Outcome",
    "PermanentFailure",
    "RequestRefused",
    "Result",
    "Retry",
    "Unavailable",
    "Worker",
    "WorkerConfigError",
    "WorkerSettings",
    "WorkerStats",
]
