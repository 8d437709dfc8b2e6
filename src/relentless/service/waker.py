"""Wakes long-polling leases when work of their operations appears, one at a time.

A transaction that makes jobs ready sends one NOTIFY naming their operations
(``op1,op2``; ``op+1500`` for a retry ready in 1.5 s). Every node's listener hears it
and the waker wakes, per operation named, the waiter that has waited longest: no
herd of hundreds of idle leases racing for one batch. A woken lease that fills its
batch passes the baton (wakes the next waiter of those operations), since more may be
ready; one that comes back short does not. An empty payload (the listener just came
back, or a sender that names nothing) wakes everyone. Waiters also wake on their own
every ``POLL_SECONDS``: a lost notification must not strand anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable

POLL_SECONDS = 1.0


class Waiter:
    """One long-polling lease, waiting for work of ``operations``."""

    def __init__(self, operations: frozenset[str]) -> None:
        self.operations = operations
        self.woken = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.woken.wait(), min(timeout, POLL_SECONDS))


class Waker:
    def __init__(self) -> None:
        self._queues: dict[str, deque[Waiter]] = {}

    def waiter(self, operations: Iterable[str]) -> Waiter:
        """Register before looking for work, then wait: no wake-up is lost between."""
        waiter = Waiter(frozenset(operations))
        for operation in waiter.operations:
            self._queues.setdefault(operation, deque()).append(waiter)
        return waiter

    def leave(self, waiter: Waiter) -> None:
        for operation in waiter.operations:
            queue = self._queues.get(operation)
            if queue is not None:
                with contextlib.suppress(ValueError):
                    queue.remove(waiter)
                if not queue:
                    del self._queues[operation]

    def wake(self, operations: Iterable[str]) -> None:
        """Wake the longest waiter of each operation (that is not woken already)."""
        for operation in operations:
            for waiter in self._queues.get(operation, ()):
                if not waiter.woken.is_set():
                    waiter.woken.set()
                    break

    def wake_everyone(self) -> None:
        for queue in self._queues.values():
            for waiter in queue:
                waiter.woken.set()

    def notified(self, payload: str) -> None:
        """A notification's payload: operations now ready, or ready after a delay."""
        if not payload:
            self.wake_everyone()
            return
        now = []
        loop = asyncio.get_running_loop()
        for item in payload.split(","):
            operation, _, delay_ms = item.partition("+")
            if delay_ms.isdigit() and int(delay_ms) > 0:
                loop.call_later(int(delay_ms) / 1000, self.wake, [operation])
            else:
                now.append(operation)
        self.wake(now)
