"""The real engine on a real PostgreSQL and the spec's model, driven in lockstep.

Every rule sends the same request to both and compares the answers; after every
step the whole observable state (positions, statuses, contexts, histories, every
job) must be the same. Time is a shared, hand-moved clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from hypothesis import event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from relentless.core.reader import parse_definition
from relentless.engine.clock import ManualClock
from relentless.engine.engine import Engine
from relentless.engine.transitions import Transitions
from relentless.engine.values import Completion, StartRequest
from relentless.errors import StoreUnavailable
from relentless.store.database import Connection
from spec import model
from tests.stateful.translate import Translator, graph_of

DEFINITION = """
name: lockstep
start: work
defaults: {timeout: 3s, attempts: 2, backoff: 1s}
nodes:
  work:
    operation: do_work
    on: {ok: check, again: work, timeout: review}
  check:
    operation: check_it
    deadline: 4s
    backoff: 0s
    on: {pass: done, fail: work}
  review:
    operation: review
    manual: true
    on: {retry: work, drop: dropped}
  done: {}
  dropped: {}
"""
OPERATIONS = ("do_work", "check_it", "review")
LABELS = ("ok", "again", "pass", "fail", "retry", "drop", "timeout", "bogus")
NODES = ("work", "check", "review", "done", "dropped")
WORKERS = ("w1", "w2")
TABLES = "relentless_history, relentless_jobs, relentless_workflows, relentless_definitions"

GRAPH = graph_of(parse_definition(DEFINITION), 1)

Run = Callable[[Awaitable[Any]], Any]


def answer(result: Any) -> tuple[str, str | None]:
    """Verdict and reason of an engine or model answer, as plain text."""
    reason = result.reason.value if result.reason is not None else None
    return result.verdict.value, reason


class EngineMatchesModel(RuleBasedStateMachine):
    """One engine, one model, one clock; set up per example by ``machine_for``."""

    run: Run
    dsn: str

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.translate = Translator(self.clock.now())
        self.run(self._reset())
        self.engine: Engine = self.run(Engine.connect(self.dsn, self.clock, min_size=1,
                                                      max_size=3))
        self.model = model.Model()

    async def _reset(self) -> None:
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute(f"TRUNCATE {TABLES} RESTART IDENTITY")
        finally:
            await connection.close()

    def teardown(self) -> None:
        self.run(self.engine.close())

    # -- set-up ---------------------------------------------------------------------

    @initialize()
    def publish(self) -> None:
        published = self.run(self.engine.definitions.publish(DEFINITION))
        assert published.version == GRAPH.version
        assert answer(self.model.publish(GRAPH)) == ("accepted", None)

    # -- requests -------------------------------------------------------------------

    @rule(key=st.sampled_from([None, "k1", "k2"]),
          context=st.dictionaries(st.sampled_from("abc"), st.integers(0, 3), max_size=2))
    def start(self, key: str | None, context: dict[str, int]) -> None:
        if key is not None:
            context = {"key": len(key)}  # one input per key: a repeat is the same request
        [started] = self.run(self.engine.workflows.start([StartRequest("lockstep", key=key,
                                                                       context=context)]))
        expected = self.model.start("lockstep", key=key, context=context)
        note(f"start(key={key}) -> engine {started}, model {expected}")
        assert (started.verdict.value, started.created, started.version) == (
            expected.verdict.value, expected.created, expected.version)
        assert started.workflow_id is not None and expected.workflow is not None
        self.translate.pair(started.workflow_id, expected.workflow)

    @rule(worker=st.sampled_from(WORKERS),
          operations=st.sets(st.sampled_from(OPERATIONS), min_size=1),
          max_jobs=st.integers(1, 3), lease_ticks=st.integers(1, 4))
    def lease(self, worker: str, operations: set[str], max_jobs: int, lease_ticks: int) -> None:
        leased = self.run(self.engine.workers.lease(worker, sorted(operations), max_jobs,
                                                    lease_ticks * 1000))
        expected = self.model.lease(worker, operations, max_jobs, lease_ticks)
        note(f"lease({worker}, {sorted(operations)}, {max_jobs}) -> {len(leased)} jobs")
        assert self.translate.leases(leased) == self.translate.model_leases(self.model, expected)

    @rule(max_jobs=st.integers(1, 3), lease_ticks=st.integers(1, 4))
    def two_leasers_at_once(self, max_jobs: int, lease_ticks: int) -> None:
        """Two concurrent leases never hand out one job twice, and together take the oldest."""
        async def both() -> list[Any]:
            return list(await asyncio.gather(*(
                self.engine.workers.lease("w1", list(OPERATIONS), max_jobs, lease_ticks * 1000)
                for _ in range(2))))

        first, second = self.run(both())
        expected = self.model.lease("w1", OPERATIONS, 2 * max_jobs, lease_ticks)
        mine = self.translate.leases(first) + self.translate.leases(second)
        note(f"two leasers -> {len(first)} + {len(second)} jobs")
        assert len({lease[0] for lease in mine}) == len(mine), "a job was leased twice"
        assert sorted(mine) == sorted(self.translate.model_leases(self.model, expected))

    @precondition(lambda self: self.model.snapshot().jobs)
    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        """A batch of completions, duplicates and nonsense included, against one at a time."""
        batch = data.draw(st.lists(self._completion(data), min_size=1, max_size=4))
        answers = self.run(self.engine.workers.complete([c for c, _ in batch]))
        expected = [self.model.complete(job, c.label, c.output) for c, job in batch]
        note(f"complete({[(c.job_id, c.label) for c, _ in batch]}) -> "
             f"{[answer(a) for a in answers]}")
        for got in answers:
            event(f"complete: {answer(got)}")
        assert [answer(a) for a in answers] == [answer(a) for a in expected]

    @precondition(lambda self: self.model.snapshot().jobs)
    @rule(data=st.data(), person=st.sampled_from(["ana", "bo"]))
    def complete_manual(self, data: st.DataObject, person: str) -> None:
        completion, job = data.draw(self._completion(data))
        got = self.run(self.engine.workers.complete_manual(completion, person))
        expected = self.model.complete_manual(job, completion.label, person, completion.output)
        note(f"complete_manual({completion.job_id}, {completion.label}) -> {answer(got)}")
        assert answer(got) == answer(expected)

    @precondition(lambda self: self.model.snapshot().jobs)
    @rule(data=st.data(), worker=st.sampled_from(WORKERS), lease_ticks=st.integers(1, 4))
    def heartbeat(self, data: st.DataObject, worker: str, lease_ticks: int) -> None:
        jobs = data.draw(st.lists(self._job(), min_size=1, max_size=3, unique=True))
        got = self.run(self.engine.workers.heartbeat(
            worker, [self.translate.engine_job(self.model, job) for job in jobs],
            lease_ticks * 1000))
        expected = self.model.heartbeat(worker, jobs, lease_ticks)
        assert [(g.extended, self.translate.ticks(g.lease_expires_at)) for g in got] == [
            (e.extended, e.expires_at) for e in expected]

    @precondition(lambda self: self.model.snapshot().jobs)
    @rule(data=st.data(), worker=st.sampled_from(WORKERS))
    def release(self, data: st.DataObject, worker: str) -> None:
        jobs = data.draw(st.lists(self._job(), min_size=1, max_size=3, unique=True))
        got = self.run(self.engine.workers.release(
            worker, [self.translate.engine_job(self.model, job) for job in jobs]))
        expected = self.model.release(worker, jobs)
        assert [g.released for g in got] == [e.released for e in expected]

    @rule(ticks=st.integers(1, 3))
    def time_passes(self, ticks: int) -> None:
        self.clock.advance(ticks)
        self.model.advance(ticks)

    @rule(ticks=st.integers(1, 4))
    def time_passes_and_the_sweeper_runs(self, ticks: int) -> None:
        self.time_passes(ticks)
        self.sweep()

    @rule()
    def sweep(self) -> None:
        got = self.run(self.engine.sweeper.tick())
        expected = self.model.sweep()
        note(f"sweep -> {self.translate.sweeps(got)}")
        assert self.translate.sweeps(got) == self.translate.model_sweeps(self.model, expected)

    @precondition(lambda self: self.model.snapshot().workflows)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        workflow = data.draw(self._workflow())
        got = self.run(self.engine.workflows.cancel(self.translate.to_engine[workflow]))
        assert answer(got) == answer(self.model.cancel(workflow))

    @precondition(lambda self: self.model.snapshot().workflows)
    @rule(data=st.data(), node=st.sampled_from(NODES))
    def move(self, data: st.DataObject, node: str) -> None:
        workflow = data.draw(self._workflow())
        got = self.run(self.engine.workflows.move(self.translate.to_engine[workflow], node,
                                                  "ana", "mitigation"))
        expected = self.model.move(workflow, node, "ana", "mitigation")
        note(f"move({workflow}, {node}) -> {answer(got)}")
        assert answer(got) == answer(expected)

    @precondition(lambda self: self.model.snapshot().jobs)
    @rule(data=st.data())
    def crash_midway_through_a_completion_batch(self, data: st.DataObject) -> None:
        """The server's connection dies after the batch's writes, before the commit."""
        batch = data.draw(st.lists(self._completion(data), min_size=1, max_size=3))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Transitions, "write", _write_then_die)
            try:
                self.run(self.engine.workers.complete([c for c, _ in batch]))
            except StoreUnavailable:
                event("crash: a batch with writes died before its commit")
            else:
                event("crash: nothing to write, so nothing to lose")
        self.model.crash()
        note(f"crash while completing {[c.job_id for c, _ in batch]}")

    # -- comparing everything ---------------------------------------------------------

    @invariant()
    def same_state(self) -> None:
        for model_id, engine_id in self.translate.to_engine.items():
            workflow = self.run(self.engine.workflows.get(engine_id))
            jobs = self.run(self.engine.workflows.jobs(engine_id))
            assert self.translate.workflow(workflow, jobs) == self.translate.model_workflow(
                self.model, model_id), f"workflow {model_id} differs"

    # -- strategies over what exists ----------------------------------------------------

    def _job(self) -> st.SearchStrategy[int]:
        """Mostly open jobs (where the decisions are), sometimes any job at all."""
        jobs = self.model.snapshot().jobs
        every = st.integers(1, len(jobs))
        open_jobs = [job.id for job in jobs if job.is_open]
        recent = st.sampled_from([job.id for job in jobs[-4:]])
        if not open_jobs:
            return st.one_of(recent, every)
        return st.one_of(st.sampled_from(open_jobs), recent, every)

    def _workflow(self) -> st.SearchStrategy[int]:
        return st.integers(1, len(self.model.snapshot().workflows))

    def _completion(self, data: st.DataObject) -> st.SearchStrategy[tuple[Completion, int]]:
        """A job and, mostly, a label its node offers; sometimes any label at all."""
        def with_label(job: int) -> st.SearchStrategy[tuple[Completion, int]]:
            found = self.model.job(job)
            assert found is not None
            offered = sorted(GRAPH.node(found.node).on)
            label = st.one_of(st.sampled_from(offered), st.sampled_from(LABELS))
            output = st.dictionaries(st.sampled_from("xy"), st.integers(0, 2), max_size=1)
            engine_id = self.translate.engine_job(self.model, job)
            return st.builds(lambda lab, out: (Completion(engine_id, lab, out or None), job),
                             label, output)

        return self._job().flatmap(with_label)


_ORIGINAL_WRITE = Transitions.write


async def _write_then_die(self: Transitions, connection: Connection) -> None:
    """Do the writes, then have PostgreSQL kill this very connection: a real crash."""
    await _ORIGINAL_WRITE(self, connection)
    await connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def machine_for(run: Run, dsn: str) -> type[EngineMatchesModel]:
    return type("EngineMatchesModelOn", (EngineMatchesModel,), {"run": staticmethod(run),
                                                                 "dsn": dsn})


STEPS = 40


def test_engine_matches_the_model(run: Run, database_dsn: str) -> None:
    run_state_machine_as_test(machine_for(run, database_dsn),
                              settings=settings(stateful_step_count=STEPS))
