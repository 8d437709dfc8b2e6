"""Filtered listings of workflows, newest first with a keyset cursor, each filter set
read through the index that bounds it (see the statements in queries.sql)."""

from __future__ import annotations

from relentless.engine.context import EngineContext
from relentless.engine.values import Page
from relentless.engine.workflows import Workflows, workflow_of
from relentless.protocol import WorkflowFilter
from relentless.store import statements as sql
from relentless.vocabulary import ACTIVE_STATUSES, WorkflowStatus

_NO_CURSOR = 2**63 - 1
"""The cursor of the first page: every id is below it."""

_SIMPLE = frozenset({"status", "definition"})
"""Filters the original listings (one statement per pair) answer on their own."""


class Listings:
    def __init__(self, context: EngineContext, workflows: Workflows) -> None:
        self._context = context
        self._workflows = workflows

    async def page(self, filters: WorkflowFilter, limit: int = 100,
                   cursor: int | None = None) -> Page:
        """The workflows ``filters`` match, newest first, after ``cursor``."""
        given = {name for name in WorkflowFilter.__struct_fields__
                 if getattr(filters, name) not in (None, False)}
        if given <= _SIMPLE:
            return await self._workflows.page(status=filters.status,
                                              definition=filters.definition, limit=limit,
                                              cursor=cursor)
        before = cursor if cursor is not None else _NO_CURSOR
        database = self._context.database
        if filters.key is not None:
            rows = await database.fetch(
                sql.LIST_WORKFLOWS_BY_KEY, key=filters.key, before=before,
                status=filters.status, definition=filters.definition,
                version=filters.version, limit=limit)
        else:
            statement = (sql.LIST_ACTIVE_WORKFLOWS_MATCHING if _only_active(filters)
                         else sql.LIST_WORKFLOWS_MATCHING)
            rows = await database.fetch(
                statement, before=before, status=filters.status,
                definition=filters.definition, version=filters.version, node=filters.node,
                incident=filters.incident, retrying=filters.retrying,
                created_after=filters.started_after, created_before=filters.started_before,
                updated_after=filters.updated_after, updated_before=filters.updated_before,
                limit=limit)
        workflows = tuple(workflow_of(row) for row in rows)
        return Page(workflows, workflows[-1].id if len(workflows) == limit else None)


def _only_active(filters: WorkflowFilter) -> bool:
    """Whether only running and incident workflows can match: then finished ones, however
    many, need not be read."""
    return (filters.status in ACTIVE_STATUSES or filters.incident is not None
            or filters.retrying) and filters.status not in (WorkflowStatus.COMPLETED,
                                                            WorkflowStatus.CANCELLED)
