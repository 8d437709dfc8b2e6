"""Deliberately broken protocols: each must be caught, or the checker proves nothing.

Every mutant overrides one seam of ``Rules`` the way a plausible bug would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace

from spec.answers import (
    ACCEPTED,
    STALE,
    Answer,
    LeasedJob,
    Reason,
    Released,
    Started,
    SweepOutcome,
    Swept,
    Verdict,
    rejected,
)
from spec.graph import Graph, Node
from spec.rules import Rules, merged
from spec.state import (
    ACTIVE_STATUSES,
    JSON,
    Job,
    JobState,
    State,
    Status,
    Store,
    TimeoutCause,
    Workflow,
    canonical,
)


class AcceptsStaleCompletion(Rules):
    """Lets a superseded attempt of the current step decide it (checks the step, not the job)."""

    def is_current(self, workflow: Workflow, job: Job) -> bool:
        return workflow.status is Status.RUNNING and job.step == workflow.step


class ReoffersCompletedStep(Rules):
    """The sweeper's expiry query forgets ``state = 'leased'``: a completed job whose
    old lease has run out is expired again, and its step, already decided, retried."""

    def sweepable_job(self, store: Store, workflow: Workflow) -> Job | None:
        mine = (j for j in store.jobs if j.workflow == workflow.id)
        leased = [j for j in mine if j.expires_at is not None and j.state is not JobState.EXPIRED]
        return leased[0] if leased else store.open_job(workflow.id)

    def lease_expired(self, job: Job, now: int) -> bool:
        return job.expires_at is not None and now >= job.expires_at


class ForgetsAcceptedOnCrash(Rules):
    """Acknowledges a completion before committing it (a write-behind buffer): a crash
    before the next commit loses it."""

    def complete(
        self, state: State, job_id: int, label: str, output: Mapping[str, JSON] | None
    ) -> tuple[State, Answer]:
        after, answer = super().complete(state, job_id, label, output)
        if after.store == state.store:
            return after, answer
        committed = state.committed if state.committed is not None else state.store
        return replace(after, committed=committed), answer


class AdvancesOnUnofferedLabel(Rules):
    """Treats a label the node does not offer as its first edge (a default branch)."""

    def offers(self, node: Node, label: str) -> bool:
        return True

    def target(self, node: Node, label: str) -> str:
        return node.on.get(label, next(iter(node.on.values())))


class TwoOpenJobsPerStep(Rules):
    """Schedules the retry without closing the expired attempt, so two jobs of one step
    are open and either may advance it."""

    def end_attempt(self, job: Job) -> Job:
        return job


class MigratesRunningWorkflows(Rules):
    """Publishing a version moves running workflows of that definition onto it."""

    def publish(self, state: State, graph: Graph) -> tuple[State, Answer]:
        after, answer = super().publish(state, graph)
        store = after.store
        for workflow in store.workflows:
            if workflow.definition == graph.name and workflow.status is Status.RUNNING:
                store = store.with_workflow(replace(workflow, version=graph.version))
        return replace(after, store=store), answer


class ForgetsIncident(Rules):
    """Reports a timed-out step without a timeout route as an incident, but never
    records it: the workflow stays running with nothing to do and nobody told."""

    def time_out(
        self,
        store: Store,
        workflow: Workflow,
        job: Job | None,
        node: Node,
        cause: TimeoutCause,
        now: int,
    ) -> tuple[Store, Swept]:
        if node.routes_timeout:
            return super().time_out(store, workflow, job, node, cause, now)
        job_id = job.id if job is not None else None
        return store, Swept(workflow.id, job_id, SweepOutcome.INCIDENT, cause)


class LeasesManualSteps(Rules):
    """Offers manual steps to workers as if they were operations."""

    def leasable(self, job: Job, operations: frozenset[str], now: int) -> bool:
        due = job.state is JobState.READY and job.ready_at <= now
        return due and job.operation in operations


class LeaseOutlivesAttempt(Rules):
    """Extends leases by the requested time without the attempt's timeout cap."""

    def lease_expiry(self, node: Node, leased_at: int, now: int, lease_ticks: int) -> int:
        return now + lease_ticks


class RepeatRewritesContext(Rules):
    """Answers a repeated completion accepted but merges its output again."""

    def repeat(
        self,
        state: State,
        job: Job,
        label: str,
        output: Mapping[str, JSON] | None,
        by: str | None,
    ) -> tuple[State, Answer]:
        after, answer = super().repeat(state, job, label, output, by)
        workflow = state.store.workflow(job.workflow)
        if answer is not ACCEPTED or workflow is None:
            return after, answer
        rewritten = replace(workflow, context_json=merged(workflow.context_json, output))
        return state.with_store(state.store.with_workflow(rewritten)), answer


class CancelLeavesJobOpen(Rules):
    """Cancels the workflow but forgets to close its open job."""

    def cancel(self, state: State, workflow_id: int) -> tuple[State, Answer]:
        workflow = state.store.workflow(workflow_id)
        if workflow is None or workflow.status not in ACTIVE_STATUSES:
            return super().cancel(state, workflow_id)
        store = state.store.with_workflow(replace(workflow, status=Status.CANCELLED))
        return state.with_store(store), ACCEPTED


class WorkerTakesTimeout(Rules):
    """Lets a worker complete with the reserved label where the node routes it."""

    def complete(
        self, state: State, job_id: int, label: str, output: Mapping[str, JSON] | None
    ) -> tuple[State, Answer]:
        job = state.store.job(job_id)
        if job is None:
            return state, rejected(Reason.UNKNOWN_JOB)
        return self.decide(state, job, label, output, None)

    def offers(self, node: Node, label: str) -> bool:
        return label in node.on


class SweeperNeverExpiresLeases(Rules):
    """The expiry query compares with the wrong clock and never finds a lapsed lease."""

    def lease_expired(self, job: Job, now: int) -> bool:
        return False


class ExpiresLeasesEarly(Rules):
    """Expires a lease one tick before it runs out (``<=`` where ``<`` was meant)."""

    def lease_expired(self, job: Job, now: int) -> bool:
        return job.state is JobState.LEASED and job.expires_at is not None and \
            now + 1 >= job.expires_at  # fmt: skip


class IgnoresDeadlines(Rules):
    """The sweeper never looks at step deadlines."""

    def sweep_workflow(
        self, store: Store, workflow: Workflow, now: int
    ) -> tuple[Store, Swept | None]:
        job = self.sweepable_job(store, workflow)
        if job is not None and self.lease_expired(job, now):
            return self.expire(store, workflow, job, now)
        return store, None


class DeadlineAlwaysIncident(Rules):
    """A passed deadline raises an incident even where the node routes ``timeout``."""

    def sweep_workflow(
        self, store: Store, workflow: Workflow, now: int
    ) -> tuple[Store, Swept | None]:
        node = store.graph_of(workflow).node(workflow.node)
        if node.deadline is None or now < workflow.step_started_at + node.deadline:
            return super().sweep_workflow(store, workflow, now)
        job = self.sweepable_job(store, workflow)
        store = self.close_open(store, workflow.id)
        stuck = replace(workflow, status=Status.INCIDENT, incident=TimeoutCause.DEADLINE_PASSED)
        job_id = job.id if job is not None else None
        raised = Swept(workflow.id, job_id, SweepOutcome.INCIDENT, TimeoutCause.DEADLINE_PASSED)
        return store.with_workflow(stuck), raised


class HeartbeatRestartsAttempt(Rules):
    """A heartbeat counts the attempt's timeout from now instead of from the grant."""

    def extend(self, store: Store, job: Job, now: int, lease_ticks: int) -> tuple[Store, int]:
        restarted = replace(job, leased_at=now)
        return super().extend(store.with_job(restarted), restarted, now, lease_ticks)


class HeartbeatMovesExpiryIn(Rules):
    """A heartbeat sets the expiry to now + ticks even when that is earlier."""

    def extend(self, store: Store, job: Job, now: int, lease_ticks: int) -> tuple[Store, int]:
        workflow = store.workflow(job.workflow)
        assert workflow is not None and job.leased_at is not None
        node = store.graph_of(workflow).node(job.node)
        expiry = self.lease_expiry(node, job.leased_at, now, lease_ticks)
        return store.with_job(replace(job, expires_at=expiry)), expiry


class HeartbeatRevivesLapsedLease(Rules):
    """Extends a lease the holder let run out (liveness not checked)."""

    def holds(self, job: Job, worker: str, now: int) -> bool:
        return job.state is JobState.LEASED and job.holder == worker


class AnyWorkerReleases(Rules):
    """Releases a job whoever asks, not only its holder."""

    def holds(self, job: Job, worker: str, now: int) -> bool:
        live = job.expires_at is not None and now < job.expires_at
        return job.state is JobState.LEASED and live


class RetriesWithoutBackoff(Rules):
    """Schedules a retry ready at once, ignoring the node's backoff."""

    def retry_of(self, store: Store, job: Job, ready_at: int) -> Job:
        workflow = store.workflow(job.workflow)
        assert workflow is not None
        backoff = store.graph_of(workflow).node(job.node).backoff
        return super().retry_of(store, job, ready_at - backoff)


class LeasesJobsBeforeTheyAreDue(Rules):
    """Leases ready jobs whatever their ``ready_at`` (the ``<= now`` filter forgotten)."""

    def leasable(self, job: Job, operations: frozenset[str], now: int) -> bool:
        ready = job.state is JobState.READY and not job.manual
        return ready and job.operation in operations


class OneAttemptTooFew(Rules):
    """Gives up one attempt early (``attempt + 1 >= attempts``)."""

    def expire(self, store: Store, workflow: Workflow, job: Job, now: int) -> tuple[Store, Swept]:
        node = store.graph_of(workflow).node(job.node)
        if job.attempt + 1 < node.attempts:
            return super().expire(store, workflow, job, now)
        store = store.with_job(self.end_attempt(job))
        return self.time_out(store, workflow, job, node, TimeoutCause.ATTEMPTS_EXHAUSTED, now)


class OneAttemptTooMany(Rules):
    """Gives up one attempt late (``attempt > attempts``)."""

    def expire(self, store: Store, workflow: Workflow, job: Job, now: int) -> tuple[Store, Swept]:
        node = store.graph_of(workflow).node(job.node)
        if job.attempt != node.attempts:
            return super().expire(store, workflow, job, now)
        store = store.with_job(self.end_attempt(job))
        retry = self.retry_of(store, job, now + node.backoff)
        return store.with_job(retry), Swept(workflow.id, job.id, SweepOutcome.RETRY_SCHEDULED)


class RetryKeepsAttemptNumber(Rules):
    """The retry's job copies the attempt number instead of counting it up."""

    def retry_of(self, store: Store, job: Job, ready_at: int) -> Job:
        return replace(super().retry_of(store, job, ready_at), attempt=job.attempt)


class LeasesNewestFirst(Rules):
    """Orders the lease query by ``ready_at DESC``."""

    def lease(
        self, state: State, worker: str, operations: Iterable[str], max_jobs: int,
        lease_ticks: int,
    ) -> tuple[State, tuple[LeasedJob, ...]]:  # fmt: skip
        wanted = frozenset(operations)
        ready = [j for j in state.store.jobs if self.leasable(j, wanted, state.clock)]
        ready.sort(key=lambda j: (-j.ready_at, -j.id))
        store, leases = state.store, []
        for job in ready[:max_jobs]:
            store, lease = self.grant(store, job, worker, state.clock, lease_ticks)
            leases.append(lease)
        return state.with_store(store), tuple(leases)


class ReleaseKeepsLease(Rules):
    """Answers ``released`` but never clears the lease."""

    def unlease(self, job: Job, now: int) -> Job:
        return job


class ReleaseUsesAttempt(Rules):
    """Treats a release as an expired attempt: a new job, one attempt used."""

    def release(
        self, state: State, worker: str, jobs: Iterable[int]
    ) -> tuple[State, tuple[Released, ...]]:
        store, answers = state.store, []
        for job_id in jobs:
            job = store.job(job_id)
            held = job is not None and self.holds(job, worker, state.clock)
            if job is not None and held:
                store = store.with_job(self.end_attempt(job))
                store = store.with_job(self.retry_of(store, job, state.clock))
            answers.append(Released(job_id, released=held))
        return state.with_store(store), tuple(answers)


class ReleaseDelaysTheJob(Rules):
    """A released job waits out the node's backoff, as if it had failed."""

    def unlease(self, job: Job, now: int) -> Job:
        return replace(super().unlease(job, now), ready_at=now + 1)


class DropsOutput(Rules):
    """Accepts a completion but never merges its output into the context."""

    def merge(self, context_json: str, output: Mapping[str, JSON] | None) -> str:
        return context_json


class MergesWrongWayRound(Rules):
    """Merges the context over the output, so old keys win."""

    def merge(self, context_json: str, output: Mapping[str, JSON] | None) -> str:
        context: dict[str, JSON] = json.loads(context_json)
        return canonical({**(output or {}), **context})


class MergesDeep(Rules):
    """Merges nested objects recursively instead of replacing top-level keys."""

    def merge(self, context_json: str, output: Mapping[str, JSON] | None) -> str:
        context: dict[str, JSON] = json.loads(context_json)
        for key, value in (output or {}).items():
            old = context.get(key)
            both = isinstance(old, dict) and isinstance(value, dict)
            context[key] = {**old, **value} if both else value  # type: ignore[dict-item]
        return canonical(context)


class CancelRefusesIncident(Rules):
    """Cancels only running workflows; an incident is answered ``finished``."""

    def cancel(self, state: State, workflow_id: int) -> tuple[State, Answer]:
        workflow = state.store.workflow(workflow_id)
        if workflow is not None and workflow.status is Status.INCIDENT:
            return state, rejected(Reason.FINISHED)
        return super().cancel(state, workflow_id)


class MoveRefusesIncident(Rules):
    """Moves only running workflows; an incident is answered ``finished``."""

    def move(
        self, state: State, workflow_id: int, node: str, by: str, reason: str
    ) -> tuple[State, Answer]:
        workflow = state.store.workflow(workflow_id)
        if workflow is not None and workflow.status is Status.INCIDENT:
            return state, rejected(Reason.FINISHED)
        return super().move(state, workflow_id, node, by, reason)


class SweepStopsAtFirstWorkflow(Rules):
    """The sweep query has ``LIMIT 1``: one workflow per pass, the rest wait."""

    def sweep(self, state: State, workflow_id: int | None) -> tuple[State, tuple[Swept, ...]]:
        after, events = super().sweep(state, workflow_id)
        if len(events) <= 1:
            return after, events
        redone, _ = super().sweep(state, events[0].workflow)
        return redone, events[:1]


class SplitCompletionTransaction(Rules):
    """Marks the job completed in its own transaction before the step's transaction:
    a crash in between leaves a decided job and a step that never moved."""

    def in_flight(self, before: State, after: State, durable: Store) -> State:
        for job in after.store.jobs:
            old = durable.job(job.id)
            newly_completed = job.state is JobState.COMPLETED
            if old is not None and newly_completed and old.state is not JobState.COMPLETED:
                durable = durable.with_job(job)
        return replace(after, committed=durable)


class FailureUsesNoAttempt(Rules):
    """A retryable failure is retried as the same attempt, the way a release gives a job
    back: failures never use up the budget, and a step that always fails never gives up."""

    def after_failure(
        self, store: Store, workflow: Workflow, job: Job, retryable: bool, now: int
    ) -> Store:
        if not retryable:
            return super().after_failure(store, workflow, job, retryable, now)
        node = store.graph_of(workflow).node(job.node)
        retry = replace(self.retry_of(store, job, now + node.backoff), attempt=job.attempt)
        return store.with_job(retry)


class FailureIgnoresRetryable(Rules):
    """A failure marked not retryable is retried anyway while attempts remain."""

    def after_failure(
        self, store: Store, workflow: Workflow, job: Job, retryable: bool, now: int
    ) -> Store:
        return super().after_failure(store, workflow, job, True, now)


class FailureOneAttemptTooFew(Rules):
    """The retry check is off by one: a failure gives up one attempt early."""

    def after_failure(
        self, store: Store, workflow: Workflow, job: Job, retryable: bool, now: int
    ) -> Store:
        node = store.graph_of(workflow).node(job.node)
        if job.attempt + 1 >= node.attempts:
            return self.give_up_failed(store, workflow, job, node, now)
        return super().after_failure(store, workflow, job, retryable, now)


class FailureSchedulesNothing(Rules):
    """A failure with attempts left ends the attempt and forgets to schedule the next:
    the workflow stays running with nothing to run."""

    def after_failure(
        self, store: Store, workflow: Workflow, job: Job, retryable: bool, now: int
    ) -> Store:
        node = store.graph_of(workflow).node(job.node)
        if retryable and job.attempt < node.attempts:
            return store
        return super().after_failure(store, workflow, job, retryable, now)


class FailureRetriesWithoutBackoff(Rules):
    """The retry after a failure is ready at once; only the sweeper's retries wait."""

    def after_failure(
        self, store: Store, workflow: Workflow, job: Job, retryable: bool, now: int
    ) -> Store:
        node = store.graph_of(workflow).node(job.node)
        if retryable and job.attempt < node.attempts:
            return store.with_job(self.retry_of(store, job, now))
        return super().after_failure(store, workflow, job, retryable, now)


class FailedGiveUpIgnoresRoute(Rules):
    """A step that gives up with `failed` always becomes an incident, route or not."""

    def give_up_failed(
        self, store: Store, workflow: Workflow, job: Job, node: Node, now: int
    ) -> Store:
        unrouted = Node(node.operation, {k: v for k, v in node.on.items() if k != "failed"},
                        node.timeout, node.attempts, node.backoff, node.deadline, node.manual)
        return super().give_up_failed(store, workflow, job, unrouted, now)


class FailAcceptsReadyJob(Rules):
    """A failure of a job nobody holds (ready, never leased or released) is accepted."""

    def fails_now(self, workflow: Workflow, job: Job) -> bool:
        running = workflow.status is Status.RUNNING and job.step == workflow.step
        return running and job.is_open


class FailRepeatIsStale(Rules):
    """A worker retrying its failure request is told stale (the attempt is not leased)."""

    def fail(
        self, state: State, job_id: int, error: str, retryable: bool
    ) -> tuple[State, Answer]:
        job = state.store.job(job_id)
        if job is not None and job.state is JobState.FAILED:
            return state, STALE
        return super().fail(state, job_id, error, retryable)


class FailLeavesJobLeased(Rules):
    """The failure is recorded on the job (its error) but the job stays leased, while the
    retry is scheduled beside it: two open attempts of one step."""

    def end_failed(self, job: Job, error: str) -> Job:
        return replace(job, error=error)


class FailureLosesError(Rules):
    """A failed attempt is recorded without its error: the audit trail cannot say why."""

    def end_failed(self, job: Job, error: str) -> Job:
        return super().end_failed(job, "")


class WorkerTakesFailed(Rules):
    """A worker's completion with the reserved `failed` takes the give-up route."""

    def complete(
        self, state: State, job_id: int, label: str, output: Mapping[str, JSON] | None
    ) -> tuple[State, Answer]:
        job = state.store.job(job_id)
        if label == "failed" and job is not None and not job.manual:
            return self.decide(state, job, label, output, None)
        return super().complete(state, job_id, label, output)

    def offers(self, node: Node, label: str) -> bool:
        return label in node.on


class DeadlineRecordsExpiry(Rules):
    """A passed deadline ends the open attempt as expired, not closed: the trail says an
    attempt was used that the deadline took away."""

    def sweep_workflow(
        self, store: Store, workflow: Workflow, now: int
    ) -> tuple[Store, Swept | None]:
        node = store.graph_of(workflow).node(workflow.node)
        if node.deadline is not None and now >= workflow.step_started_at + node.deadline:
            for job in store.open_jobs(workflow.id):
                store = store.with_job(replace(job, state=JobState.EXPIRED))
        return super().sweep_workflow(store, workflow, now)


class KeysAcrossDefinitions(Rules):
    """Idempotency keys are global: a key used by one definition answers a start of
    another definition with the first one's workflow."""

    def keyed(self, store: Store, definition: str, key: str | None) -> Workflow | None:
        return next((w for w in store.workflows if key is not None and w.key == key), None)


class KeyIgnoresInput(Rules):
    """A repeated key with another input answers the first workflow as if it were the
    same request, so the second client believes its input was taken."""

    def start(
        self, state: State, definition: str, version: int | None, key: str | None,
        context: Mapping[str, JSON] | None,
    ) -> tuple[State, Started]:  # fmt: skip
        known = self.keyed(state.store, definition, key)
        if known is not None:
            return state, Started(Verdict.ACCEPTED, known.id, known.version, created=False)
        return super().start(state, definition, version, key, context)


class KeyNeedsTheVersion(Rules):
    """The version is resolved before the key is looked up: a repeat naming a version
    that does not exist is refused instead of answered with its workflow."""

    def start(
        self, state: State, definition: str, version: int | None, key: str | None,
        context: Mapping[str, JSON] | None,
    ) -> tuple[State, Started]:  # fmt: skip
        if state.store.graph(definition, version) is None:
            known = state.store.graph(definition) is not None
            reason = Reason.UNKNOWN_VERSION if known else Reason.UNKNOWN_DEFINITION
            return state, Started(Verdict.REJECTED, reason=reason)
        return super().start(state, definition, version, key, context)


MUTANTS: tuple[type[Rules], ...] = (
    AcceptsStaleCompletion,
    ReoffersCompletedStep,
    ForgetsAcceptedOnCrash,
    AdvancesOnUnofferedLabel,
    TwoOpenJobsPerStep,
    MigratesRunningWorkflows,
    ForgetsIncident,
    LeasesManualSteps,
    LeaseOutlivesAttempt,
    RepeatRewritesContext,
    CancelLeavesJobOpen,
    WorkerTakesTimeout,
    SweeperNeverExpiresLeases,
    ExpiresLeasesEarly,
    IgnoresDeadlines,
    DeadlineAlwaysIncident,
    HeartbeatRestartsAttempt,
    HeartbeatMovesExpiryIn,
    HeartbeatRevivesLapsedLease,
    AnyWorkerReleases,
    RetriesWithoutBackoff,
    LeasesJobsBeforeTheyAreDue,
    OneAttemptTooFew,
    OneAttemptTooMany,
    RetryKeepsAttemptNumber,
    LeasesNewestFirst,
    ReleaseKeepsLease,
    ReleaseUsesAttempt,
    ReleaseDelaysTheJob,
    DropsOutput,
    MergesWrongWayRound,
    MergesDeep,
    CancelRefusesIncident,
    MoveRefusesIncident,
    SweepStopsAtFirstWorkflow,
    SplitCompletionTransaction,
    FailureUsesNoAttempt,
    FailureIgnoresRetryable,
    FailureOneAttemptTooFew,
    FailureSchedulesNothing,
    FailureRetriesWithoutBackoff,
    FailedGiveUpIgnoresRoute,
    FailAcceptsReadyJob,
    FailRepeatIsStale,
    FailLeavesJobLeased,
    FailureLosesError,
    WorkerTakesFailed,
    DeadlineRecordsExpiry,
    KeysAcrossDefinitions,
    KeyIgnoresInput,
    KeyNeedsTheVersion,
)
