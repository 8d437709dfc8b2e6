"""Each invariant holds on a sound state and flags a state broken the way it forbids."""

from __future__ import annotations

from dataclasses import replace

import pytest

from spec import invariants, lease_invariants, sweep_invariants
from spec.actions import Interrupted
from spec.answers import ACCEPTED, STALE, Started, Verdict, rejected
from spec.configurations import order_graph
from spec.model import (
    Cancel,
    Complete,
    Crash,
    Heartbeat,
    JobState,
    Lease,
    LeaseExtension,
    Model,
    Move,
    Reason,
    Release,
    Released,
    Start,
    State,
    Status,
    Sweep,
    SweepOutcome,
    Swept,
    TimeoutCause,
)
from spec.state import Ack, Store


@pytest.fixture
def model() -> Model:
    """One workflow at step 2 (ship), after job 1 completed fetch with ``ok``."""
    model = Model([order_graph(1), order_graph(2)])
    model.start("order", version=1, key="k")
    (lease,) = model.lease("w1", ["fetch"], 1, 2)
    model.complete(lease.job, "ok")
    return model


def with_store(state: State, store: Store) -> State:
    return replace(state, store=store)


def test_a_sound_state_breaks_nothing(model: Model) -> None:
    assert invariants.state_violation(model.state) is None


def test_two_open_jobs_break_one_open_step(model: Model) -> None:
    store = model.store
    extra = replace(store.jobs[-1], id=len(store.jobs) + 1)
    assert invariants.at_most_one_open_step(with_store(model.state, store.with_job(extra)))


def test_a_job_ahead_of_its_step_breaks_step_order(model: Model) -> None:
    store = model.store
    ahead = replace(store.jobs[-1], step=3)
    assert invariants.steps_follow_completions(with_store(model.state, store.with_job(ahead)))


def test_a_label_that_is_not_an_edge_breaks_the_path(model: Model) -> None:
    workflow = model.store.workflows[0]
    forged = replace(workflow, history=(replace(workflow.history[0], label="retry"),))
    broken = with_store(model.state, model.store.with_workflow(forged))
    assert invariants.history_is_a_path(broken)


def test_two_accepted_labels_for_one_step_break_first_acceptance(model: Model) -> None:
    ghost = model.state.ghost
    twice = replace(ghost, acks=ghost.acks | {Ack(1, "retry")})
    assert invariants.first_acceptance_decides(replace(model.state, ghost=twice))


def test_an_acknowledged_completion_missing_from_the_store_is_lost(model: Model) -> None:
    fresh = Model([order_graph(1)])
    fresh.start("order", key="k")
    forgotten = replace(fresh.state, ghost=model.state.ghost)
    assert invariants.nothing_accepted_is_lost(forgotten)


def test_a_workflow_on_another_version_breaks_the_pin(model: Model) -> None:
    moved = replace(model.store.workflows[0], version=2)
    broken = with_store(model.state, model.store.with_workflow(moved))
    assert invariants.versions_are_pinned(broken)


def test_a_running_workflow_without_a_job_has_no_way_forward(model: Model) -> None:
    closed = replace(model.store.jobs[-1], state=JobState.CLOSED)
    assert invariants.always_a_way_forward(with_store(model.state, model.store.with_job(closed)))


def test_an_incident_without_a_cause_has_no_way_forward(model: Model) -> None:
    store = model.store
    closed = store.with_job(replace(store.jobs[-1], state=JobState.CLOSED))
    stuck = closed.with_workflow(replace(store.workflows[0], status=Status.INCIDENT))
    assert invariants.always_a_way_forward(with_store(model.state, stuck))


def test_a_lease_past_its_timeout_breaks_the_cap(model: Model) -> None:
    before = model.state
    (lease,) = model.lease("w1", ["ship"], 1, 2)
    longer = (replace(lease, expires_at=lease.expires_at + 1),)
    action = Lease("w1", frozenset({"ship"}), 1, 2)
    assert lease_invariants.leases_respect_timeouts(before, action, longer, model.state)


def test_a_heartbeat_past_the_grant_s_cap_breaks_the_cap(model: Model) -> None:
    model.lease("w1", ["ship"], 1, 2)
    model.advance(1)
    before = model.state
    action = Heartbeat("w1", (2,), 2)
    stretched = (LeaseExtension(2, extended=True, expires_at=3),)
    assert lease_invariants.leases_respect_timeouts(before, action, stretched, before)


def test_a_rival_s_heartbeat_must_be_lost(model: Model) -> None:
    model.lease("w1", ["ship"], 1, 2)
    before = model.state
    action = Heartbeat("w2", (2,), 2)
    kept = (LeaseExtension(2, extended=True, expires_at=2),)
    assert lease_invariants.heartbeats_keep_only_live_leases(before, action, kept, before)


def test_a_release_by_a_rival_must_be_refused(model: Model) -> None:
    model.lease("w1", ["ship"], 1, 2)
    before = model.state
    given = (Released(2, released=True),)
    action = Release("w2", (2,))
    assert lease_invariants.releases_give_back_live_leases(before, action, given, before)


def test_a_lease_that_skips_a_due_job_is_flagged(model: Model) -> None:
    before = model.state
    action = Lease("w1", frozenset({"ship"}), 1, 2)
    assert lease_invariants.leases_take_the_oldest_due_jobs(before, action, (), before)


def test_a_retry_no_sweep_announced_breaks_the_backoff(model: Model) -> None:
    before = model.state
    (lease,) = model.lease("w1", ["ship"], 1, 2)
    retried = (replace(lease, attempt=2),)
    action = Lease("w1", frozenset({"ship"}), 1, 2)
    assert lease_invariants.backoff_is_respected(before, action, retried, model.state)
    assert sweep_invariants.attempts_are_budgeted(before, action, retried, model.state)


def test_a_sweep_that_passes_over_a_lapsed_lease_is_flagged(model: Model) -> None:
    model.lease("w1", ["ship"], 1, 2)
    model.advance(2)
    before = model.state
    assert sweep_invariants.sweeps_reclaim_lapsed_leases(before, Sweep(), (), before)
    overlooked = replace(before.ghost, overlooked=frozenset({2}))
    assert invariants.always_a_way_forward(replace(before, ghost=overlooked))


def test_a_retry_beyond_the_attempts_breaks_the_budget(model: Model) -> None:
    model.lease("w1", ["ship"], 1, 2)
    model.advance(2)
    before = model.state
    retry = (Swept(1, 2, SweepOutcome.RETRY_SCHEDULED),)
    assert sweep_invariants.attempts_are_budgeted(before, Sweep(), retry, before)


def test_a_sweep_that_ignores_a_passed_deadline_is_flagged(model: Model) -> None:
    model.advance(3)
    before = model.state
    assert sweep_invariants.deadlines_are_enforced(before, Sweep(), (), before)
    early = (Swept(1, 2, SweepOutcome.INCIDENT, TimeoutCause.DEADLINE_PASSED),)
    assert sweep_invariants.deadlines_are_enforced(model.state, Sweep(), early, model.state) is None


def test_a_store_lease_nobody_was_told_of_is_flagged(model: Model) -> None:
    store = model.store
    leased = replace(store.jobs[-1], state=JobState.LEASED, holder="w1", leased_at=0, expires_at=2)
    assert invariants.leases_are_as_told(with_store(model.state, store.with_job(leased)))


def test_a_context_that_is_not_the_merged_outputs_is_flagged(model: Model) -> None:
    rewritten = replace(model.store.workflows[0], context_json='{"x":1}')
    broken = with_store(model.state, model.store.with_workflow(rewritten))
    assert invariants.contexts_are_merged_outputs(broken)


def test_an_incident_that_cannot_be_cancelled_is_flagged(model: Model) -> None:
    model.advance(3)
    model.sweep()
    before = model.state
    refused = rejected(Reason.FINISHED)
    assert invariants.operators_reach_incidents(before, Cancel(1), refused, before)
    assert invariants.operators_reach_incidents(before, Move(1, "fetch"), refused, before)


def test_a_crash_that_changes_the_store_is_flagged(model: Model) -> None:
    before = model.state
    older = Model([order_graph(1)]).state
    assert invariants.crashes_keep_the_committed(before, Crash(), None, older)
    rolled_back = Interrupted(Complete(2, "done"), committed=False)
    assert invariants.crashes_keep_the_committed(before, rolled_back, None, older)


def test_a_repeat_answered_stale_breaks_idempotence(model: Model) -> None:
    state = model.state
    assert invariants.repeats_are_idempotent(state, Complete(1, "ok"), STALE, state)


def test_a_refusal_that_changes_the_state_is_flagged(model: Model) -> None:
    before = model.state
    model.advance(1)
    model.start("order")
    assert invariants.refusals_change_nothing(before, Complete(1, "x"), STALE, model.state)


def test_accepting_a_closed_job_is_flagged(model: Model) -> None:
    state = model.state
    closed = replace(state.store.jobs[-1], state=JobState.CLOSED)
    before = with_store(state, state.store.with_job(closed))
    action = Complete(closed.id, "done")
    assert invariants.only_the_open_job_decides(before, action, ACCEPTED, state)


def test_a_repeated_key_that_creates_a_workflow_is_flagged(model: Model) -> None:
    state = model.state
    created = Started(Verdict.ACCEPTED, 2, 1, created=True)
    assert invariants.keys_start_once(state, Start("order", key="k"), created, state)
