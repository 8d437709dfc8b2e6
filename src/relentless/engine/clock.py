"""Where the engine's time comes from: PostgreSQL's clock (a cluster's one clock), this
machine's, or a test's hand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """The engine reads the time only from its clock, and passes it to every statement."""

    def now(self) -> datetime: ...


class SystemClock:
    """This machine's wall-clock time, UTC: for tools and tests on one machine (a
    cluster's nodes use DatabaseClock)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """Time that moves only when told to: deterministic tests of timers."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move time forward by ``seconds``; returns the new time."""
        self._now += timedelta(seconds=seconds)
        return self._now


class DatabaseClock:
    """PostgreSQL's time, read through this node's clock and a measured offset.

    Every node of a cluster takes its time from the one database server, so node clocks
    may be off by minutes without effect: ``synchronise`` measures the offset (half the
    round trip is the error bound) and is called every few seconds by the service.
    """

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self.error = timedelta(0)
        """Half the round trip of the last measurement: how far off ``now`` may be."""

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    async def synchronise(self, read_database_time: Callable[[], Awaitable[datetime]]) -> None:
        """Measure the offset with ``read_database_time`` (a query of clock_timestamp())."""
        sent = datetime.now(UTC)
        database_time = await read_database_time()
        answered = datetime.now(UTC)
        self._offset = database_time - (sent + (answered - sent) / 2)
        self.error = (answered - sent) / 2
