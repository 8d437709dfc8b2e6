"""The observer: writes into the ghost what each request and its answer told a client.

It reads requests, answers, the clock, the published graphs and the identity of jobs
(workflow, step, attempt and node, fixed when a job is created), never the fields a
rule writes as it decides (states, expiries, ready times, contexts). So an invariant
that compares the store with the ghost compares the rules with an independent witness.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TypeVar

from spec.answers import (
    Answer,
    LeasedJob,
    LeaseExtension,
    Released,
    Started,
    SweepOutcome,
    Swept,
    Verdict,
)
from spec.graph import Graph, Node
from spec.state import (
    JSON,
    Ack,
    Ended,
    Ghost,
    Held,
    JobState,
    Keyed,
    Pin,
    State,
    Status,
    TimeoutCause,
    canonical,
)

T = TypeVar("T")


def graph_of(ghost: Ghost, workflow: int) -> Graph | None:
    """The published version a workflow was started on, as clients were told."""
    pin = next((p for p in ghost.pins if p.workflow == workflow), None)
    if pin is None:
        return None
    return next(
        (g for g in ghost.published if (g.name, g.version) == (pin.definition, pin.version)),
        None,
    )


def node_of(ghost: Ghost, workflow: int, node: str) -> Node | None:
    """A node of the version a workflow was started on."""
    graph = graph_of(ghost, workflow)
    return graph.nodes.get(node) if graph is not None else None


def merge_output(context_json: str, output: Mapping[str, JSON] | None) -> str:
    """What the context becomes: each top-level key of the output replaces the context's."""
    context: dict[str, JSON] = json.loads(context_json)
    context.update(output or {})
    return canonical(context)


def _at(values: tuple[T, ...], index: int, value: T, fill: T) -> tuple[T, ...]:
    padded = values + (fill,) * max(0, index + 1 - len(values))
    return (*padded[:index], value, *padded[index + 1 :])


def _with(state: State, ghost: Ghost) -> State:
    return state if ghost is state.ghost else replace(state, ghost=ghost)


def _step_began(ghost: Ghost, workflow: int, now: int) -> Ghost:
    began = _at(ghost.began, workflow - 1, now, -1)
    return replace(ghost, began=began)


def _ended(ghost: Ghost, jobs: set[int | None]) -> Ghost:
    """Jobs whose attempt ended: no longer held, no longer freed."""
    held = frozenset(h for h in ghost.held if h.job not in jobs)
    freed = frozenset(f for f in ghost.freed if f[0] not in jobs)
    if len(held) == len(ghost.held) and len(freed) == len(ghost.freed):
        return ghost
    return replace(ghost, held=held, freed=freed)


def _jobs_of(state: State, workflow: int) -> set[int | None]:
    return {job.id for job in state.store.jobs if job.workflow == workflow}


def _end(ghost: Ghost, state: State, job_id: int, how: JobState,
         error: str | None = None) -> Ghost:
    """Write into the audit trail that ``job_id`` ended ``how`` (identity from ``state``);
    an end announced again with another outcome is remembered in ``twice``."""
    job = state.store.job(job_id)
    if job is None:
        return ghost
    known = ghost.ended(job_id)
    if known is not None:
        if known.how is how:
            return ghost
        return replace(ghost, twice=ghost.twice | {job_id})
    entry = Ended(job_id, job.workflow, job.step, how, error)
    return replace(ghost, trail=ghost.trail | {entry})


def _close_unended(ghost: Ghost, before: State, workflow: int) -> Ghost:
    """An operator's action ends every attempt of the workflow not yet told ended."""
    for job in before.store.jobs:
        if job.workflow == workflow and ghost.ended(job.id) is None:
            ghost = _end(ghost, before, job.id, JobState.CLOSED)
    return ghost


def published(state: State, graph: Graph, answer: Answer) -> State:
    """An accepted version is one clients may rely on forever."""
    ghost = state.ghost
    if answer.verdict is not Verdict.ACCEPTED or graph in ghost.published:
        return state
    return _with(state, replace(ghost, published=ghost.published | {graph}))


def started(
    state: State, definition: str, key: str | None, context: Mapping[str, JSON] | None,
    answer: Started,
) -> State:  # fmt: skip
    """A created workflow: its version, when its first step began, its context, and the
    key (with the input) that created it."""
    if not answer.created or answer.workflow is None or answer.version is None:
        return state
    ghost, index = state.ghost, answer.workflow - 1
    keys = ghost.keys
    if key is not None:
        keys = keys | {Keyed(definition, key, answer.workflow, canonical(context or {}))}
    ghost = replace(
        _step_began(ghost, answer.workflow, state.clock),
        keys=keys,
        pins=ghost.pins | {Pin(answer.workflow, definition, answer.version)},
        contexts=_at(ghost.contexts, index, canonical(context or {}), "{}"),
    )
    return _with(state, ghost)


def leased(state: State, worker: str, leases: Iterable[LeasedJob]) -> State:
    """Each job handed out is held by ``worker`` from now, capped by its node's timeout."""
    ghost = state.ghost
    for lease in leases:
        node = node_of(ghost, lease.workflow, lease.node)
        cap = state.clock + (node.timeout if node is not None else 0)
        held = Held(lease.job, lease.workflow, worker, state.clock, lease.expires_at, cap)
        others = frozenset(h for h in ghost.held if h.job != lease.job)
        freed = frozenset(f for f in ghost.freed if f[0] != lease.job)
        ghost = replace(ghost, held=others | {held}, freed=freed)
    return _with(state, ghost)


def completed(
    before: State, after: State, job_id: int, label: str, output: Mapping[str, JSON] | None,
    answer: Answer,
) -> State:  # fmt: skip
    """A first acceptance decides the step: the lease ends, the next step begins, the
    output is merged into the context."""
    ghost, ack = after.ghost, Ack(job_id, label)
    job = before.store.job(job_id)
    if answer.verdict is not Verdict.ACCEPTED or ack in ghost.acks or job is None:
        return after
    index = job.workflow - 1
    context = ghost.contexts[index] if index < len(ghost.contexts) else "{}"
    ghost = replace(
        _step_began(_end(_ended(ghost, {job_id}), before, job_id, JobState.COMPLETED),
                    job.workflow, after.clock),
        acks=ghost.acks | {ack},
        contexts=_at(ghost.contexts, index, merge_output(context, output), "{}"),
    )
    return _with(after, ghost)


def heartbeat(state: State, worker: str, answers: Iterable[LeaseExtension]) -> State:
    """An extended lease is held until its new expiry; the grant and its cap stay."""
    ghost = state.ghost
    for extension in answers:
        held = ghost.holding(extension.job)
        if not extension.extended or held is None or held.worker != worker:
            continue
        assert extension.expires_at is not None
        moved = replace(held, expires_at=extension.expires_at)
        ghost = replace(ghost, held=(ghost.held - {held}) | {moved})
    return _with(state, ghost)


def released(state: State, worker: str, answers: Iterable[Released]) -> State:
    """A job given back is no longer held, and is free from now."""
    ghost = state.ghost
    for answer in answers:
        job = state.store.job(answer.job)
        if not answer.released or job is None:
            continue
        ghost = _ended(ghost, {answer.job})
        if state.clock != due_unless_freed(ghost, job.workflow, job.step, job.attempt):
            ghost = replace(ghost, freed=ghost.freed | {(answer.job, state.clock)})
    return _with(state, ghost)


def due_unless_freed(ghost: Ghost, workflow: int, step: int, attempt: int) -> int | None:
    """When a job was due before any release: its retry's announced time, or when its
    step began. A release at that same tick need not be recorded (nor tell states apart)."""
    if attempt > 1:
        return ghost.retry_due(workflow, step)
    return ghost.began[workflow - 1] if workflow - 1 < len(ghost.began) else None


def in_scope(state: State, workflow: int | None) -> list[int]:
    """The running workflows a sweep over ``workflow`` (None: all) looks at."""
    ids = range(1, len(state.store.workflows) + 1) if workflow is None else (workflow,)
    flows = (state.store.workflow(wid) for wid in ids)
    return [w.id for w in flows if w is not None and w.status is Status.RUNNING]


def swept(before: State, after: State, workflow: int | None, events: Iterable[Swept]) -> State:
    """Each job the sweeper names is no longer held; an expiry uses an attempt and may
    schedule a retry after the backoff; a routed timeout begins the next step."""
    ghost, now = after.ghost, after.clock
    named = set()
    for event in events:
        job = before.store.job(event.job) if event.job is not None else None
        named.add(event.job)
        ghost = _ended(ghost, {event.job})
        if event.job is not None:
            deadline = event.cause is TimeoutCause.DEADLINE_PASSED
            how = JobState.CLOSED if deadline else JobState.EXPIRED
            ghost = _end(ghost, before, event.job, how)
        if event.outcome is SweepOutcome.TIMEOUT_ROUTED:
            ghost = _step_began(ghost, event.workflow, now)
        if job is None or event.cause is TimeoutCause.DEADLINE_PASSED:
            continue
        ghost = replace(ghost, reclaims=ghost.reclaims | {(job.workflow, job.step, job.attempt)})
        node = node_of(ghost, job.workflow, job.node)
        if event.outcome is SweepOutcome.RETRY_SCHEDULED and node is not None:
            due = (job.workflow, job.step, now + node.backoff)
            ghost = replace(ghost, not_before=ghost.not_before | {due})
    scope = set(in_scope(before, workflow))
    passed = {h.job for h in before.ghost.held if h.workflow in scope and h.expires_at <= now}
    missed = passed - named
    if missed:
        ghost = replace(ghost, overlooked=ghost.overlooked | missed)
    return _with(after, ghost)


def failed(before: State, after: State, job_id: int, error: str, answer: Answer) -> State:
    """A first accepted failure ends the attempt (into the trail, with its error); the
    step's next attempt, if a reader sees one, may run once the backoff has passed, and a
    step given up along `failed` begins the next one."""
    ghost = after.ghost
    job = before.store.job(job_id)
    if answer.verdict is not Verdict.ACCEPTED or job is None:
        return after
    known = ghost.ended(job_id)
    if known is not None and known.how is JobState.FAILED:
        return after
    ghost = _end(_ended(ghost, {job_id}), before, job_id, JobState.FAILED, error)
    retried = any((j.workflow, j.step, j.attempt) == (job.workflow, job.step, job.attempt + 1)
                  for j in after.store.jobs)
    node = node_of(ghost, job.workflow, job.node)
    if retried and node is not None:
        due = (job.workflow, job.step, after.clock + node.backoff)
        ghost = replace(ghost, not_before=ghost.not_before | {due})
    moved_on = after.store.workflow(job.workflow)
    if moved_on is not None and moved_on.step > job.step:
        ghost = _step_began(ghost, job.workflow, after.clock)
    return _with(after, ghost)


def cancelled(before: State, state: State, workflow: int, answer: Answer) -> State:
    """A cancelled workflow's attempt is over: closed."""
    if answer.verdict is not Verdict.ACCEPTED:
        return state
    ghost = _close_unended(_ended(state.ghost, _jobs_of(state, workflow)), before, workflow)
    return _with(state, ghost)


def moved(before: State, state: State, workflow: int, answer: Answer) -> State:
    """A moved workflow's attempt is over (closed), and a new step begins now."""
    if answer.verdict is not Verdict.ACCEPTED:
        return state
    ended = _close_unended(_ended(state.ghost, _jobs_of(before, workflow)), before, workflow)
    return _with(state, _step_began(ended, workflow, state.clock))
