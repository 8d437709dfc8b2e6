"""Bulk actions: cancel, move or retry the workflows a filter matches, or those picked by
hand, one at a time; each gets its own outcome, so one refusal never stops the rest."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from relentless.engine.interventions import Interventions
from relentless.engine.listings import Listings
from relentless.engine.values import Answer
from relentless.engine.workflows import Workflows
from relentless.protocol import BulkItem, BulkRequest, BulkResult, BulkSelection
from relentless.vocabulary import ACTIVE_STATUSES, BulkOutcome, Reason, Verdict


class BulkAction(StrEnum):
    CANCEL = "cancel"
    MOVE = "move"
    RETRY = "retry"


_OUTCOMES = {Verdict.ACCEPTED: BulkOutcome.DONE, Verdict.STALE: BulkOutcome.SKIPPED,
             Verdict.REJECTED: BulkOutcome.REFUSED}

Act = Callable[[int, int | None], Awaitable[Answer]]


class Bulk:
    def __init__(self, workflows: Workflows, listings: Listings,
                 interventions: Interventions) -> None:
        self._workflows = workflows
        self._listings = listings
        self._interventions = interventions

    async def run(self, action: BulkAction, request: BulkRequest, by: str) -> BulkResult:
        """Select (the filter's matches, or the listed workflows), then act on each unless
        this is a dry run; a workflow that left its selected step is skipped."""
        selected, more = await self._select(request)
        if request.dry_run:
            items = [BulkItem(workflow_id=workflow_id, step=step, outcome=BulkOutcome.SELECTED)
                     for workflow_id, step in selected]
            return BulkResult(action=action, dry_run=True, workflows=items, more=more)
        act = self._action(action, request, by)
        items = []
        for workflow_id, step in selected:
            answer = await act(workflow_id, step)
            outcome = _OUTCOMES[answer.verdict]
            if answer.reason is Reason.FINISHED and step is not None:
                outcome = BulkOutcome.SKIPPED  # it ended since it was selected
            items.append(BulkItem(workflow_id=workflow_id, step=step, outcome=outcome,
                                  reason=answer.reason if outcome is BulkOutcome.REFUSED
                                  else None))
        return BulkResult(action=action, dry_run=False, workflows=items, more=more)

    async def _select(self, request: BulkRequest) -> tuple[list[tuple[int, int | None]], bool]:
        """The workflows to act on, each with the step it was seen on (the filter's matches
        among active workflows, or the listed ones as given)."""
        if request.workflows is not None:
            return [(each.workflow_id, each.step) for each in _distinct(request.workflows)], False
        if request.filter is None:
            return [], False
        page = await self._listings.page(request.filter, limit=request.limit)
        chosen: list[tuple[int, int | None]] = [
            (w.id, w.step) for w in page.workflows if w.status in ACTIVE_STATUSES]
        return chosen, page.next_cursor is not None

    def _action(self, action: BulkAction, request: BulkRequest, by: str) -> Act:
        reason = request.reason
        if action is BulkAction.CANCEL:
            return lambda workflow_id, step: self._workflows.cancel(workflow_id, by, reason,
                                                                    step=step)
        if action is BulkAction.MOVE:
            node = request.node or ""
            return lambda workflow_id, step: self._workflows.move(workflow_id, node, by,
                                                                  reason, step=step)
        return lambda workflow_id, step: self._interventions.retry(workflow_id, by, reason,
                                                                   step=step)


def _distinct(selection: list[BulkSelection]) -> list[BulkSelection]:
    """Each workflow once, as first listed."""
    seen: set[int] = set()
    kept = []
    for each in selection:
        if each.workflow_id not in seen:
            seen.add(each.workflow_id)
            kept.append(each)
    return kept
