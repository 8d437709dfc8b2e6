"""Wakes long-polling leases when work appears anywhere, through LISTEN/NOTIFY.

Any node's transaction that makes a job ready sends one NOTIFY; every node's waker
hears it and releases its waiting leases, which then try again. Waiters also wake
on their own every ``POLL_SECONDS`` (retries whose backoff ends send no NOTIFY, and
a lost listener connection must not strand anyone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

CHANNEL = "relentless_ready"
POLL_SECONDS = 1.0

log = logging.getLogger(__name__)


class Waker:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._connection: asyncpg.Connection | None = None

    async def start(self, dsn: str) -> None:
        try:
            self._connection = await asyncpg.connect(dsn)
            await self._connection.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("no LISTEN connection (%s); long-polls fall back to polling", exc)

    async def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()

    def _notified(self, *_: Any) -> None:
        self.wake()

    def wake(self) -> None:
        """Release everyone waiting now; later waiters wait for the next wake."""
        event, self._event = self._event, asyncio.Event()
        event.set()

    def generation(self) -> asyncio.Event:
        """Take this before looking for work, then wait on it: no wake-up is lost between."""
        return self._event

    @staticmethod
    async def wait(generation: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(generation.wait(), min(timeout, POLL_SECONDS))
