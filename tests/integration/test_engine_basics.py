"""The engine on a real PostgreSQL: publishing, starting, the worker protocol, timers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relentless import DefinitionInvalid
from relentless.engine.clock import ManualClock
from relentless.engine.engine import Engine
from relentless.engine.values import Completion, StartRequest
from relentless.vocabulary import (
    GiveUpCause,
    Reason,
    SweepOutcome,
    TransitionKind,
    Verdict,
    WorkflowStatus,
)

PAYMENT = (Path(__file__).resolve().parents[2] / "examples" / "payment.yaml").read_text()


@pytest.fixture
def payment(engine: Engine, run: Any) -> Engine:
    run(engine.definitions.publish(PAYMENT))
    return engine


def test_publishing_the_same_content_twice_returns_the_existing_version(
        engine: Engine, run: Any) -> None:
    first = run(engine.definitions.publish(PAYMENT))
    again = run(engine.definitions.publish(PAYMENT))
    changed = run(engine.definitions.publish(PAYMENT.replace("timeout: 30s", "timeout: 31s")))
    assert (first.version, first.created) == (1, True)
    assert (again.version, again.created, again.fingerprint) == (1, False, first.fingerprint)
    assert (changed.version, changed.created) == (2, True)


def test_an_invalid_definition_is_refused_and_stores_nothing(engine: Engine, run: Any) -> None:
    with pytest.raises(DefinitionInvalid):
        run(engine.definitions.publish(PAYMENT.replace("start: charge", "start: nowhere")))
    assert run(engine.definitions.resolve("payment")) is None


def test_running_workflows_keep_their_version_when_a_new_one_is_published(
        payment: Engine, run: Any) -> None:
    [started] = run(payment.workflows.start([StartRequest("payment")]))
    run(payment.definitions.publish(PAYMENT.replace("attempts: 3", "attempts: 4")))
    [newer] = run(payment.workflows.start([StartRequest("payment")]))
    assert (started.version, newer.version) == (1, 2)
    assert run(payment.workflows.get(started.workflow_id)).version == 1


def test_an_idempotency_key_starts_one_workflow_only(payment: Engine, run: Any) -> None:
    answers = run(payment.workflows.start([StartRequest("payment", key="order-1"),
                                           StartRequest("payment", key="order-1")]))
    later = run(payment.workflows.start([StartRequest("payment", key="order-1")]))
    assert [a.created for a in answers + later] == [True, False, False]
    assert len({a.workflow_id for a in answers + later}) == 1


def test_starting_an_unknown_definition_or_version_is_rejected(payment: Engine,
                                                               run: Any) -> None:
    answers = run(payment.workflows.start([StartRequest("nope"),
                                           StartRequest("payment", version=9)]))
    assert [a.reason for a in answers] == [Reason.UNKNOWN_DEFINITION, Reason.UNKNOWN_VERSION]


def test_a_workflow_walks_its_graph_to_a_leaf(payment: Engine, run: Any) -> None:
    [started] = run(payment.workflows.start([StartRequest("payment", context={"order": 7})]))
    for operation, label in (("charge_card", "ok"), ("ship_order", "shipped")):
        [job] = run(payment.workers.lease("w", [operation], 10, 30_000))
        assert job.context["order"] == 7
        [answer] = run(payment.workers.complete([Completion(job.job_id, label, {operation: 1})]))
        assert answer.verdict is Verdict.ACCEPTED
    workflow = run(payment.workflows.get(started.workflow_id))
    assert (workflow.status, workflow.outcome) == (WorkflowStatus.COMPLETED, "done")
    assert workflow.context == {"order": 7, "charge_card": 1, "ship_order": 1}
    assert [(t.source, t.label, t.target) for t in workflow.history] == [
        ("charge", "ok", "ship"), ("ship", "shipped", "done")]


def test_completion_answers_accepted_stale_and_rejected_per_item(payment: Engine,
                                                                 run: Any) -> None:
    run(payment.workflows.start([StartRequest("payment"), StartRequest("payment")]))
    first, second = run(payment.workers.lease("w", ["charge_card"], 10, 30_000))
    answers = run(payment.workers.complete([
        Completion(first.job_id, "ok"),
        Completion(first.job_id, "ok"),
        Completion(first.job_id, "declined"),
        Completion(second.job_id, "shipped"),
        Completion(second.job_id, "timeout"),
        Completion("99.1.1", "ok"),
        Completion("not-a-job", "ok"),
    ]))
    assert [(a.verdict, a.reason) for a in answers] == [
        (Verdict.ACCEPTED, None), (Verdict.ACCEPTED, None), (Verdict.STALE, None),
        (Verdict.REJECTED, Reason.LABEL_NOT_OFFERED), (Verdict.REJECTED, Reason.RESERVED_LABEL),
        (Verdict.REJECTED, Reason.UNKNOWN_JOB), (Verdict.REJECTED, Reason.UNKNOWN_JOB)]
    assert run(payment.workflows.get(second.workflow_id)).step == 1


def test_an_expired_lease_is_retried_after_backoff_then_times_out_along_its_route(
        payment: Engine, clock: ManualClock, run: Any) -> None:
    [started] = run(payment.workflows.start([StartRequest("payment")]))
    for attempt in (1, 2, 3):
        [job] = run(payment.workers.lease("w", ["charge_card"], 1, 5_000))
        assert job.attempt == attempt
        clock.advance(5)
        [swept] = run(payment.sweeper.tick())
        clock.advance(1)  # the backoff
    assert swept.outcome is SweepOutcome.TIMEOUT_ROUTED
    assert swept.cause is GiveUpCause.ATTEMPTS_EXHAUSTED
    assert run(payment.workers.complete([Completion(job.job_id, "ok")]))[0].verdict \
        is Verdict.STALE
    workflow = run(payment.workflows.get(started.workflow_id))
    assert (workflow.node, workflow.history[-1].kind) == ("escalate", TransitionKind.TIMEOUT)
    [manual] = run(payment.workflows.manual_steps())
    assert run(payment.workers.complete([Completion(manual.job_id, "refund")]))[0].reason \
        is Reason.MANUAL_STEP
    answer = run(payment.workers.complete_manual(Completion(manual.job_id, "refund"), "ana"))
    assert answer.verdict is Verdict.ACCEPTED
    assert run(payment.workflows.history(started.workflow_id))[-1].by == "ana"


def test_cancel_and_move_close_the_open_job(payment: Engine, run: Any) -> None:
    first, second = run(payment.workflows.start([StartRequest("payment"),
                                                 StartRequest("payment")]))
    jobs = run(payment.workers.lease("w", ["charge_card"], 10, 30_000))
    assert run(payment.workflows.cancel(first.workflow_id)).verdict is Verdict.ACCEPTED
    assert run(payment.workflows.move(second.workflow_id, "refund", "ana", "customer asked")
               ).verdict is Verdict.ACCEPTED
    answers = run(payment.workers.complete([Completion(job.job_id, "ok") for job in jobs]))
    assert [a.verdict for a in answers] == [Verdict.STALE, Verdict.STALE]
    moved = run(payment.workflows.get(second.workflow_id))
    assert (moved.node, moved.history[-1].by, moved.history[-1].reason) == (
        "refund", "ana", "customer asked")
    assert run(payment.workflows.cancel(moved.id)).verdict is Verdict.ACCEPTED
    assert run(payment.workflows.move(moved.id, "charge", "ana")).reason is Reason.FINISHED


def test_heartbeat_extends_only_live_leases_up_to_the_attempt_timeout(
        payment: Engine, clock: ManualClock, run: Any) -> None:
    run(payment.workflows.start([StartRequest("payment")]))
    [job] = run(payment.workers.lease("w", ["charge_card"], 1, 10_000))
    clock.advance(8)
    [extended] = run(payment.workers.heartbeat("w", [job.job_id], 60_000))
    [other] = run(payment.workers.heartbeat("intruder", [job.job_id], 60_000))
    assert extended.extended and not other.extended
    assert (extended.lease_expires_at - job.lease_expires_at).total_seconds() == 20  # 30s cap
    [released] = run(payment.workers.release("w", [job.job_id]))
    assert released.released
    [again] = run(payment.workers.lease("w2", ["charge_card"], 1, 10_000))
    assert (again.job_id, again.attempt) == (job.job_id, 1)


def test_a_stored_version_loads_from_its_canonical_form_not_by_validating_again(
        payment: Engine, database_dsn: str, run: Any) -> None:
    """A stricter release must still run workflows started on older versions."""
    import asyncpg  # noqa: PLC0415

    from relentless.engine.engine import Engine as FreshEngine  # noqa: PLC0415

    [started] = run(payment.workflows.start([StartRequest("payment")]))

    async def break_the_source() -> None:
        connection = await asyncpg.connect(database_dsn)
        try:  # stands in for rules that no longer accept what was published
            await connection.execute(
                "UPDATE relentless_definitions SET source = 'not: [a definition'")
        finally:
            await connection.close()

    run(break_the_source())
    fresh = run(FreshEngine.connect(database_dsn, payment.clock, min_size=1, max_size=2))
    try:
        [job] = run(fresh.workers.lease("w", ["charge_card"], 1, 30_000))
        assert job.workflow_id == started.workflow_id
        [answer] = run(fresh.workers.complete([Completion(job.job_id, "ok")]))
        assert answer.verdict is Verdict.ACCEPTED
    finally:
        run(fresh.close())
