"""What every part of the engine shares: the database, the definitions, the clock, and
whoever observes what it did."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np

from relentless.core.batch import allocate_outputs
from relentless.core.kernel import advance
from relentless.core.status import Status
from relentless.engine.catalog import Catalog
from relentless.engine.clock import Clock
from relentless.engine.observations import Observations, Observer, ignore
from relentless.store.database import Connection, Database


@dataclass(frozen=True, slots=True)
class EngineContext:
    database: Database
    catalog: Catalog
    clock: Clock
    observer: Observer = field(default=ignore)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[tuple[Connection, Observations]]:
        """A transaction and what it does, told to the observer once it committed."""
        seen = Observations()
        async with self.database.transaction() as connection:
            yield connection, seen
        self.observer(seen)

    def advance(self, rows: list[tuple[int, int, int]]) -> list[tuple[int, Status]]:
        """Next node and status of each (kernel definition id, node, label) row."""
        if not rows:
            return []
        columns = np.array(rows, dtype=np.int32).T
        out_next, out_status = allocate_outputs(len(rows))
        advance(self.catalog.tables, np.ascontiguousarray(columns[0]),
                np.ascontiguousarray(columns[1]), np.ascontiguousarray(columns[2]),
                out_next, out_status)
        return [(int(target), Status(status))
                for target, status in zip(out_next.tolist(), out_status.tolist(), strict=True)]
