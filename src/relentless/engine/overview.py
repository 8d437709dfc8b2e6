"""What the operator console reads beyond the API's messages: the overview's counts and
a workflow's edge traversal counts, each from one index-backed statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from relentless.engine.context import EngineContext
from relentless.store import statements as sql

THROUGHPUT_WINDOW = timedelta(minutes=15)
"""How far back the overview counts workflows that ended."""


@dataclass(frozen=True, slots=True)
class Counts:
    """Active workflows by definition, status and cause (with those past their step
    deadline and at risk of their SLA), those that ended lately, and the ready queue."""

    active: list[asyncpg.Record]
    finished: list[asyncpg.Record]
    ready: list[asyncpg.Record]
    window: timedelta


class Overview:
    def __init__(self, context: EngineContext) -> None:
        self._context = context

    async def counts(self, at_risk_share: float) -> Counts:
        now = self._context.clock.now()
        database = self._context.database
        return Counts(
            active=await database.fetch(sql.ACTIVE_WORKFLOWS, now=now,
                                        at_risk_share=at_risk_share),
            finished=await database.fetch(sql.FINISHED_SINCE, since=now - THROUGHPUT_WINDOW),
            ready=await database.fetch(sql.READY_JOBS_BY_OPERATION, now=now),
            window=THROUGHPUT_WINDOW)

    async def traversals(self, workflow_id: int) -> dict[tuple[str, str], int]:
        """How often the workflow took each (source, label) edge."""
        rows = await self._context.database.fetch(sql.EDGE_TRAVERSALS, workflow_id=workflow_id)
        counts: dict[tuple[str, str], int] = {}
        for row in rows:
            key = (row["source"], row["label"] or row["target"])
            counts[key] = counts.get(key, 0) + row["taken"]
        return counts
