"""The guarantees of what workers are told about leases, as transition predicates.

Each predicate compares an answer with the ghost: the ticks at which leases were
granted, retries announced and jobs given back, as the observer recorded them from
earlier answers. None reads the expiry or ready time a rule wrote for itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from spec.actions import Action, Heartbeat, Lease, Release
from spec.answers import LeasedJob, LeaseExtension, Released
from spec.observer import due_unless_freed, node_of
from spec.state import Ghost, Job, JobState, State

Predicate = Callable[[State, Action[object], object, State], str | None]


def _first(problems: Iterator[str]) -> str | None:
    return next(problems, None)


def _leases(action: Action[object], answer: object) -> tuple[Lease, list[LeasedJob]] | None:
    if not isinstance(action, Lease) or not isinstance(answer, tuple):
        return None
    return action, [lease for lease in answer if isinstance(lease, LeasedJob)]


def leases_respect_timeouts(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A lease runs the ticks the worker asked for, cut at the attempt's timeout counted
    from the moment the lease was granted; a heartbeat moves it out to at most that same
    cap and never moves it in; manual steps are never leased to workers."""
    leased = _leases(action, answer)
    if leased is not None:
        return _first(_lease_problems(before, *leased))
    if isinstance(action, Heartbeat) and isinstance(answer, tuple):
        return _first(_extension_problems(before, action, answer))
    return None


def _lease_problems(before: State, action: Lease, leases: list[LeasedJob]) -> Iterator[str]:
    for lease in leases:
        node = node_of(before.ghost, lease.workflow, lease.node)
        if node is None or node.manual:
            yield f"job {lease.job} at {lease.node} is leased (manual or unknown node)"
            continue
        expected = before.clock + min(action.lease_ticks, node.timeout)
        if lease.expires_at != expected:
            yield f"job {lease.job} leased until {lease.expires_at}, expected {expected}"


def _extension_problems(
    before: State, action: Heartbeat, answers: tuple[object, ...]
) -> Iterator[str]:
    for extension in answers:
        if not isinstance(extension, LeaseExtension) or not extension.extended:
            continue
        held = before.ghost.holding(extension.job)
        if held is None:
            yield f"job {extension.job}: a lease nobody was granted was extended"
            continue
        asked = min(before.clock + action.lease_ticks, held.cap)
        expected = max(held.expires_at, asked)
        if extension.expires_at != expected:
            granted = f"granted at {held.granted_at}, cap {held.cap}"
            yield f"job {extension.job} extended to {extension.expires_at} ({granted}), " \
                f"expected {expected}"  # fmt: skip


def heartbeats_keep_only_live_leases(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A heartbeat extends exactly the leases the worker was told it holds and that have
    not run out yet; every other job in it is answered lost."""
    if not isinstance(action, Heartbeat) or not isinstance(answer, tuple):
        return None
    for extension in answer:
        assert isinstance(extension, LeaseExtension)
        live = _live(before.ghost, extension.job, action.worker, before.clock)
        if extension.extended != live:
            return f"heartbeat of job {extension.job} by {action.worker}: " \
                f"extended {extension.extended}, but live lease {live}"  # fmt: skip
    return None


def _live(ghost: Ghost, job: int, worker: str, now: int) -> bool:
    held = ghost.holding(job)
    return held is not None and held.worker == worker and now < held.expires_at


def releases_give_back_live_leases(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A release gives back exactly the live leases the worker holds (the job is then
    due at once, without using an attempt, which the lease predicates check); a job it
    does not hold is answered not held."""
    if not isinstance(action, Release) or not isinstance(answer, tuple):
        return None
    given: set[int] = set()
    for released in answer:
        assert isinstance(released, Released)
        live = released.job not in given and _live(
            before.ghost, released.job, action.worker, before.clock
        )
        if released.released != live:
            return f"release of job {released.job} by {action.worker}: " \
                f"released {released.released}, but live lease {live}"  # fmt: skip
        if live:
            given.add(released.job)
    return None


def due_at(state: State, job: Job) -> int:
    """When a ready job became due, as clients were told: when it was given back, when
    the sweeper said its retry may run, or when its step began."""
    freed = state.ghost.freed_at(job.id)
    if freed is not None:
        return freed
    due = due_unless_freed(state.ghost, job.workflow, job.step, job.attempt)
    return due if due is not None else job.ready_at


def leases_take_the_oldest_due_jobs(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A lease hands out the due, non-manual ready jobs of the asked operations, as many
    as asked, oldest due first (ties by job id): a retry is due after its backoff, a
    released job and a new step's job at once."""
    leased = _leases(action, answer)
    if leased is None:
        return None
    request, leases = leased
    ghost, now = before.ghost, before.clock
    due = []
    for job in before.store.jobs:
        node = node_of(ghost, job.workflow, job.node)
        if job.state is not JobState.READY or node is None or node.manual:
            continue
        if job.operation in request.operations and due_at(before, job) <= now:
            due.append((due_at(before, job), job.id))
    expected = [job for _, job in sorted(due)[: request.max_jobs]]
    got = [lease.job for lease in leases]
    if got != expected:
        return f"leased jobs {got}, but the oldest due are {expected}"
    return None


def backoff_is_respected(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A retry (attempt 2 or later) is leased only once the sweeper has announced it,
    and no earlier than the announced expiry plus the node's backoff."""
    leased = _leases(action, answer)
    if leased is None:
        return None
    for lease in leased[1]:
        if lease.attempt == 1:
            continue
        due = before.ghost.retry_due(lease.workflow, lease.step)
        if due is None or before.clock < due:
            return f"attempt {lease.attempt} of job {lease.job} leased at {before.clock}, " \
                f"due at {due}"  # fmt: skip
    return None


CONCERNS: dict[Predicate, tuple[type, ...]] = {
    leases_respect_timeouts: (Lease, Heartbeat),
    heartbeats_keep_only_live_leases: (Heartbeat,),
    releases_give_back_live_leases: (Release,),
    leases_take_the_oldest_due_jobs: (Lease,),
    backoff_is_respected: (Lease,),
}
"""Each predicate, with the requests it is about (the checker skips it for others)."""
