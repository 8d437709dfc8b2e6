"""Each invariant holds on a sound state and flags a state broken the way it forbids."""

from __future__ import annotations

from dataclasses import replace

import pytest

from spec import invariants
from spec.answers import ACCEPTED, STALE, Started, Verdict
from spec.configurations import order_graph
from spec.model import Complete, JobState, Model, Start, State, Status
from spec.state import Ack, Job, Store


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
    long: Job = replace(
        model.store.jobs[-1], state=JobState.LEASED, holder="w1", leased_at=0, expires_at=9
    )
    broken = with_store(model.state, model.store.with_job(long))
    assert invariants.leases_respect_timeouts(broken)


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
