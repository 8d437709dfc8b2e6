"""The LISTEN connection: PostgreSQL's notifications delivered to whoever subscribed.

It is a connection of its own (a pooled one would be reset and lose its LISTEN).
Without it nothing is lost: waiters poll on their own, only later.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

READY_CHANNEL = "relentless_ready"
"""Notified (once per transaction) when jobs became ready; see queries.sql."""


class Listener:
    """Calls every subscriber when ``READY_CHANNEL`` is notified."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[], None]] = []
        self._connection: asyncpg.Connection | None = None

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._subscribers.append(callback)

    async def start(self, dsn: str) -> None:
        try:
            self._connection = await asyncpg.connect(dsn)
            await self._connection.add_listener(READY_CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("no LISTEN connection (%s); long-polls fall back to polling", exc)

    async def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None

    def _notified(self, *_: Any) -> None:
        for callback in self._subscribers:
            callback()
