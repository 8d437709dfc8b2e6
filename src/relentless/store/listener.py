"""The LISTEN connection: PostgreSQL's notifications delivered to whoever subscribed.

It is a connection of its own (a pooled one would be reset and lose its LISTEN). When
it is lost (PostgreSQL restarted, a network cut) it is opened again with backoff, and
every subscriber is called once it is back: work may have appeared meanwhile. While it
is down nothing is lost: waiters poll on their own, only later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

READY_CHANNEL = "relentless_ready"
"""Notified (once per transaction) when jobs became ready; see queries.sql and
``ready_payload`` for what the payload says."""
MAX_PAYLOAD = 7_900
"""PostgreSQL refuses payloads of 8,000 bytes or more."""
RETRY_INITIAL_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0


def ready_payload(ready_now: Iterable[str],
                  ready_later: Iterable[tuple[str, int]] = ()) -> str:
    """What a NOTIFY says: the operations whose jobs are ready now (``a,b``) and those
    ready after a delay in milliseconds (``c+1500``); empty (wake everyone) if too long."""
    items = sorted(set(ready_now)) + [f"{op}+{ms}" for op, ms in sorted(set(ready_later))]
    payload = ",".join(items)
    return payload if len(payload.encode()) <= MAX_PAYLOAD else ""


class Listener:
    """Calls every subscriber with the payload when ``READY_CHANNEL`` is notified, and
    with an empty payload (anything may be ready) on reconnecting."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[str], None]] = []
        self._connection: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self.reconnects = 0
        """How many times the connection was opened again after being lost."""

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    def subscribe(self, callback: Callable[[str], None]) -> None:
        self._subscribers.append(callback)

    async def start(self, dsn: str) -> None:
        """Listen now if PostgreSQL answers, and keep listening from then on."""
        if not await self._connect(dsn):
            self._lost.set()
        self._keeper = asyncio.create_task(self._keep(dsn), name="relentless listener")

    async def stop(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.remove_termination_listener(self._terminated)
            with contextlib.suppress(Exception):
                await connection.close()

    async def _keep(self, dsn: str) -> None:
        """Whenever the connection is lost, open it again (with backoff) and wake all."""
        while True:
            await self._lost.wait()
            delay = RETRY_INITIAL_SECONDS
            while not await self._connect(dsn):
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
            self.reconnects += 1
            log.info("LISTEN connection back; waking every long-poll")
            self._tell("")

    async def _connect(self, dsn: str) -> bool:
        self._lost.clear()
        connection: asyncpg.Connection | None = None
        try:
            connection = await asyncpg.connect(dsn)
            await connection.add_listener(READY_CHANNEL, self._notified)
            connection.add_termination_listener(self._terminated)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("no LISTEN connection (%s); long-polls fall back to polling", exc)
            if connection is not None:
                connection.terminate()
            return False
        self._connection = connection
        return True

    def _terminated(self, *_: Any) -> None:
        log.warning("LISTEN connection lost; long-polls fall back to polling until it is back")
        self._connection = None
        self._lost.set()

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: object) -> None:
        self._tell(payload if isinstance(payload, str) else "")

    def _tell(self, payload: str) -> None:
        for callback in self._subscribers:
            callback(payload)
