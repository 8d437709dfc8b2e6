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
