"""A worker cannot take a give-up route, and idempotency keys are scoped per definition
(issue #10, defect 6), each on a real PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from relentless.engine.engine import Engine
from relentless.engine.values import Completion, StartRequest
from relentless.vocabulary import Reason, Verdict, WorkflowStatus

ROUTED = """
name: routed
start: charge
defaults: {timeout: 5s, attempts: 2, backoff: 1s}
nodes:
  charge:
    operation: charge_card
    on: {ok: done, failed: refund}
  refund:
    operation: refund
    on: {ok: done}
  done: {}
"""


@pytest.fixture
def routed(engine: Engine, run: Any) -> Engine:
    run(engine.definitions.publish(ROUTED))
    return engine


def test_a_worker_completing_with_failed_is_refused_as_a_reserved_label(
        routed: Engine, run: Any) -> None:
    """`failed` is the engine's, like `timeout`: a node that routes it does not offer it."""
    [started] = run(routed.workflows.start([StartRequest("routed")]))
    [job] = run(routed.workers.lease("w", ["charge_card"], 1, 5_000))
    assert "failed" not in job.labels
    [answer] = run(routed.workers.complete([Completion(job.job_id, "failed")]))
    assert (answer.verdict, answer.reason) == (Verdict.REJECTED, Reason.RESERVED_LABEL)
    workflow = run(routed.workflows.get(started.workflow_id))
    assert (workflow.node, workflow.status) == ("charge", WorkflowStatus.RUNNING)


OTHER = """
name: other
start: work
nodes:
  work:
    operation: work
    on: {ok: done}
  done: {}
"""


def test_a_key_is_scoped_per_definition_name(routed: Engine, run: Any) -> None:
    """A key a `routed` workflow used says nothing about a start of `other`."""
    run(routed.definitions.publish(OTHER))
    [first] = run(routed.workflows.start([StartRequest("routed", key="k")]))
    [second] = run(routed.workflows.start([StartRequest("other", key="k")]))
    assert first.created and second.created and second.workflow_id != first.workflow_id
    [again] = run(routed.workflows.start([StartRequest("other", key="k")]))
    assert (again.workflow_id, again.created) == (second.workflow_id, False)


@pytest.mark.parametrize("version", [None, 1, 7])
def test_a_repeated_key_answers_its_workflow_whatever_version_it_names(
        routed: Engine, run: Any, version: int | None) -> None:
    """Version 7 does not exist: the key still answers the workflow it created."""
    [first] = run(routed.workflows.start([StartRequest("routed", key="k",
                                                       context={"n": 1})]))
    [again] = run(routed.workflows.start([StartRequest("routed", version=version, key="k",
                                                       context={"n": 1})]))
    assert (again.verdict, again.workflow_id, again.version, again.created) == (
        Verdict.ACCEPTED, first.workflow_id, 1, False)


def test_a_repeated_key_with_another_input_is_a_key_conflict(routed: Engine, run: Any) -> None:
    [first] = run(routed.workflows.start([StartRequest("routed", key="k",
                                                       context={"n": 1, "m": 2})]))
    same, other, in_batch = run(routed.workflows.start([
        StartRequest("routed", key="k", context={"m": 2, "n": 1}),  # same input, reordered
        StartRequest("routed", key="k", context={"n": 2}),
        StartRequest("routed", key="k")]))
    assert (same.workflow_id, same.created) == (first.workflow_id, False)
    assert (other.verdict, other.reason) == (Verdict.REJECTED, Reason.KEY_CONFLICT)
    assert (in_batch.verdict, in_batch.reason) == (Verdict.REJECTED, Reason.KEY_CONFLICT)


def test_a_key_first_used_in_a_batch_is_judged_against_the_first_input(
        routed: Engine, run: Any) -> None:
    first, same, other = run(routed.workflows.start([
        StartRequest("routed", key="b", context={"n": 1}),
        StartRequest("routed", key="b", context={"n": 1}),
        StartRequest("routed", key="b", context={"n": 2})]))
    assert first.created and (same.workflow_id, same.created) == (first.workflow_id, False)
    assert other.reason is Reason.KEY_CONFLICT


def test_republishing_an_older_version_s_content_makes_it_the_latest(
        routed: Engine, run: Any) -> None:
    changed = ROUTED.replace("attempts: 2", "attempts: 3")
    assert run(routed.definitions.publish(changed)).version == 2
    again = run(routed.definitions.publish(ROUTED))
    assert (again.version, again.created) == (3, True)
    assert run(routed.definitions.publish(ROUTED)).version == 3, "the latest again: no-op"
    [started] = run(routed.workflows.start([StartRequest("routed")]))
    assert started.version == 3
