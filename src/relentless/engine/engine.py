"""The engine: one object wiring the database, the definitions, the clock and an observer."""

from __future__ import annotations

from relentless.engine.bulk import Bulk
from relentless.engine.catalog import Catalog
from relentless.engine.clock import Clock, SystemClock
from relentless.engine.context import EngineContext
from relentless.engine.interventions import Interventions
from relentless.engine.listings import Listings
from relentless.engine.observations import Observer, ignore
from relentless.engine.overview import Overview
from relentless.engine.retention import Retention
from relentless.engine.sweeper import Sweeper
from relentless.engine.worker_protocol import WorkerProtocol
from relentless.engine.workflows import Workflows
from relentless.store.database import Database
from relentless.store.store import Store


class Engine:
    """Everything the gateway, api and sweeper roles call, grouped by who calls it.

    ``definitions`` publishes and resolves versions; ``workflows`` starts, reads and
    changes workflows; ``listings`` filters them; ``interventions`` retries steps now
    and claims manual ones; ``bulk`` acts on many; ``workers`` is the worker protocol;
    ``sweeper`` the timers; ``retention`` deletes what is finished and old.
    """

    def __init__(self, database: Database, clock: Clock | None = None,
                 observer: Observer = ignore) -> None:
        self.database = database
        self.clock = clock or SystemClock()
        self.definitions = Catalog(database)
        context = EngineContext(database, self.definitions, self.clock, observer)
        self.workflows = Workflows(context)
        self.listings = Listings(context, self.workflows)
        self.interventions = Interventions(context)
        self.bulk = Bulk(self.workflows, self.listings, self.interventions)
        self.overview = Overview(context)
        self.workers = WorkerProtocol(context)
        self.sweeper = Sweeper(context)
        self.retention = Retention(context)
        self._store: Store | None = None

    @classmethod
    async def connect(cls, dsn: str, clock: Clock | None = None, *, min_size: int = 2,
                      max_size: int = 10) -> Engine:
        """An engine with a store of its own on ``dsn`` (closed with the engine)."""
        store = await Store.open(dsn, pool_size=max_size, min_pool_size=min_size, listen=False)
        engine = cls(store.database, clock)
        engine._store = store
        return engine

    async def close(self) -> None:
        """Close the store this engine opened itself, if any (an app closes its own)."""
        if self._store is not None:
            await self._store.close()
