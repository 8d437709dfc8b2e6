"""Deliberately broken protocols: each must be caught, or the checker proves nothing.

Every mutant overrides one seam of ``Rules`` the way a plausible bug would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from spec.answers import ACCEPTED, Answer, Reason, SweepOutcome, Swept, rejected
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
)
