"""The protocol's rules as pure functions: a state and a request in, a state and an answer out.

Each public method of ``Rules`` is one transaction. The small hooks below the public
methods are the seams the mutants in ``spec.mutants`` override.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType

from spec.answers import (
    ACCEPTED,
    STALE,
    Answer,
    InvalidRequest,
    LeasedJob,
    LeaseExtension,
    Reason,
    Released,
    Started,
    SweepOutcome,
    Swept,
    Verdict,
    rejected,
)
from spec.coverage import Tally, branch
from spec.graph import FAILED_LABEL, RESERVED_LABEL, RESERVED_LABELS, Graph, Node
from spec.state import (
    ACTIVE_STATUSES,
    JSON,
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


def merged(context_json: str, output: Mapping[str, JSON] | None) -> str:
    """The context with the output's top-level keys written over it."""
    if not output:
        return context_json
    context: dict[str, JSON] = json.loads(context_json)
    return canonical({**context, **output})


PUBLISH_NEW = branch("publish", "new_version", "a version is added")
PUBLISH_AGAIN = branch("publish", "same_again", "an existing version re-sent unchanged")
PUBLISH_CONFLICT = branch("publish", "version_exists", "an existing version with new content")

START_CREATED = branch("start", "created", "a new workflow")
START_EXISTING = branch("start", "existing_key", "a used key returns its first workflow")
START_UNKNOWN_DEFINITION = branch("start", "unknown_definition", "no such definition")
START_UNKNOWN_VERSION = branch("start", "unknown_version", "no such version")
START_KEY_CONFLICT = branch("start", "key_conflict", "a used key sent with another input")

ENTER_STEP = branch("enter", "step", "a step begins with a ready job")
ENTER_LEAF = branch("enter", "leaf", "a leaf is reached: the workflow completes")

LEASE_EMPTY = branch("lease", "nothing_due", "no due job of the asked operations")
LEASE_ALL = branch("lease", "all_due", "every due job fits the batch")
LEASE_MORE = branch("lease", "more_due", "more jobs are due than the batch holds")
LEASE_ASKED = branch("lease", "as_asked", "a lease runs the asked ticks")
LEASE_CAPPED = branch("lease", "capped", "a lease is cut at the attempt's timeout")

COMPLETE_UNKNOWN = branch("complete", "unknown_job", "no such job")
COMPLETE_RESERVED = branch("complete", "reserved_label", "a worker sent `timeout` or `failed`")
COMPLETE_MANUAL = branch("complete", "manual_step", "a worker completed a manual step")
MANUAL_UNKNOWN = branch("complete_manual", "unknown_job", "no such job")
MANUAL_RESERVED = branch("complete_manual", "reserved_label", "a person sent a reserved label")
MANUAL_NOT_MANUAL = branch("complete_manual", "not_manual", "a person completed a worker's job")
DECIDE_ACCEPTED = branch("decide", "accepted", "the first acceptance decides the step")
DECIDE_STALE = branch("decide", "stale", "not the open job of the current step")
DECIDE_NOT_OFFERED = branch("decide", "label_not_offered", "a label the node does not offer")
REPEAT_ACCEPTED = branch("repeat", "accepted", "the accepted label again: harmless")
REPEAT_STALE = branch("repeat", "stale", "another label after the acceptance")

HEARTBEAT_NOT_HELD = branch("heartbeat", "not_held", "unknown, not leased, or another's")
HEARTBEAT_LAPSED = branch("heartbeat", "lapsed", "the holder's lease already ran out")
HEARTBEAT_EXTENDED = branch("heartbeat", "extended", "the expiry moves out")
HEARTBEAT_AT_CAP = branch("heartbeat", "unchanged", "already as far as asked or allowed")

FAIL_UNKNOWN = branch("fail", "unknown_job", "no such job")
FAIL_MANUAL = branch("fail", "manual_step", "a worker failed a manual step")
FAIL_AGAIN = branch("fail", "again", "a failed attempt failed again: harmless")
FAIL_STALE = branch("fail", "stale", "not the leased attempt of a running step")
FAIL_ACCEPTED = branch("fail", "accepted", "a leased attempt ends as failed")
FAILURE_RETRY = branch("failure", "retry_scheduled", "attempts remain: a retry after backoff")
FAILURE_FINAL = branch("failure", "not_retryable", "a failure that is not retryable gives up")
FAILURE_EXHAUSTED = branch("failure", "attempts_exhausted", "the last attempt failed")
FAILED_ROUTED = branch("give_up_failed", "routed", "the node routes `failed`")
FAILED_INCIDENT = branch("give_up_failed", "incident", "no `failed` route: a person must act")

RELEASE_RELEASED = branch("release", "released", "a live lease given back")
RELEASE_NOT_HELD = branch("release", "not_held", "not the requester's live lease")

SWEEP_NOT_RUNNING = branch("sweep", "not_running", "a finished or incident workflow is skipped")
SWEEP_NOTHING = branch("sweep", "nothing_due", "no deadline passed, no lease lapsed")
SWEEP_DEADLINE = branch("sweep", "deadline_passed", "the step's deadline passed")
SWEEP_EXPIRED = branch("sweep", "lease_expired", "a lapsed lease ends its attempt")
EXPIRE_RETRY = branch("expire", "retry_scheduled", "attempts remain: a retry after backoff")
EXPIRE_EXHAUSTED = branch("expire", "attempts_exhausted", "the last attempt expired")
TIMEOUT_ROUTED = branch("time_out", "routed", "the node routes `timeout`")
TIMEOUT_INCIDENT = branch("time_out", "incident", "no route: a person must act")

CANCEL_UNKNOWN = branch("cancel", "unknown_workflow", "no such workflow")
CANCEL_AGAIN = branch("cancel", "already_cancelled", "cancelled again: nothing changes")
CANCEL_FINISHED = branch("cancel", "finished", "a completed workflow")
CANCEL_RUNNING = branch("cancel", "running", "a running workflow stops")
CANCEL_INCIDENT = branch("cancel", "incident", "an incident is closed by a person")

MOVE_UNKNOWN = branch("move", "unknown_workflow", "no such workflow")
MOVE_FINISHED = branch("move", "finished", "a completed or cancelled workflow")
MOVE_UNKNOWN_NODE = branch("move", "unknown_node", "no such node in its version")
MOVE_RUNNING = branch("move", "running", "a running workflow is moved")
MOVE_INCIDENT = branch("move", "incident", "an incident is moved on by a person")

CRASH_CLEAN = branch("crash", "nothing_uncommitted", "everything was committed")
CRASH_LOST = branch("crash", "uncommitted_lost", "writes not committed are lost")


class Rules:
    """The correct protocol; subclasses (mutants) break it on purpose.

    ``tally`` counts the branches taken (``spec.coverage``); it is instrumentation
    only and never changes an answer.
    """

    def __init__(self) -> None:
        self.tally = Tally()

    def reach(self, name: str) -> None:
        """Count one pass through a registered branch."""
        self.tally[name] += 1

    # -- definitions and workflows ------------------------------------------------

    def publish(self, state: State, graph: Graph) -> tuple[State, Answer]:
        """Add a definition version; an existing version can only be re-sent unchanged."""
        store = state.store
        existing = store.graph(graph.name, graph.version)
        if existing is not None:
            same = existing == graph
            self.reach(PUBLISH_AGAIN if same else PUBLISH_CONFLICT)
            return state, ACCEPTED if same else rejected(Reason.VERSION_EXISTS)
        self.reach(PUBLISH_NEW)
        store = replace(store, definitions=(*store.definitions, graph))
        return state.with_store(store), ACCEPTED

    def start(
        self,
        state: State,
        definition: str,
        version: int | None,
        key: str | None,
        context: Mapping[str, JSON] | None,
    ) -> tuple[State, Started]:
        """Create a running workflow at the start node, unless ``key`` was seen before for
        this definition: then the first workflow is the answer, whatever version is named
        (even one that does not exist), if the input is the same; else a key conflict."""
        store = state.store
        known = self.keyed(store, definition, key)
        if known is not None:
            if known.input_json != canonical(context or {}):
                self.reach(START_KEY_CONFLICT)
                return state, Started(Verdict.REJECTED, reason=Reason.KEY_CONFLICT)
            self.reach(START_EXISTING)
            return state, Started(Verdict.ACCEPTED, known.id, known.version, created=False)
        graph = store.graph(definition, version)
        if graph is None:
            known_name = store.graph(definition) is not None
            self.reach(START_UNKNOWN_VERSION if known_name else START_UNKNOWN_DEFINITION)
            missing = Reason.UNKNOWN_VERSION if known_name else Reason.UNKNOWN_DEFINITION
            return state, Started(Verdict.REJECTED, reason=missing)
        self.reach(START_CREATED)
        workflow = Workflow(
            id=len(store.workflows) + 1,
            definition=graph.name,
            version=graph.version,
            key=key,
            node=graph.start,
            step=1,
            status=Status.RUNNING,
            step_started_at=state.clock,
            context_json=canonical(context or {}),
            input_json=canonical(context or {}),
        )
        store = self.enter(store, workflow, state.clock)
        return state.with_store(store), Started(
            Verdict.ACCEPTED, workflow.id, graph.version, created=True
        )

    def keyed(self, store: Store, definition: str, key: str | None) -> Workflow | None:
        """The workflow a key created, keys being scoped per definition name."""
        if key is None:
            return None
        return next((w for w in store.workflows
                     if (w.definition, w.key) == (definition, key)), None)

    # -- the worker protocol ------------------------------------------------------


    def lease(
        self,
        state: State,
        worker: str,
        operations: Iterable[str],
        max_jobs: int,
        lease_ticks: int,
    ) -> tuple[State, tuple[LeasedJob, ...]]:
        """Lease up to ``max_jobs`` ready jobs, oldest ready first, then by job id."""
        if max_jobs < 1 or lease_ticks < 1:
            raise InvalidRequest("max_jobs and lease_ticks must be >= 1")
        wanted = frozenset(operations)
        ready = [j for j in state.store.jobs if self.leasable(j, wanted, state.clock)]
        ready.sort(key=lambda j: (j.ready_at, j.id))
        self.reach(LEASE_EMPTY if not ready else LEASE_MORE if len(ready) > max_jobs else LEASE_ALL)
        store, leases = state.store, []
        for job in ready[:max_jobs]:
            store, lease = self.grant(store, job, worker, state.clock, lease_ticks)
            leases.append(lease)
        return state.with_store(store), tuple(leases)

    def complete(
        self, state: State, job_id: int, label: str, output: Mapping[str, JSON] | None
    ) -> tuple[State, Answer]:
        """A worker's completion: accepted, stale, or rejected with a reason."""
        job = state.store.job(job_id)
        if job is None:
            self.reach(COMPLETE_UNKNOWN)
            return state, rejected(Reason.UNKNOWN_JOB)
        if label in RESERVED_LABELS:
            self.reach(COMPLETE_RESERVED)
            return state, rejected(Reason.RESERVED_LABEL)
        if job.manual:
            self.reach(COMPLETE_MANUAL)
            return state, rejected(Reason.MANUAL_STEP)
        return self.decide(state, job, label, output, None)

    def complete_manual(
        self,
        state: State,
        job_id: int,
        label: str,
        by: str,
        output: Mapping[str, JSON] | None,
    ) -> tuple[State, Answer]:
        """A person's completion of a manual step, recorded with who did it."""
        job = state.store.job(job_id)
        if job is None:
            self.reach(MANUAL_UNKNOWN)
            return state, rejected(Reason.UNKNOWN_JOB)
        if label in RESERVED_LABELS:
            self.reach(MANUAL_RESERVED)
            return state, rejected(Reason.RESERVED_LABEL)
        if not job.manual:
            self.reach(MANUAL_NOT_MANUAL)
            return state, rejected(Reason.NOT_MANUAL)
        return self.decide(state, job, label, output, by)

    def heartbeat(
        self, state: State, worker: str, jobs: Iterable[int], lease_ticks: int
    ) -> tuple[State, tuple[LeaseExtension, ...]]:
        """Extend the live leases ``worker`` holds, never past the attempt's timeout."""
        if lease_ticks < 1:
            raise InvalidRequest("lease_ticks must be >= 1")
        store, answers = state.store, []
        for job_id in jobs:
            job = store.job(job_id)
            if job is None or not self.holds(job, worker, state.clock):
                lapsed = job is not None and job.state is JobState.LEASED and job.holder == worker
                self.reach(HEARTBEAT_LAPSED if lapsed else HEARTBEAT_NOT_HELD)
                answers.append(LeaseExtension(job_id, extended=False))
                continue
            store, expiry = self.extend(store, job, state.clock, lease_ticks)
            answers.append(LeaseExtension(job_id, extended=True, expires_at=expiry))
        return state.with_store(store), tuple(answers)

    def release(
        self, state: State, worker: str, jobs: Iterable[int]
    ) -> tuple[State, tuple[Released, ...]]:
        """Give live leases back: the same job is ready again now, no attempt used."""
        store, answers = state.store, []
        for job_id in jobs:
            job = store.job(job_id)
            held = job is not None and self.holds(job, worker, state.clock)
            self.reach(RELEASE_RELEASED if held else RELEASE_NOT_HELD)
            if job is not None and held:
                store = store.with_job(self.unlease(job, state.clock))
            answers.append(Released(job_id, released=held))
        return state.with_store(store), tuple(answers)

    def fail(
        self, state: State, job_id: int, error: str, retryable: bool
    ) -> tuple[State, Answer]:
        """A worker says its attempt failed: the attempt ends, recorded with its error, and
        the step retries after the backoff (attempts left, retryable) or gives up."""
        job = state.store.job(job_id)
        if job is None:
            self.reach(FAIL_UNKNOWN)
            return state, rejected(Reason.UNKNOWN_JOB)
        if job.manual:
            self.reach(FAIL_MANUAL)
            return state, rejected(Reason.MANUAL_STEP)
        if job.state is JobState.FAILED:
            self.reach(FAIL_AGAIN)
            return state, ACCEPTED
        workflow = state.store.workflow(job.workflow)
        if workflow is None or not self.fails_now(workflow, job):
            self.reach(FAIL_STALE)
            return state, STALE
        self.reach(FAIL_ACCEPTED)
        store = state.store.with_job(self.end_failed(job, error))
        return state.with_store(self.after_failure(store, workflow, job, retryable,
                                                   state.clock)), ACCEPTED

    # -- time ---------------------------------------------------------------------

    def advance(self, state: State, ticks: int) -> State:
        """Let ``ticks`` ticks pass; nothing else changes until the sweeper runs."""
        if ticks < 0:
            raise InvalidRequest("time does not run backwards")
        return replace(state, clock=state.clock + ticks)

    def sweep(self, state: State, workflow_id: int | None) -> tuple[State, tuple[Swept, ...]]:
        """The sweeper's pass over one workflow, or over all of them in id order."""
        store = state.store
        ids = range(1, len(store.workflows) + 1) if workflow_id is None else (workflow_id,)
        events = []
        for wid in ids:
            workflow = store.workflow(wid)
            if workflow is None or workflow.status is not Status.RUNNING:
                self.reach(SWEEP_NOT_RUNNING)
                continue
            store, event = self.sweep_workflow(store, workflow, state.clock)
            if event is not None:
                events.append(event)
        return state.with_store(store), tuple(events)

    # -- people -------------------------------------------------------------------

    def cancel(self, state: State, workflow_id: int) -> tuple[State, Answer]:
        """Stop a running or incident workflow; its open job turns stale."""
        workflow = state.store.workflow(workflow_id)
        if workflow is None:
            self.reach(CANCEL_UNKNOWN)
            return state, rejected(Reason.UNKNOWN_WORKFLOW)
        if workflow.status is Status.CANCELLED:
            self.reach(CANCEL_AGAIN)
            return state, ACCEPTED
        if workflow.status not in ACTIVE_STATUSES:
            self.reach(CANCEL_FINISHED)
            return state, rejected(Reason.FINISHED)
        self.reach(CANCEL_INCIDENT if workflow.status is Status.INCIDENT else CANCEL_RUNNING)
        store = self.close_open(state.store, workflow_id)
        store = store.with_workflow(replace(workflow, status=Status.CANCELLED, incident=None))
        return state.with_store(store), ACCEPTED

    def move(
        self, state: State, workflow_id: int, node: str, by: str, reason: str
    ) -> tuple[State, Answer]:
        """A person puts a running or incident workflow on any node of its version."""
        store = state.store
        workflow = store.workflow(workflow_id)
        if workflow is None:
            self.reach(MOVE_UNKNOWN)
            return state, rejected(Reason.UNKNOWN_WORKFLOW)
        if workflow.status not in ACTIVE_STATUSES:
            self.reach(MOVE_FINISHED)
            return state, rejected(Reason.FINISHED)
        if node not in store.graph_of(workflow).nodes:
            self.reach(MOVE_UNKNOWN_NODE)
            return state, rejected(Reason.UNKNOWN_NODE)
        self.reach(MOVE_INCIDENT if workflow.status is Status.INCIDENT else MOVE_RUNNING)
        store = self.close_open(store, workflow_id)
        moved = Transition(
            workflow.step, workflow.node, node, TransitionKind.MOVED,
            None, None, None, state.clock, by, reason,
        )  # fmt: skip
        return state.with_store(self.take(store, workflow, moved, state.clock)), ACCEPTED

    # -- failures -----------------------------------------------------------------

    def crash(self, state: State) -> State:
        """Lose what is not committed; leases live in the database and simply expire."""
        if state.committed is None or state.committed is state.store:
            self.reach(CRASH_CLEAN)
            return replace(state, committed=None) if state.committed is not None else state
        self.reach(CRASH_LOST)
        return replace(state, store=state.committed, committed=None)

    def in_flight(self, before: State, after: State, durable: Store) -> State:
        """A request's writes while it runs: pending, all in one transaction, so the
        durable store is still what it was before the request."""
        return replace(after, committed=durable)

    # -- deciding a step ----------------------------------------------------------

    def decide(
        self,
        state: State,
        job: Job,
        label: str,
        output: Mapping[str, JSON] | None,
        by: str | None,
    ) -> tuple[State, Answer]:
        """The first acceptable completion of the open job decides its step."""
        if job.state is JobState.COMPLETED:
            return self.repeat(state, job, label, output, by)
        store = state.store
        workflow = store.workflow(job.workflow)
        if workflow is None or not self.is_current(workflow, job):
            self.reach(DECIDE_STALE)
            return state, STALE
        node = store.graph_of(workflow).node(job.node)
        if not self.offers(node, label):
            self.reach(DECIDE_NOT_OFFERED)
            return state, rejected(Reason.LABEL_NOT_OFFERED)
        self.reach(DECIDE_ACCEPTED)
        return self.accept(state, workflow, job, label, output, by), ACCEPTED

    def repeat(
        self,
        state: State,
        job: Job,
        label: str,
        output: Mapping[str, JSON] | None,
        by: str | None,
    ) -> tuple[State, Answer]:
        """A completion of a decided job: the same label again is a harmless retry."""
        same = job.label == label
        self.reach(REPEAT_ACCEPTED if same else REPEAT_STALE)
        return state, ACCEPTED if same else STALE

    def is_current(self, workflow: Workflow, job: Job) -> bool:
        """Whether ``job`` is the open job of the workflow's current step."""
        running = workflow.status is Status.RUNNING
        return running and job.is_open and job.step == workflow.step

    def offers(self, node: Node, label: str) -> bool:
        """Whether a client may complete a job at ``node`` with ``label``."""
        return label in node.labels

    def target(self, node: Node, label: str) -> str:
        """Where ``label`` leads from ``node``."""
        return node.on[label]

    def accept(
        self,
        state: State,
        workflow: Workflow,
        job: Job,
        label: str,
        output: Mapping[str, JSON] | None,
        by: str | None,
    ) -> State:
        """Record the decision: close the job, walk the edge, open the next step."""
        node = state.store.graph_of(workflow).node(job.node)
        kind = TransitionKind.MANUAL if by is not None else TransitionKind.COMPLETED
        edge = Transition(
            workflow.step, workflow.node, self.target(node, label), kind,
            label, job.id, job.attempt, state.clock, by,
        )  # fmt: skip
        store = state.store.with_job(replace(job, state=JobState.COMPLETED, label=label))
        informed = replace(workflow, context_json=self.merge(workflow.context_json, output))
        return state.with_store(self.take(store, informed, edge, state.clock))

    def merge(self, context_json: str, output: Mapping[str, JSON] | None) -> str:
        """The context an accepted output leaves: merged one level deep."""
        return merged(context_json, output)

    # -- steps --------------------------------------------------------------------

    def take(self, store: Store, workflow: Workflow, edge: Transition, now: int) -> Store:
        """Record ``edge`` in the history and begin the next step at its target."""
        history = (*workflow.history, edge)
        moved = replace(workflow, node=edge.target, step=workflow.step + 1, history=history)
        return self.enter(store, moved, now)

    def enter(self, store: Store, workflow: Workflow, now: int) -> Store:
        """Begin the workflow's current step: a fresh job, or the end at a leaf."""
        node = store.graph_of(workflow).node(workflow.node)
        if node.is_leaf:
            self.reach(ENTER_LEAF)
            done = replace(workflow, status=Status.COMPLETED, incident=None, step_started_at=now)
            return store.with_workflow(done)
        self.reach(ENTER_STEP)
        running = replace(workflow, status=Status.RUNNING, incident=None, step_started_at=now)
        first = self.new_job(store, running, node, attempt=1, ready_at=now)
        return store.with_workflow(running).with_job(first)

    def new_job(
        self, store: Store, workflow: Workflow, node: Node, attempt: int, ready_at: int
    ) -> Job:
        """A ready job for the workflow's current step, with the next job id."""
        return Job(
            id=len(store.jobs) + 1,
            workflow=workflow.id,
            step=workflow.step,
            node=workflow.node,
            operation=node.operation,
            manual=node.manual,
            attempt=attempt,
            state=JobState.READY,
            ready_at=ready_at,
        )

    def close_open(self, store: Store, workflow_id: int) -> Store:
        """Close every open job of a workflow, so later completions are stale."""
        for job in store.open_jobs(workflow_id):
            store = store.with_job(replace(job, state=JobState.CLOSED))
        return store

    # -- failed attempts ----------------------------------------------------------

    def fails_now(self, workflow: Workflow, job: Job) -> bool:
        """Whether a failure of ``job`` ends an attempt: the leased job of the current step
        of a running workflow (a ready job has no attempt under way to fail)."""
        running = workflow.status is Status.RUNNING and job.step == workflow.step
        return running and job.state is JobState.LEASED

    def end_failed(self, job: Job, error: str) -> Job:
        """The failed job, closed for good with its error."""
        return replace(job, state=JobState.FAILED, error=error)

    def after_failure(
        self, store: Store, workflow: Workflow, job: Job, retryable: bool, now: int
    ) -> Store:
        """A retry after the backoff while attempts remain and the failure allows it;
        otherwise the step gives up with `failed`."""
        node = store.graph_of(workflow).node(job.node)
        if retryable and job.attempt < node.attempts:
            self.reach(FAILURE_RETRY)
            return store.with_job(self.retry_of(store, job, now + node.backoff))
        self.reach(FAILURE_EXHAUSTED if retryable else FAILURE_FINAL)
        return self.give_up_failed(store, workflow, job, node, now)

    def give_up_failed(
        self, store: Store, workflow: Workflow, job: Job, node: Node, now: int
    ) -> Store:
        """Take the `failed` edge if the node routes it; otherwise call a person."""
        if not node.routes_failed:
            self.reach(FAILED_INCIDENT)
            return store.with_workflow(
                replace(workflow, status=Status.INCIDENT, incident=TimeoutCause.FAILED))
        self.reach(FAILED_ROUTED)
        edge = Transition(
            workflow.step, workflow.node, node.on[FAILED_LABEL], TransitionKind.FAILED,
            FAILED_LABEL, job.id, job.attempt, now, None, str(TimeoutCause.FAILED),
        )  # fmt: skip
        return self.take(store, workflow, edge, now)

    # -- leases -------------------------------------------------------------------

    def leasable(self, job: Job, operations: frozenset[str], now: int) -> bool:
        """Ready, due, not manual, and an operation the worker asked for."""
        due = job.state is JobState.READY and job.ready_at <= now
        return due and not job.manual and job.operation in operations

    def grant(
        self, store: Store, job: Job, worker: str, now: int, lease_ticks: int
    ) -> tuple[Store, LeasedJob]:
        """Lease one job to ``worker``; the attempt's timeout starts now."""
        workflow = store.workflow(job.workflow)
        assert workflow is not None and job.operation is not None
        node = store.graph_of(workflow).node(job.node)
        expiry = self.lease_expiry(node, now, now, lease_ticks)
        self.reach(LEASE_CAPPED if expiry < now + lease_ticks else LEASE_ASKED)
        leased = replace(
            job, state=JobState.LEASED, holder=worker, leased_at=now, expires_at=expiry
        )
        lease = LeasedJob(
            job.id, workflow.id, job.step, job.attempt, job.operation, job.node,
            node.labels, MappingProxyType(workflow.context), expiry,
        )  # fmt: skip
        return store.with_job(leased), lease

    def lease_expiry(self, node: Node, leased_at: int, now: int, lease_ticks: int) -> int:
        """A lease runs ``lease_ticks`` from now, capped by the attempt's timeout."""
        return min(now + lease_ticks, leased_at + node.timeout)

    def holds(self, job: Job, worker: str, now: int) -> bool:
        """Whether ``worker`` holds a live (unexpired) lease on ``job``."""
        live = job.expires_at is not None and now < job.expires_at
        return job.state is JobState.LEASED and job.holder == worker and live

    def extend(self, store: Store, job: Job, now: int, lease_ticks: int) -> tuple[Store, int]:
        """Push a live lease's expiry out (never in), up to the attempt's cap."""
        workflow = store.workflow(job.workflow)
        assert workflow is not None and job.leased_at is not None and job.expires_at is not None
        node = store.graph_of(workflow).node(job.node)
        expiry = max(job.expires_at, self.lease_expiry(node, job.leased_at, now, lease_ticks))
        if expiry == job.expires_at:
            self.reach(HEARTBEAT_AT_CAP)
            return store, expiry
        self.reach(HEARTBEAT_EXTENDED)
        return store.with_job(replace(job, expires_at=expiry)), expiry

    def unlease(self, job: Job, now: int) -> Job:
        """The same job, ready again at the back of the queue."""
        return replace(
            job, state=JobState.READY, holder=None, leased_at=None, expires_at=None, ready_at=now
        )

    # -- the sweeper --------------------------------------------------------------

    def sweep_workflow(
        self, store: Store, workflow: Workflow, now: int
    ) -> tuple[Store, Swept | None]:
        """Deadline first (it ends the whole step), then an expired lease."""
        node = store.graph_of(workflow).node(workflow.node)
        job = self.sweepable_job(store, workflow)
        if node.deadline is not None and now >= workflow.step_started_at + node.deadline:
            self.reach(SWEEP_DEADLINE)
            store = self.close_open(store, workflow.id)
            return self.time_out(store, workflow, job, node, TimeoutCause.DEADLINE_PASSED, now)
        if job is not None and self.lease_expired(job, now):
            self.reach(SWEEP_EXPIRED)
            return self.expire(store, workflow, job, now)
        self.reach(SWEEP_NOTHING)
        return store, None

    def sweepable_job(self, store: Store, workflow: Workflow) -> Job | None:
        """The job the sweeper watches: the workflow's open job."""
        return store.open_job(workflow.id)

    def lease_expired(self, job: Job, now: int) -> bool:
        """A leased job whose lease ran out; the attempt is over once swept."""
        ran_out = job.expires_at is not None and now >= job.expires_at
        return job.state is JobState.LEASED and ran_out

    def expire(self, store: Store, workflow: Workflow, job: Job, now: int) -> tuple[Store, Swept]:
        """End an attempt; retry after the backoff while attempts remain."""
        node = store.graph_of(workflow).node(job.node)
        store = store.with_job(self.end_attempt(job))
        if job.attempt >= node.attempts:
            self.reach(EXPIRE_EXHAUSTED)
            return self.time_out(store, workflow, job, node, TimeoutCause.ATTEMPTS_EXHAUSTED, now)
        self.reach(EXPIRE_RETRY)
        retry = self.retry_of(store, job, now + node.backoff)
        return store.with_job(retry), Swept(workflow.id, job.id, SweepOutcome.RETRY_SCHEDULED)

    def retry_of(self, store: Store, job: Job, ready_at: int) -> Job:
        """The next attempt at ``job``'s step: a new job, with the next id."""
        return Job(
            len(store.jobs) + 1, job.workflow, job.step, job.node, job.operation,
            job.manual, job.attempt + 1, JobState.READY, ready_at,
        )  # fmt: skip

    def end_attempt(self, job: Job) -> Job:
        """The expired job, closed for good."""
        return replace(job, state=JobState.EXPIRED)

    def time_out(
        self,
        store: Store,
        workflow: Workflow,
        job: Job | None,
        node: Node,
        cause: TimeoutCause,
        now: int,
    ) -> tuple[Store, Swept]:
        """Take the ``timeout`` edge if the node routes it; otherwise call a person."""
        job_id = job.id if job is not None else None
        if not node.routes_timeout:
            self.reach(TIMEOUT_INCIDENT)
            stuck = replace(workflow, status=Status.INCIDENT, incident=cause)
            raised = Swept(workflow.id, job_id, SweepOutcome.INCIDENT, cause)
            return store.with_workflow(stuck), raised
        self.reach(TIMEOUT_ROUTED)
        attempt = job.attempt if job is not None else None
        edge = Transition(
            workflow.step, workflow.node, node.on[RESERVED_LABEL], TransitionKind.TIMEOUT,
            RESERVED_LABEL, job_id, attempt, now, None, str(cause),
        )  # fmt: skip
        routed = Swept(workflow.id, job_id, SweepOutcome.TIMEOUT_ROUTED, cause)
        return self.take(store, workflow, edge, now), routed
