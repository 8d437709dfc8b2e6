"""Random request sequences never break a guarantee of the model (hypothesis).

The machine drives ``spec.model.Model`` through the same actions the checker uses,
with wider parameters (batches, several workers, any node, any label), and checks
every state and transition invariant after every step. ``note()`` prints each
request and its answer, so a shrunk failure reads as a replayable trace.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from spec.answers import describe
from spec.configurations import order_graph, quick_graph
from spec.invariants import state_violation, transition_violation
from spec.model import (
    Action,
    Advance,
    Cancel,
    Complete,
    CompleteManual,
    Crash,
    Heartbeat,
    Interrupted,
    Lease,
    Model,
    Move,
    Publish,
    Release,
    Rules,
    Start,
    Sweep,
)
from spec.mutants import CancelLeavesJobOpen, RepeatRewritesContext

WORKERS = st.sampled_from(("w1", "w2"))
PEOPLE = st.sampled_from(("ann", "bob"))
OPERATIONS = ("fetch", "ship", "review", "work", "check")
ODD_LABELS = ("timeout", "bogus")
NODES = ("fetch", "ship", "review", "done", "failed", "work", "check", "nowhere")
OUTPUTS = st.none() | st.fixed_dictionaries({"n": st.integers(0, 3)})


class ModelMachine(RuleBasedStateMachine):
    """Sends random requests to a model and checks every guarantee after each."""

    rules_class: type[Rules] = Rules

    def __init__(self) -> None:
        super().__init__()
        self.model = Model([order_graph(1), quick_graph()], rules=self.rules_class())

    def send(self, action: Action[object]) -> None:
        before = self.model.state
        answer = self.model.apply(action)
        note(f"{action} -> {describe(answer)}")
        broken = transition_violation(before, action, answer, self.model.state)
        assert broken is None, f"{broken[0]}: {broken[1]}"

    def pick_job(self, data: st.DataObject) -> int:
        """An existing job, newest most likely, or now and then an unknown one."""
        count = len(self.model.store.jobs)
        newest = st.integers(max(1, count - 2), count + 1)
        return data.draw(newest | st.integers(1, count + 1), label="job")

    def pick_workflow(self, data: st.DataObject) -> int:
        return data.draw(st.integers(1, len(self.model.store.workflows) + 1), label="workflow")

    def labels_for(self, job: int) -> tuple[str, ...]:
        found = self.model.job(job)
        if found is None:
            return ("ok", *ODD_LABELS)
        workflow = self.model.workflow(found.workflow)
        assert workflow is not None
        return (*self.model.store.graph_of(workflow).node(found.node).labels, *ODD_LABELS)

    @invariant()
    def every_guarantee_holds(self) -> None:
        broken = state_violation(self.model.state)
        assert broken is None, f"{broken[0]}: {broken[1]}"

    @rule(
        definition=st.sampled_from(("order", "quick")),
        key=st.none() | st.sampled_from(("a", "b", "c")),
        context=OUTPUTS,
    )
    def start(self, definition: str, key: str | None, context: dict[str, int] | None) -> None:
        self.send(Start(definition, key=key, context=context))

    @rule()
    def publish_a_new_version(self) -> None:
        self.send(Publish(order_graph(2)))

    @rule(
        worker=WORKERS,
        operations=st.sets(st.sampled_from(OPERATIONS), min_size=1),
        max_jobs=st.integers(1, 3),
        ticks=st.integers(1, 4),
    )
    def lease(self, worker: str, operations: set[str], max_jobs: int, ticks: int) -> None:
        self.send(Lease(worker, frozenset(operations), max_jobs, ticks))

    @rule(data=st.data(), output=OUTPUTS)
    def complete(self, data: st.DataObject, output: dict[str, int] | None) -> None:
        job = self.pick_job(data)
        label = data.draw(st.sampled_from(self.labels_for(job)), label="label")
        self.send(Complete(job, label, output))

    @rule(data=st.data(), person=PEOPLE)
    def complete_manual(self, data: st.DataObject, person: str) -> None:
        job = self.pick_job(data)
        label = data.draw(st.sampled_from(self.labels_for(job)), label="label")
        self.send(CompleteManual(job, label, person))

    @rule(data=st.data(), worker=WORKERS, ticks=st.integers(1, 4))
    def heartbeat(self, data: st.DataObject, worker: str, ticks: int) -> None:
        self.send(Heartbeat(worker, (self.pick_job(data), self.pick_job(data)), ticks))

    @rule(data=st.data(), worker=WORKERS)
    def release(self, data: st.DataObject, worker: str) -> None:
        self.send(Release(worker, (self.pick_job(data),)))

    @rule(ticks=st.integers(1, 3))
    def advance(self, ticks: int) -> None:
        self.send(Advance(ticks))

    @rule(data=st.data())
    def sweep(self, data: st.DataObject) -> None:
        everything = data.draw(st.booleans(), label="sweep everything")
        self.send(Sweep(None if everything else self.pick_workflow(data)))

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        self.send(Cancel(self.pick_workflow(data)))

    @rule(data=st.data(), node=st.sampled_from(NODES), person=PEOPLE)
    def move(self, data: st.DataObject, node: str, person: str) -> None:
        self.send(Move(self.pick_workflow(data), node, person, "by hand"))

    @rule()
    def crash(self) -> None:
        self.send(Crash())

    @rule(data=st.data(), output=OUTPUTS, committed=st.booleans())
    def crash_during_a_completion(
        self, data: st.DataObject, output: dict[str, int] | None, committed: bool
    ) -> None:
        job = self.pick_job(data)
        label = data.draw(st.sampled_from(self.labels_for(job)), label="label")
        self.send(Interrupted(Complete(job, label, output), committed))


TestRandomRequestsKeepEveryGuarantee = ModelMachine.TestCase


@pytest.mark.parametrize(
    "mutant", [CancelLeavesJobOpen, RepeatRewritesContext], ids=lambda m: m.__name__
)
def test_the_machine_catches_a_broken_model(mutant: type[Rules]) -> None:
    """The machine is not vacuous: a broken model fails it. (Deeper bugs, such as
    accepting a superseded attempt, need the exhaustive checker: random walks rarely
    line up lease, expiry, sweep and a late completion.)"""

    class Broken(ModelMachine):
        rules_class = mutant

    hunting = settings(
        max_examples=500,
        stateful_step_count=40,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    with pytest.raises(AssertionError):
        run_state_machine_as_test(Broken, settings=hunting)
