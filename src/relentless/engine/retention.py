"""Retention: finished workflows are deleted once they are older than a setting, so that
what is stored stops growing; running and incident workflows are never touched."""

from __future__ import annotations

from datetime import datetime, timedelta

from relentless.engine.context import EngineContext
from relentless.store import statements as sql

DEFAULT_BATCH = 1_000
"""Workflows deleted per transaction: short transactions, little lock time."""


class Retention:
    def __init__(self, context: EngineContext) -> None:
        self._context = context

    def cutoff(self, older_than: timedelta) -> datetime:
        return self._context.clock.now() - older_than

    async def prunable(self, older_than: timedelta) -> int:
        """How many finished workflows ``prune`` would delete now (a dry run)."""
        [row] = await self._context.database.fetch(sql.COUNT_PRUNABLE,
                                                   before=self.cutoff(older_than))
        count: int = row["workflows"]
        return count

    async def prune(self, older_than: timedelta, *, batch: int = DEFAULT_BATCH,
                    most: int | None = None) -> int:
        """Delete finished workflows that ended more than ``older_than`` ago (with their
        jobs, history and events), ``batch`` per transaction, up to ``most``; how many."""
        before = self.cutoff(older_than)
        deleted = 0
        while most is None or deleted < most:
            limit = batch if most is None else min(batch, most - deleted)
            async with self._context.database.transaction() as connection:
                rows = await sql.PRUNE_FINISHED.fetch(connection, before=before, limit=limit)
            deleted += len(rows)
            if len(rows) < limit:
                break
        return deleted
