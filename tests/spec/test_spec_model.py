"""The reference model answers each request the way the protocol says."""

from __future__ import annotations

import pytest

from spec.actions import Interrupted
from spec.answers import Lost
from spec.configurations import order_graph
from spec.invariants import state_violation
from spec.model import (
    ACCEPTED,
    STALE,
    Answer,
    Complete,
    Fail,
    Graph,
    GraphError,
    InvalidRequest,
    JobState,
    Model,
    Node,
    Reason,
    Status,
    SweepOutcome,
    TimeoutCause,
    TransitionKind,
    Verdict,
)

ALL_OPERATIONS = ("fetch", "ship", "review")


@pytest.fixture
def model() -> Model:
    return Model([order_graph(1)])


def rejected(reason: Reason) -> Answer:
    return Answer(Verdict.REJECTED, reason)


def leased_fetch(model: Model, ticks: int = 2) -> int:
    """Start a workflow and lease its first job; returns the job id."""
    model.start("order", key="k")
    (lease,) = model.lease("w1", ["fetch"], 1, ticks)
    return lease.job


def expire_and_sweep(model: Model, ticks: int = 2) -> None:
    model.advance(ticks)
    model.sweep()


def test_start_creates_a_running_workflow_with_a_ready_first_job(model: Model) -> None:
    started = model.start("order", context={"order": 7})
    assert (started.verdict, started.workflow, started.version, started.created) == (
        Verdict.ACCEPTED, 1, 1, True,
    )  # fmt: skip
    workflow = model.workflow(1)
    assert workflow is not None
    assert (workflow.node, workflow.step, workflow.status) == ("fetch", 1, Status.RUNNING)
    assert workflow.context == {"order": 7}
    job = model.open_job(1)
    assert job is not None and (job.attempt, job.state, job.ready_at) == (1, JobState.READY, 0)


def test_a_repeated_key_returns_the_first_workflow_and_creates_nothing(model: Model) -> None:
    first = model.start("order", key="k", context={"n": 1})
    before = model.state.store
    again = model.start("order", key="k", context={"n": 1})
    assert (again.workflow, again.created) == (first.workflow, False)
    anywhere = model.start("order", version=99, key="k", context={"n": 1})
    assert (anywhere.workflow, anywhere.created) == (first.workflow, False)
    assert model.state.store is before


def test_a_repeated_key_with_another_input_is_a_key_conflict(model: Model) -> None:
    model.start("order", key="k", context={"n": 1})
    before = model.state.store
    conflict = model.start("order", key="k", context={"n": 2})
    assert (conflict.verdict, conflict.reason) == (Verdict.REJECTED, Reason.KEY_CONFLICT)
    assert model.state.store is before


def test_keys_are_scoped_per_definition_name(model: Model) -> None:
    model.publish(Graph("other", 1, "a", {"a": Node("a", {"ok": "z"}), "z": Node()}))
    first = model.start("order", key="k")
    second = model.start("other", key="k")
    assert second.created and second.workflow != first.workflow


def test_a_failure_uses_an_attempt_then_gives_up_along_failed_or_as_an_incident() -> None:
    charge = Node("charge", {"ok": "done", "failed": "refund"}, timeout=2, attempts=2,
                  backoff=1)
    refund = Node("refund", {"ok": "done"}, timeout=2, attempts=1)
    model = Model([Graph("pay", 1, "charge", {"charge": charge, "refund": refund,
                                              "done": Node()})])
    model.start("pay")
    [first] = model.lease("w", {"charge"}, lease_ticks=2)
    assert model.apply(Fail(first.job, "down")) == ACCEPTED
    assert model.apply(Fail(first.job, "down")) == ACCEPTED  # a repeat: nothing changes
    assert model.lease("w", {"charge"}) == ()  # the backoff
    model.advance(1)
    [second] = model.lease("w", {"charge"}, lease_ticks=2)
    assert second.attempt == 2
    assert model.apply(Fail(second.job, "down")) == ACCEPTED
    workflow = model.workflow(1)
    assert workflow is not None and (workflow.node, workflow.history[-1].label) == (
        "refund", "failed")
    [third] = model.lease("w", {"refund"}, lease_ticks=2)
    assert model.apply(Fail(third.job, "bad card", retryable=False)) == ACCEPTED
    workflow = model.workflow(1)
    assert workflow is not None
    assert (workflow.status, workflow.incident) == (Status.INCIDENT, TimeoutCause.FAILED)
    assert model.apply(Fail(second.job + 5, "x")).reason is Reason.UNKNOWN_JOB
    job = model.job(third.job)
    assert job is not None and (job.state, job.error) == (JobState.FAILED, "bad card")


def test_a_worker_cannot_send_the_reserved_failed(model: Model) -> None:
    model.start("order")
    [lease] = model.lease("w", {"fetch"})
    assert model.complete(lease.job, "failed").reason is Reason.RESERVED_LABEL


def test_unknown_definitions_and_versions_are_rejected(model: Model) -> None:
    assert model.start("nope").reason is Reason.UNKNOWN_DEFINITION
    assert model.start("order", version=9).reason is Reason.UNKNOWN_VERSION
    assert model.snapshot().workflows == ()


def test_publishing_a_version_never_moves_running_workflows(model: Model) -> None:
    model.start("order")
    assert model.publish(order_graph(2)) == ACCEPTED
    assert model.start("order").version == 2
    first = model.workflow(1)
    assert first is not None and first.version == 1


def test_a_published_version_cannot_be_replaced(model: Model) -> None:
    other = Graph("order", 1, "fetch", {"fetch": Node("fetch", {"ok": "end"}), "end": Node()})
    assert model.publish(order_graph(1)) == ACCEPTED
    assert model.publish(other) == rejected(Reason.VERSION_EXISTS)


def test_leases_go_oldest_ready_first_and_only_for_asked_operations(model: Model) -> None:
    model.start("order")
    model.advance(1)
    model.start("order")
    assert model.lease("w1", ["ship"], 5, 2) == ()
    leases = model.lease("w1", ALL_OPERATIONS, 5, 2)
    assert [lease.job for lease in leases] == [1, 2]
    assert leases[0].labels == ("ok", "retry")
    assert "timeout" not in leases[0].labels


def test_a_lease_never_outlives_its_attempt(model: Model) -> None:
    model.start("order")
    (lease,) = model.lease("w1", ["fetch"], 1, 10)
    assert lease.expires_at == 2


def test_manual_steps_are_never_leased(model: Model) -> None:
    model.start("order")
    model.move(1, "review", by="ann")
    assert model.lease("w1", ALL_OPERATIONS, 5, 2) == ()
    assert [job.node for job in model.manual_steps()] == ["review"]


def test_a_completion_walks_its_edge_and_merges_its_output(model: Model) -> None:
    job = leased_fetch(model)
    assert model.complete(job, "ok", {"tracking": "x"}) == ACCEPTED
    workflow = model.workflow(1)
    assert workflow is not None
    assert (workflow.node, workflow.step, workflow.context) == ("ship", 2, {"tracking": "x"})
    (edge,) = workflow.history
    assert (edge.source, edge.target, edge.label, edge.job, edge.attempt) == (
        "fetch", "ship", "ok", job, 1,
    )  # fmt: skip


def test_a_repeated_completion_is_accepted_and_changes_nothing(model: Model) -> None:
    job = leased_fetch(model)
    model.complete(job, "ok", {"n": 1})
    before = model.state.store
    assert model.complete(job, "ok", {"n": 2}) == ACCEPTED
    assert model.state.store is before


def test_another_label_after_acceptance_is_stale(model: Model) -> None:
    job = leased_fetch(model)
    model.complete(job, "ok")
    assert model.complete(job, "retry") == STALE


def test_bad_completions_are_rejected_and_leave_the_job_open(model: Model) -> None:
    job = leased_fetch(model)
    assert model.complete(99, "ok") == rejected(Reason.UNKNOWN_JOB)
    assert model.complete(job, "timeout") == rejected(Reason.RESERVED_LABEL)
    assert model.complete(job, "nope") == rejected(Reason.LABEL_NOT_OFFERED)
    assert model.complete_manual(job, "ok", by="ann") == rejected(Reason.NOT_MANUAL)
    assert model.open_job(1) == model.job(job)


def test_a_late_completion_is_accepted_until_the_sweeper_acts(model: Model) -> None:
    job = leased_fetch(model)
    model.advance(5)
    assert model.complete(job, "ok") == ACCEPTED


def test_the_sweeper_retries_after_the_backoff_and_the_old_attempt_turns_stale(
    model: Model,
) -> None:
    job = leased_fetch(model)
    model.advance(2)
    (swept,) = model.sweep()
    assert (swept.job, swept.outcome) == (job, SweepOutcome.RETRY_SCHEDULED)
    retry = model.open_job(1)
    assert retry is not None and (retry.attempt, retry.ready_at) == (2, 3)
    assert model.lease("w1", ["fetch"], 1, 2) == ()
    assert model.complete(job, "ok") == STALE
    model.advance(1)
    assert [lease.attempt for lease in model.lease("w1", ["fetch"], 1, 2)] == [2]


def test_exhausted_attempts_take_the_timeout_route(model: Model) -> None:
    leased_fetch(model)
    expire_and_sweep(model)
    model.advance(1)
    model.lease("w1", ["fetch"], 1, 2)
    model.advance(2)
    (swept,) = model.sweep()
    assert (swept.outcome, swept.cause) == (
        SweepOutcome.TIMEOUT_ROUTED, TimeoutCause.ATTEMPTS_EXHAUSTED,
    )  # fmt: skip
    workflow = model.workflow(1)
    assert workflow is not None and workflow.node == "review"
    assert workflow.history[-1].kind is TransitionKind.TIMEOUT


def test_a_timeout_without_a_route_becomes_an_incident(model: Model) -> None:
    model.complete(leased_fetch(model), "ok")
    model.lease("w1", ["ship"], 1, 2)
    expire_and_sweep(model)
    workflow = model.workflow(1)
    assert workflow is not None
    assert workflow.status is Status.INCIDENT
    assert workflow.incident is TimeoutCause.ATTEMPTS_EXHAUSTED
    assert model.open_job(1) is None


def test_a_passed_deadline_times_the_step_out(model: Model) -> None:
    model.complete(leased_fetch(model), "ok")
    model.advance(3)
    (swept,) = model.sweep()
    assert (swept.outcome, swept.cause) == (SweepOutcome.INCIDENT, TimeoutCause.DEADLINE_PASSED)


def test_a_heartbeat_extends_only_the_holder_s_live_lease(model: Model) -> None:
    model.publish(Graph("slow", 1, "a", {"a": Node("a", {"ok": "end"}, timeout=5), "end": Node()}))
    model.start("slow")
    (lease,) = model.lease("w1", ["a"], 1, 1)
    (lost,) = model.heartbeat("w2", [lease.job], 2)
    (extended,) = model.heartbeat("w1", [lease.job], 9)
    assert (lost.extended, extended.extended, extended.expires_at) == (False, True, 5)
    model.advance(5)
    assert model.heartbeat("w1", [lease.job], 2)[0].extended is False


def test_a_release_readies_the_same_job_without_using_an_attempt(model: Model) -> None:
    job = leased_fetch(model)
    model.advance(1)
    assert [r.released for r in model.release("w2", [job])] == [False]
    assert [r.released for r in model.release("w1", [job])] == [True]
    (again,) = model.lease("w2", ["fetch"], 1, 2)
    assert (again.job, again.attempt, again.expires_at) == (job, 1, 3)


def test_a_person_completes_a_manual_step_and_is_recorded(model: Model) -> None:
    model.start("order")
    model.move(1, "review", by="ann")
    (step,) = model.manual_steps()
    assert model.complete(step.id, "approve") == rejected(Reason.MANUAL_STEP)
    assert model.complete_manual(step.id, "approve", by="bob") == ACCEPTED
    workflow = model.workflow(1)
    assert workflow is not None
    last = workflow.history[-1]
    assert (last.kind, last.by, workflow.node) == (TransitionKind.MANUAL, "bob", "ship")


def test_a_cancel_makes_the_open_job_stale_and_repeats_harmlessly(model: Model) -> None:
    job = leased_fetch(model)
    assert model.cancel(1) == ACCEPTED
    assert model.cancel(1) == ACCEPTED
    assert model.complete(job, "ok") == STALE
    workflow = model.workflow(1)
    assert workflow is not None and workflow.status is Status.CANCELLED
    assert model.move(1, "fetch", by="ann") == rejected(Reason.FINISHED)


def test_a_move_records_who_and_why_and_opens_a_fresh_step(model: Model) -> None:
    job = leased_fetch(model)
    assert model.move(1, "ship", by="ann", reason="skip the fetch") == ACCEPTED
    assert model.complete(job, "ok") == STALE
    workflow = model.workflow(1)
    assert workflow is not None
    edge = workflow.history[-1]
    assert (edge.kind, edge.by, edge.reason, edge.label) == (
        TransitionKind.MOVED, "ann", "skip the fetch", None,
    )  # fmt: skip
    fresh = model.open_job(1)
    assert fresh is not None and (fresh.node, fresh.step, fresh.attempt) == ("ship", 2, 1)


def test_a_move_to_a_leaf_completes_the_workflow(model: Model) -> None:
    model.start("order")
    assert model.move(1, "nowhere", by="ann") == rejected(Reason.UNKNOWN_NODE)
    model.move(1, "done", by="ann")
    workflow = model.workflow(1)
    assert workflow is not None
    assert (workflow.status, workflow.outcome) == (Status.COMPLETED, "done")


def test_reaching_a_leaf_completes_the_workflow(model: Model) -> None:
    model.complete(leased_fetch(model), "ok")
    (lease,) = model.lease("w1", ["ship"], 1, 2)
    model.complete(lease.job, "done")
    workflow = model.workflow(1)
    assert workflow is not None and workflow.outcome == "done"
    assert model.open_job(1) is None


def test_a_crash_keeps_every_accepted_completion(model: Model) -> None:
    job = leased_fetch(model)
    model.complete(job, "ok")
    before = model.snapshot()
    model.crash()
    assert model.snapshot() == before
    assert state_violation(model.state) is None


def test_a_crash_before_the_commit_loses_the_request_and_nothing_else(model: Model) -> None:
    job = leased_fetch(model)
    before = model.state
    assert model.apply(Interrupted(Complete(job, "ok", {"n": 1}), committed=False)) is None
    assert model.state.store == before.store and model.state.ghost == before.ghost
    assert model.complete(job, "ok") == ACCEPTED


def test_a_crash_after_the_commit_keeps_it_and_the_retry_gets_the_same_answer(
    model: Model,
) -> None:
    job = leased_fetch(model)
    lost = model.apply(Interrupted(Complete(job, "ok", {"n": 1}), committed=True))
    assert lost == Lost(ACCEPTED)
    kept = model.state.store
    workflow = model.workflow(1)
    assert workflow is not None and (workflow.node, workflow.context) == ("ship", {"n": 1})
    assert model.complete(job, "ok", {"n": 2}) == ACCEPTED
    assert model.state.store is kept
    assert state_violation(model.state) is None


def test_malformed_requests_raise_and_change_nothing(model: Model) -> None:
    model.start("order")
    before = model.state
    with pytest.raises(InvalidRequest):
        model.lease("w1", ["fetch"], 0, 1)
    with pytest.raises(InvalidRequest):
        model.heartbeat("w1", [1], 0)
    with pytest.raises(InvalidRequest):
        model.advance(-1)
    assert model.state is before


def test_graphs_refuse_dangling_edges_and_bad_timers() -> None:
    with pytest.raises(GraphError):
        Graph("g", 1, "a", {"a": Node("a", {"ok": "missing"})})
    with pytest.raises(GraphError):
        Graph("g", 1, "missing", {"a": Node()})
    with pytest.raises(GraphError):
        Node("a", {"ok": "b"}, attempts=0)
    with pytest.raises(GraphError):
        Node(None, {"ok": "b"})


def test_graphs_are_immutable_values() -> None:
    edges = {"ok": "end"}
    graph = Graph("g", 1, "a", {"a": Node("a", edges), "end": Node()})
    edges["bad"] = "end"
    assert graph.node("a").labels == ("ok",)
    assert graph == Graph("g", 1, "a", {"a": Node("a", {"ok": "end"}), "end": Node()})
    assert len({graph, Graph("g", 1, "a", {"a": Node("a", {"ok": "end"}), "end": Node()})}) == 1


def test_ids_are_sequential_in_creation_order(model: Model) -> None:
    model.start("order")
    model.start("order")
    snapshot = model.snapshot()
    assert [w.id for w in snapshot.workflows] == [1, 2]
    assert [(j.id, j.workflow, j.step, j.attempt) for j in snapshot.jobs] == [
        (1, 1, 1, 1), (2, 2, 1, 1),
    ]  # fmt: skip


def test_a_start_node_that_is_a_leaf_completes_at_once() -> None:
    model = Model([Graph("empty", 1, "end", {"end": Node()})])
    started = model.start("empty")
    workflow = model.workflow(1)
    assert started.created and workflow is not None
    assert (workflow.status, workflow.outcome, model.open_job(1)) == (Status.COMPLETED, "end", None)
    assert state_violation(model.state) is None
