"""The guarantees of the sweeper and of attempts, as transition predicates.

They read the sweep's answer, the ghost (leases as workers were told them, attempts
reported expired, when each step began) and the published graphs; never the expiry,
deadline start or attempt count the rules keep for themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from spec.actions import Action, Lease, Sweep
from spec.answers import LeasedJob, SweepOutcome, Swept
from spec.observer import in_scope, node_of
from spec.state import State, TimeoutCause

TIMED_OUT = frozenset({SweepOutcome.TIMEOUT_ROUTED, SweepOutcome.INCIDENT})

Predicate = Callable[[State, Action[object], object, State], str | None]


def _first(problems: Iterator[str]) -> str | None:
    return next(problems, None)


def _events(action: Action[object], answer: object) -> tuple[Sweep, list[Swept]] | None:
    if not isinstance(action, Sweep) or not isinstance(answer, tuple):
        return None
    return action, [event for event in answer if isinstance(event, Swept)]


def sweeps_reclaim_lapsed_leases(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """The next sweep over a workflow reclaims every lease of it that has run out (as
    its worker was told), and the sweeper never takes an attempt away for expiry from
    a lease that is still live or that no worker was granted."""
    swept = _events(action, answer)
    return None if swept is None else _first(_reclaim_problems(before, *swept))


def _reclaim_problems(before: State, sweep: Sweep, events: list[Swept]) -> Iterator[str]:
    now, ghost = before.clock, before.ghost
    named = {event.job for event in events}
    scope = set(in_scope(before, sweep.workflow))
    for held in ghost.held:
        if held.workflow in scope and held.expires_at <= now and held.job not in named:
            yield f"the lease of job {held.job} ran out at {held.expires_at}, not reclaimed"
    for event in events:
        if event.job is None or event.cause is TimeoutCause.DEADLINE_PASSED:
            continue
        holding = ghost.holding(event.job)
        if holding is None or holding.expires_at > now:
            until = holding.expires_at if holding else None
            yield f"job {event.job} expired at {now}, but its lease runs until {until}"


def attempts_are_budgeted(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A step gets exactly its node's attempts: a worker is told attempt n after n - 1
    reclaimed expiries and accepted failures, the sweeper schedules a retry while
    attempts remain and times the step out (attempts exhausted) on the last one;
    releases use none."""
    if isinstance(action, Lease) and isinstance(answer, tuple):
        for lease in answer:
            assert isinstance(lease, LeasedJob)
            used = before.ghost.used(lease.workflow, lease.step)
            if lease.attempt != used + 1:
                return f"job {lease.job} leased as attempt {lease.attempt} after {used} " \
                    "expiries and failures"  # fmt: skip
        return None
    swept = _events(action, answer)
    return None if swept is None else _first(_budget_problems(before, swept[1]))


def _budget_problems(before: State, events: list[Swept]) -> Iterator[str]:
    for event in events:
        job = before.store.job(event.job) if event.job is not None else None
        if job is None or event.cause is TimeoutCause.DEADLINE_PASSED:
            continue
        node = node_of(before.ghost, job.workflow, job.node)
        if node is None:
            continue
        attempt = before.ghost.used(job.workflow, job.step) + 1
        last = attempt >= node.attempts
        right = (
            event.outcome in TIMED_OUT and event.cause is TimeoutCause.ATTEMPTS_EXHAUSTED
            if last
            else event.outcome is SweepOutcome.RETRY_SCHEDULED
        )
        if attempt > node.attempts or not right:
            yield f"expiry {attempt} of {node.attempts} at step {job.step} of workflow " \
                f"{job.workflow} was answered {event}"  # fmt: skip


def deadlines_are_enforced(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A sweep times out every step whose deadline (counted from when the step began)
    has passed, before looking at its lease, taking the node's `timeout` route if it
    has one and raising an incident otherwise; and no step times out early."""
    swept = _events(action, answer)
    return None if swept is None else _first(_deadline_problems(before, *swept))


def _deadline_problems(before: State, sweep: Sweep, events: list[Swept]) -> Iterator[str]:
    now, ghost = before.clock, before.ghost
    for wid in in_scope(before, sweep.workflow):
        workflow = before.store.workflow(wid)
        assert workflow is not None
        node = node_of(ghost, wid, workflow.node)
        began = ghost.began[wid - 1] if wid - 1 < len(ghost.began) else None
        if node is None or began is None:
            continue
        passed = node.deadline is not None and now >= began + node.deadline
        mine = [e for e in events if e.workflow == wid]
        timed = [e for e in mine if e.cause is TimeoutCause.DEADLINE_PASSED]
        if passed and not timed:
            yield f"workflow {wid}'s step began at {began}, deadline {node.deadline}: ignored"
        elif timed and not passed:
            yield f"workflow {wid} timed out at {now}, step began at {began}, early"
        elif timed:
            routed = SweepOutcome.TIMEOUT_ROUTED if node.routes_timeout else SweepOutcome.INCIDENT
            if timed[0].outcome is not routed:
                yield f"workflow {wid}'s deadline was answered {timed[0]}, expected {routed}"


CONCERNS: dict[Predicate, tuple[type, ...]] = {
    sweeps_reclaim_lapsed_leases: (Sweep,),
    attempts_are_budgeted: (Lease, Sweep),
    deadlines_are_enforced: (Sweep,),
}
"""Each predicate, with the requests it is about (the checker skips it for others)."""
