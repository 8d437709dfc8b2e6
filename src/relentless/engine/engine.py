"""The engine: one object wiring the database, the definitions and the clock together."""

from __future__ import annotations

from relentless.engine.catalog import Catalog
from relentless.engine.clock import Clock, SystemClock
from relentless.engine.context import EngineContext
from relentless.engine.sweeper import Sweeper
from relentless.engine.workers import Workers
from relentless.engine.workflows import Workflows
from relentless.store.database import Database


class Engine:
    """Everything the gateway, api and sweeper roles call, grouped by who calls it.

    ``definitions`` publishes and resolves versions; ``workflows`` starts, reads and
    changes workflows; ``workers`` is the worker protocol; ``sweeper`` the timers.
    """

    def __init__(self, database: Database, clock: Clock | None = None) -> None:
        self.database = database
        self.clock = clock or SystemClock()
        self.definitions = Catalog(database)
        context = EngineContext(database, self.definitions, self.clock)
        self.workflows = Workflows(context)
        self.workers = Workers(context)
        self.sweeper = Sweeper(context)

    @classmethod
    async def connect(cls, dsn: str, clock: Clock | None = None, *, min_size: int = 2,
                      max_size: int = 10) -> Engine:
        """An engine on the database at ``dsn``, its schema brought up to date."""
        return cls(await Database.connect(dsn, min_size=min_size, max_size=max_size), clock)

    async def close(self) -> None:
        await self.database.close()
