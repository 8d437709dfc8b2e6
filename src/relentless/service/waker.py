"""Wakes long-polling leases when work appears anywhere, through the store's listener.

Any node's transaction that makes a job ready sends one NOTIFY; every node's listener
hears it and the waker releases its waiting leases, which then try again. Waiters
also wake on their own every ``POLL_SECONDS`` (retries whose backoff ends send no
NOTIFY, and a lost listener connection must not strand anyone).
"""

from __future__ import annotations

import asyncio
import contextlib

POLL_SECONDS = 1.0


class Waker:
    def __init__(self) -> None:
        self._event = asyncio.Event()

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
