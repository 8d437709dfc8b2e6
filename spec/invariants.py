"""The guarantees, each a named predicate over a state or over one transition.

A predicate returns None when its guarantee holds and a short description of the
first breach otherwise. Trace properties read the ghost record (what clients were
told), so they too are checked state by state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from spec import lease_invariants, sweep_invariants
from spec.actions import (
    Action,
    Cancel,
    Complete,
    CompleteManual,
    Crash,
    Fail,
    Interrupted,
    Lease,
    Move,
    Start,
)
from spec.answers import ACCEPTED, STALE, Answer, LeasedJob, Reason, Started, Verdict, rejected
from spec.graph import FAILED_LABEL, RESERVED_LABEL, Graph
from spec.observer import node_of
from spec.state import (
    ACTIVE_STATUSES,
    Ack,
    Job,
    JobState,
    State,
    Status,
    Store,
    TimeoutCause,
    Transition,
    TransitionKind,
    Workflow,
    canonical,
)

StatePredicate = Callable[[State], str | None]
TransitionPredicate = Callable[[State, Action[object], object, State], str | None]


@dataclass(frozen=True, slots=True)
class Invariant:
    """A named guarantee; ``doc`` says it in plain words."""

    name: str
    doc: str


def _jobs_of(store: Store, workflow: Workflow) -> Iterator[Job]:
    return (j for j in store.jobs if j.workflow == workflow.id)


def _first(problems: Iterator[str]) -> str | None:
    return next(problems, None)


# -- state invariants -----------------------------------------------------------------


def at_most_one_open_step(state: State) -> str | None:
    """A running workflow has at most one open job, and it is for its current step and
    node; a workflow that is not running has none."""
    return _first(_open_step_problems(state.store))


def _open_step_problems(store: Store) -> Iterator[str]:
    for workflow in store.workflows:
        open_jobs = store.open_jobs(workflow.id)
        if workflow.status is not Status.RUNNING and open_jobs:
            yield f"workflow {workflow.id} is {workflow.status} with open job {open_jobs[0].id}"
        if len(open_jobs) > 1:
            yield f"workflow {workflow.id} has open jobs {[j.id for j in open_jobs]}"
        for job in open_jobs:
            if (job.step, job.node) != (workflow.step, workflow.node):
                yield f"open job {job.id} is for step {job.step} at {job.node}, not the current one"


def steps_follow_completions(state: State) -> str | None:
    """The job for step k+1 exists only once step k is decided and recorded: steps are
    numbered by the history, and no job is older than the decision before its step."""
    return _first(_step_order_problems(state.store))


def _step_order_problems(store: Store) -> Iterator[str]:
    for workflow in store.workflows:
        if workflow.step != len(workflow.history) + 1:
            taken = len(workflow.history)
            yield f"workflow {workflow.id} is at step {workflow.step} after {taken} transitions"
        for job in _jobs_of(store, workflow):
            if job.step > workflow.step:
                yield f"job {job.id} is for step {job.step}, beyond the workflow's step"
            elif job.step > 1 and job.ready_at < workflow.history[job.step - 2].at:
                yield f"job {job.id} was ready before step {job.step - 1} was decided"


def history_is_a_path(state: State) -> str | None:
    """A history walks the definition's graph from its start node: each entry leaves the
    node the previous one reached, along an edge carrying its label (the engine's own
    `timeout` label only where the node routes it), or is a person's recorded move; the
    workflow stands where its history ends, and it is completed exactly at a leaf."""
    store = state.store
    for workflow in store.workflows:
        problem = _path_problem(store, store.graph_of(workflow), workflow)
        if problem:
            return f"workflow {workflow.id}: {problem}"
    return None


def _path_problem(store: Store, graph: Graph, workflow: Workflow) -> str | None:
    here = graph.start
    for number, edge in enumerate(workflow.history, start=1):
        if edge.step != number or edge.source != here:
            return f"entry {number} leaves {edge.source} at step {edge.step}, expected {here}"
        problem = _edge_problem(store, graph, edge)
        if problem:
            return f"entry {number} ({edge.source} -> {edge.target}): {problem}"
        here = edge.target
    if workflow.node != here:
        return f"stands at {workflow.node} but its history ends at {here}"
    at_leaf = graph.node(here).is_leaf
    if at_leaf != (workflow.status is Status.COMPLETED):
        return f"is {workflow.status} at {here} (leaf: {at_leaf})"
    return None


def _edge_problem(store: Store, graph: Graph, edge: Transition) -> str | None:
    if edge.target not in graph.nodes:
        return "target is not a node"
    if edge.kind is TransitionKind.MOVED:
        return None if edge.by else "a move without who made it"
    if edge.label is None or graph.node(edge.source).on.get(edge.label) != edge.target:
        return f"no edge labelled {edge.label!r}"
    timeout = (edge.label == RESERVED_LABEL) != (edge.kind is TransitionKind.TIMEOUT)
    if timeout or (edge.label == FAILED_LABEL) != (edge.kind is TransitionKind.FAILED):
        return f"a {edge.kind} transition labelled {edge.label!r}"
    if edge.kind is TransitionKind.FAILED:
        job = store.job(edge.job) if edge.job is not None else None
        failed = job is not None and job.state is JobState.FAILED and job.step == edge.step
        return None if failed else f"job {edge.job} did not fail step {edge.step}"
    return None if edge.kind is TransitionKind.TIMEOUT else _decider_problem(store, edge)


def _decider_problem(store: Store, edge: Transition) -> str | None:
    job = store.job(edge.job) if edge.job is not None else None
    if job is None or job.state is not JobState.COMPLETED or job.label != edge.label:
        return f"job {edge.job} did not complete with {edge.label!r}"
    if job.manual != (edge.kind is TransitionKind.MANUAL):
        return f"job {job.id} (manual: {job.manual}) recorded as {edge.kind}"
    return None


def first_acceptance_decides(state: State) -> str | None:
    """Each step is decided once: at most one (job, label) is ever accepted for it, and
    the job that decides a step is its newest attempt, never a superseded one."""
    decided: dict[tuple[int, int], Ack] = {}
    store = state.store
    for ack in sorted(state.ghost.acks, key=lambda a: (a.job, a.label)):
        job = store.job(ack.job)
        if job is None:
            return f"accepted unknown job {ack.job}"
        earlier = decided.setdefault((job.workflow, job.step), ack)
        if earlier != ack:
            return f"step {job.step} of workflow {job.workflow} accepted both {earlier} and {ack}"
        newer = [j.id for j in store.jobs if (j.workflow, j.step) == (job.workflow, job.step)]
        if max(newer) != job.id:
            return f"job {job.id} decided step {job.step} although job {max(newer)} superseded it"
    return None


def nothing_accepted_is_lost(state: State) -> str | None:
    """Every completion a client was told is accepted is in the durable history, as the
    decision of its step, with its job marked completed under that label."""
    store = state.store
    for ack in state.ghost.acks:
        job = store.job(ack.job)
        workflow = store.workflow(job.workflow) if job is not None else None
        if job is None or workflow is None:
            return f"accepted job {ack.job} no longer exists"
        if job.state is not JobState.COMPLETED or job.label != ack.label:
            return f"accepted job {ack.job} ({ack.label!r}) is {job.state} with {job.label!r}"
        entry = workflow.history[job.step - 1] if job.step <= len(workflow.history) else None
        if entry is None or (entry.job, entry.label) != (ack.job, ack.label):
            return f"accepted job {ack.job} ({ack.label!r}) is missing from the history"
    return None


def versions_are_pinned(state: State) -> str | None:
    """A workflow runs on the definition version it started with, and a published
    version never changes."""
    store = state.store
    for pin in state.ghost.pins:
        workflow = store.workflow(pin.workflow)
        if workflow is None or (workflow.definition, workflow.version) != (
            pin.definition,
            pin.version,
        ):
            return f"workflow {pin.workflow} left {pin.definition} v{pin.version}"
    for graph in state.ghost.published:
        if store.graph(graph.name, graph.version) != graph:
            return f"published {graph.name} v{graph.version} changed"
    return None


def always_a_way_forward(state: State) -> str | None:
    """Nothing waits forever unseen: a running workflow always has an open job someone
    acts on (ready for workers, a manual step listed for people, or leased: its holder
    completes it or, once the lease runs out, the next sweep reclaims it; a lapsed lease
    a sweep passed over is no way forward), and a workflow without one is an incident
    that names its cause. Every attempt of a running workflow told ended (completed,
    expired, failed, closed) with no new one is no way forward either."""
    return _first(_stuck(state))


def _stuck(state: State) -> Iterator[str]:
    store = state.store
    for workflow in store.workflows:
        if workflow.status is Status.INCIDENT and workflow.incident is None:
            yield f"workflow {workflow.id} is an incident without a cause"
        if workflow.status is not Status.RUNNING:
            continue
        job = store.open_job(workflow.id)
        if job is None:
            yield f"workflow {workflow.id} is running with no open job"
        elif job.id in state.ghost.overlooked:
            yield f"workflow {workflow.id} waits on job {job.id}, which a sweep passed over"
        if all(state.ghost.ended(j.id) is not None for j in _jobs_of(store, workflow)):
            yield f"workflow {workflow.id} is running, but every attempt of it has ended"


def leases_are_as_told(state: State) -> str | None:
    """A reader of the store sees exactly the leases workers were told they hold: the
    same holder, granted at the same tick, until the same expiry; a lease that was
    released, reclaimed, decided, cancelled or moved is gone from the store too."""
    store, ghost = state.store, state.ghost
    leased = [job for job in store.jobs if job.state is JobState.LEASED]
    if len(leased) != len(ghost.held):
        told = sorted(held.job for held in ghost.held)
        return f"the store leases jobs {[j.id for j in leased]}, workers hold {told}"
    for job in leased:
        held = ghost.holding(job.id)
        seen = (job.holder, job.leased_at, job.expires_at)
        if held is None or seen != (held.worker, held.granted_at, held.expires_at):
            return f"job {job.id} is leased as {seen}, but its worker was told {held}"
    return None


def contexts_are_merged_outputs(state: State) -> str | None:
    """A workflow's context is its start context with the output of each accepted
    completion merged over it in order, one level deep (each top-level key replaced)."""
    store, ghost = state.store, state.ghost
    for index, expected in enumerate(ghost.contexts):
        workflow = store.workflow(index + 1)
        if workflow is not None and workflow.context_json != expected:
            return f"workflow {workflow.id}'s context is {workflow.context_json}, not {expected}"
    return None


def attempts_stay_within_budget(state: State) -> str | None:
    """A step never gets more attempts than its node allows: attempts are numbered 1 to
    n without a gap or a repeat, n at most the node's `attempts` (as published)."""
    store = state.store
    seen: dict[tuple[int, int], list[int]] = {}
    for job in store.jobs:
        node = node_of(state.ghost, job.workflow, job.node)
        if node is not None and job.attempt > node.attempts:
            return f"job {job.id} is attempt {job.attempt} of a node allowing {node.attempts}"
        seen.setdefault((job.workflow, job.step), []).append(job.attempt)
    for (workflow, step), attempts in seen.items():
        if sorted(attempts) != list(range(1, len(attempts) + 1)):
            return f"step {step} of workflow {workflow} has attempts {sorted(attempts)}"
    return None


def ended_attempts_are_audited_once(state: State) -> str | None:
    """Every attempt that has ended shows in the audit trail exactly once, as it ended
    (completed, expired, failed with its error, or closed), and an attempt the trail has
    ended is over in the store too; no attempt's end is announced twice."""
    store, ghost = state.store, state.ghost
    if ghost.twice:
        return f"the end of jobs {sorted(ghost.twice)} was announced twice"
    for job in store.jobs:
        entry = ghost.ended(job.id)
        if job.is_open:
            if entry is not None:
                return f"job {job.id} is {job.state}, but the trail has it {entry.how}"
            continue
        if entry is None:
            return f"job {job.id} ended {job.state}, but the audit trail does not show it"
        if (entry.how, entry.error) != (job.state, job.error):
            return f"job {job.id} is {job.state} ({job.error}), the trail says " \
                f"{entry.how} ({entry.error})"  # fmt: skip
    return None


# -- transition invariants ------------------------------------------------------------


def _completion(action: Action[object], store: Store) -> tuple[int, str] | None:
    """The (job, label) an action completes, when it goes the job's own way (worker or
    person); a completion through the wrong path is rejected before anything else."""
    if not isinstance(action, Complete | CompleteManual):
        return None
    job = store.job(action.job)
    if job is not None and job.manual != isinstance(action, CompleteManual):
        return None
    return action.job, action.label


def repeats_are_idempotent(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """Repeating an accepted completion (same job, same label, same path) is answered
    accepted again and changes nothing, whatever output it carries; so is failing an
    attempt that has failed already."""
    if isinstance(action, Fail):
        return _repeated_failure_problem(before, action, answer, after)
    if not isinstance(action, Complete | CompleteManual):
        return None
    sent = _completion(action, before.store)
    if sent is None or Ack(*sent) not in before.ghost.acks:
        return None
    if not isinstance(answer, Answer) or answer.verdict is not Verdict.ACCEPTED:
        return f"a repeated accepted completion was answered {answer}"
    return None if after.store == before.store else "a repeated completion changed the state"


def _repeated_failure_problem(
    before: State, action: Fail, answer: object, after: State
) -> str | None:
    entry = before.ghost.ended(action.job)
    if entry is None or entry.how is not JobState.FAILED:
        return None
    if answer != ACCEPTED:
        return f"a repeated failure of job {action.job} was answered {answer}"
    return None if after.store == before.store else "a repeated failure changed the state"


def refusals_change_nothing(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A stale or rejected request changes nothing: a late completion of a decided,
    superseded or cancelled step is a no-op, and so is a refused operator action."""
    if after.store is before.store:
        return None
    refused = isinstance(answer, Answer) and answer.verdict is not Verdict.ACCEPTED
    if refused and after.store != before.store:
        return f"{action} was answered {answer} yet changed the state"
    return None


def only_the_open_job_decides(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A first accepted completion comes from the open job of a running workflow's
    current step, with a label its node offers, and advances that workflow one step."""
    accepted = isinstance(answer, Answer) and answer.verdict is Verdict.ACCEPTED
    sent = _completion(action, before.store) if accepted else None
    if sent is None or Ack(*sent) in before.ghost.acks:
        return None
    job_id, label = sent
    job = before.store.job(job_id)
    workflow = before.store.workflow(job.workflow) if job is not None else None
    if job is None or workflow is None:
        return f"accepted unknown job {job_id}"
    current = workflow.status is Status.RUNNING and job.is_open and job.step == workflow.step
    offered = label in before.store.graph_of(workflow).node(job.node).labels
    if not (current and offered):
        return f"accepted job {job_id} with {label!r} (current: {current}, offered: {offered})"
    moved = after.store.workflow(workflow.id)
    if moved is None or moved.step != workflow.step + 1:
        return f"accepting job {job_id} did not advance workflow {workflow.id} by one step"
    return None


def operators_reach_incidents(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A person can cancel or move any running workflow and any incident: a cancel stops
    it with no open job (again: accepted, nothing changes); a move walks to the node,
    records who, and leaves it running there with a fresh first attempt, or completed
    at a leaf. Finished workflows, unknown workflows and unknown nodes are refused."""
    if isinstance(action, Cancel):
        return _cancel_problem(before, action, answer, after)
    if isinstance(action, Move):
        return _move_problem(before, action, answer, after)
    return None


def _cancel_problem(before: State, action: Cancel, answer: object, after: State) -> str | None:
    workflow = before.store.workflow(action.workflow)
    status = workflow.status if workflow is not None else None
    expected = (
        rejected(Reason.UNKNOWN_WORKFLOW) if status is None
        else rejected(Reason.FINISHED) if status is Status.COMPLETED
        else ACCEPTED
    )  # fmt: skip
    if answer != expected:
        return f"cancel of a {status} workflow was answered {answer}, expected {expected}"
    stopped = after.store.workflow(action.workflow)
    if status not in ACTIVE_STATUSES or stopped is None:
        return None
    if stopped.status is not Status.CANCELLED or after.store.open_job(stopped.id):
        return f"cancelled workflow {stopped.id} is {stopped.status} with its job open"
    return None


def _move_problem(before: State, action: Move, answer: object, after: State) -> str | None:
    workflow = before.store.workflow(action.workflow)
    status = workflow.status if workflow is not None else None
    nodes = before.store.graph_of(workflow).nodes if workflow is not None else {}
    expected = (
        rejected(Reason.UNKNOWN_WORKFLOW) if workflow is None
        else rejected(Reason.FINISHED) if status not in ACTIVE_STATUSES
        else rejected(Reason.UNKNOWN_NODE) if action.node not in nodes
        else ACCEPTED
    )  # fmt: skip
    if answer != expected:
        return f"move of a {status} workflow was answered {answer}, expected {expected}"
    if expected != ACCEPTED or workflow is None:
        return None
    moved = after.store.workflow(workflow.id)
    assert moved is not None
    leaf = nodes[action.node].is_leaf
    job = after.store.open_job(workflow.id)
    fresh = job is not None and (job.node, job.step, job.attempt) == (
        action.node, workflow.step + 1, 1,
    )  # fmt: skip
    entry = moved.history[-1] if moved.history else None
    recorded = entry is not None and (entry.kind, entry.by) == (TransitionKind.MOVED, action.by)
    status_ok = moved.status is (Status.COMPLETED if leaf else Status.RUNNING)
    if not (recorded and status_ok and (leaf or fresh)) or moved.node != action.node:
        return f"moved workflow {workflow.id} is {moved.status} at {moved.node} " \
            f"(recorded: {recorded}, fresh job: {fresh})"  # fmt: skip
    return None


def crashes_keep_the_committed(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A crash between requests changes nothing anyone saw or was told, and a crash in
    the middle of a request, before its commit, loses that request and nothing else."""
    between = isinstance(action, Crash)
    rolled_back = isinstance(action, Interrupted) and not action.committed
    if (between or rolled_back) and after.store != before.store:
        return f"{action} changed the store"
    return None


def keys_start_once(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """An idempotency key is scoped by definition name: a start with a key that already
    created a workflow of that definition returns it (not created, whatever version it
    names, even one that does not exist) if its input is the one first sent, and is
    refused as a key conflict otherwise; either way nothing changes. A key new to the
    definition creates a workflow whenever the start is accepted."""
    if not isinstance(action, Start) or action.key is None:
        return None
    first = next((k for k in before.ghost.keys
                  if (k.definition, k.key) == (action.definition, action.key)), None)
    if first is None:
        accepted = isinstance(answer, Started) and answer.verdict is Verdict.ACCEPTED
        if accepted and isinstance(answer, Started) and not answer.created:
            return f"a new key {action.key!r} of {action.definition} was answered {answer}"
        return None
    pin = next((p for p in before.ghost.pins if p.workflow == first.workflow), None)
    version = pin.version if pin is not None else None
    expected = (
        Started(Verdict.ACCEPTED, first.workflow, version, created=False)
        if canonical(action.context or {}) == first.input_json
        else Started(Verdict.REJECTED, reason=Reason.KEY_CONFLICT)
    )
    if answer != expected:
        return f"a repeated key {action.key!r} was answered {answer}, expected {expected}"
    return None if after.store == before.store else "a repeated key changed the state"


def no_attempt_while_another_is_open(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A job is leased only when every other attempt of its workflow (of its step, and
    of the steps before) has ended as clients were told: never two open attempts."""
    if not isinstance(action, Lease) or not isinstance(answer, tuple):
        return None
    for lease in answer:
        assert isinstance(lease, LeasedJob)
        for job in before.store.jobs:
            if job.workflow != lease.workflow or job.id == lease.job:
                continue
            if before.ghost.ended(job.id) is None:
                return f"job {lease.job} leased while job {job.id} (step {job.step}, " \
                    f"attempt {job.attempt}) of workflow {job.workflow} is open"  # fmt: skip
    return None


def failures_retry_or_give_up(
    before: State, action: Action[object], answer: object, after: State
) -> str | None:
    """A failure of a leased attempt (as its worker was told) of a running step is
    accepted and uses up that attempt: the next one follows (same step, attempt + 1)
    while attempts remain and the failure is retryable; otherwise the step gives up
    along `failed` if its node routes it, else the workflow is an incident (`failed`).
    A failed attempt failed again is accepted; unknown jobs and manual steps are
    rejected; any other failure is stale."""
    if not isinstance(action, Fail):
        return None
    job = before.store.job(action.job)
    workflow = before.store.workflow(job.workflow) if job is not None else None
    entry = before.ghost.ended(action.job)
    held = before.ghost.holding(action.job) is not None
    running = workflow is not None and workflow.status is Status.RUNNING
    expected = (
        rejected(Reason.UNKNOWN_JOB) if job is None
        else rejected(Reason.MANUAL_STEP) if job.manual
        else ACCEPTED if entry is not None and entry.how is JobState.FAILED
        else ACCEPTED if entry is None and held and running
        else STALE
    )  # fmt: skip
    if answer != expected:
        return f"failing job {action.job} was answered {answer}, expected {expected}"
    if job is None or workflow is None or entry is not None or expected != ACCEPTED:
        return None
    return _failure_effect(before, action, job, workflow, after)


def _failure_effect(
    before: State, action: Fail, job: Job, workflow: Workflow, after: State
) -> str | None:
    node = node_of(before.ghost, job.workflow, job.node)
    if node is None:
        return None
    used = before.ghost.used(job.workflow, job.step) + 1
    retry = [j for j in after.store.jobs if j.id not in {b.id for b in before.store.jobs}
             and (j.workflow, j.step, j.attempt) == (job.workflow, job.step, used + 1)]
    moved = after.store.workflow(workflow.id)
    assert moved is not None
    if action.retryable and used < node.attempts:
        kept = moved.step == workflow.step and moved.status is Status.RUNNING
        return None if retry and kept else \
            f"failure {used} of {node.attempts} (retryable) scheduled no retry"  # fmt: skip
    if retry:
        return f"failure {used} of {node.attempts} (retryable: {action.retryable}) retried"
    return _give_up_problem(node.routes_failed, job, workflow, moved)


def _give_up_problem(routed: bool, job: Job, workflow: Workflow, moved: Workflow) -> str | None:
    if routed:
        last = moved.history[-1] if moved.history else None
        took = last is not None and (last.step, last.label, last.job) == (
            workflow.step, FAILED_LABEL, job.id)
        return None if took else f"workflow {workflow.id} did not take its `failed` route"
    if moved.status is not Status.INCIDENT or moved.incident is not TimeoutCause.FAILED:
        return f"workflow {workflow.id} gave up with no route but is {moved.status}"
    return None


STATE_INVARIANTS: tuple[StatePredicate, ...] = (
    at_most_one_open_step,
    steps_follow_completions,
    history_is_a_path,
    first_acceptance_decides,
    nothing_accepted_is_lost,
    versions_are_pinned,
    always_a_way_forward,
    leases_are_as_told,
    contexts_are_merged_outputs,
    attempts_stay_within_budget,
    ended_attempts_are_audited_once,
)

EVERY_ACTION: tuple[type, ...] = (Action,)

CONCERNS: dict[TransitionPredicate, tuple[type, ...]] = {
    repeats_are_idempotent: (Complete, CompleteManual, Fail),
    no_attempt_while_another_is_open: (Lease,),
    failures_retry_or_give_up: (Fail,),
    refusals_change_nothing: EVERY_ACTION,
    only_the_open_job_decides: (Complete, CompleteManual),
    keys_start_once: (Start,),
    operators_reach_incidents: (Cancel, Move),
    crashes_keep_the_committed: (Crash, Interrupted),
    **lease_invariants.CONCERNS,
    **sweep_invariants.CONCERNS,
}
"""Every transition predicate, with the requests it is about: a new request (say a
``fail``) is added to the tuples of the guarantees that speak of it."""

TRANSITION_INVARIANTS: tuple[TransitionPredicate, ...] = tuple(CONCERNS)

_BY_KIND: dict[type, tuple[TransitionPredicate, ...]] = {}


def _about(kind: type) -> tuple[TransitionPredicate, ...]:
    """The predicates that speak of requests of this kind, in catalogue order."""
    found = _BY_KIND.get(kind)
    if found is None:
        found = _BY_KIND[kind] = tuple(
            p for p, kinds in CONCERNS.items() if issubclass(kind, kinds)
        )
    return found


def catalogue() -> tuple[Invariant, ...]:
    """Every invariant by name, with its docstring as the plain-words guarantee."""
    predicates = (*STATE_INVARIANTS, *TRANSITION_INVARIANTS)
    return tuple(Invariant(p.__name__, " ".join((p.__doc__ or "").split())) for p in predicates)


def state_violation(state: State) -> tuple[str, str] | None:
    """The first broken state invariant, as (name, description)."""
    for predicate in STATE_INVARIANTS:
        problem = predicate(state)
        if problem is not None:
            return predicate.__name__, problem
    return None


def transition_violation(
    before: State, action: Action[object], answer: object, after: State
) -> tuple[str, str] | None:
    """The first broken transition invariant, as (name, description)."""
    for predicate in _about(type(action)):
        problem = predicate(before, action, answer, after)
        if problem is not None:
            return predicate.__name__, problem
    return None
