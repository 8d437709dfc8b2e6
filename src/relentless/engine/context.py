"""What every part of the engine shares: the database, the definitions and the clock."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from relentless.core.batch import allocate_outputs
from relentless.core.kernel import advance
from relentless.core.status import Status
from relentless.engine.catalog import Catalog
from relentless.engine.clock import Clock
from relentless.store.database import Database


@dataclass(frozen=True, slots=True)
class EngineContext:
    database: Database
    catalog: Catalog
    clock: Clock

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
