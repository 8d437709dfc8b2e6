"""The real engine on a real PostgreSQL and the spec's model, driven in lockstep.

Every rule sends the same request to both and compares the answers; after every
step the whole observable state (positions, statuses, contexts, histories, every
job) must be the same. Time is a shared, hand-moved clock.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections import Counter
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
from relentless.engine.values import Completion, Failure, StartRequest
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
    on: {ok: check, again: work, timeout: review, failed: review}
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
"""`work` routes both give-ups to a person's review; `check` routes neither, so a
failure there (or its deadline, or its last lease) is an incident."""

OTHER = """
name: other
start: step
defaults: {timeout: 2s, attempts: 3, backoff: 1s}
nodes:
  step:
    operation: do_work
    on: {ok: done, failed: done}
  done: {}
"""
"""A second definition: the same keys start workflows of both."""

OPERATIONS = ("do_work", "check_it", "review")
LABELS = ("ok", "again", "pass", "fail", "retry", "drop", "timeout", "failed", "bogus")
NODES = ("work", "check", "review", "done", "dropped")
WORKERS = ("w1", "w2")
ERRORS = ("RuntimeError: down", "ValueError: bad card", "")
TABLES = ("relentless_events, relentless_history, relentless_jobs, relentless_workflows, "
          "relentless_definitions")

GRAPH = graph_of(parse_definition(DEFINITION), 1)
GRAPHS = {"lockstep": GRAPH, "other": graph_of(parse_definition(OTHER), 1)}
FIRED: Counter[str] = Counter()
"""How often each rule ran, over every example of a test run (see the rule counts test)."""

Run = Callable[[Awaitable[Any]], Any]


def answer(result: Any) -> tuple[str, str | None]:
    """Verdict and reason of an engine or model answer, as plain text."""
    reason = result.reason.value if result.reason is not None else None
    return result.verdict.value, reason


def fired(rule: Callable[..., None]) -> Callable[..., None]:
    """Count each run of ``rule`` in FIRED, under its name."""
    @functools.wraps(rule)
    def counted(machine: EngineMatchesModel, *args: Any, **kwargs: Any) -> None:
        FIRED[rule.__name__] += 1
        machine.steps += 1
        rule(machine, *args, **kwargs)

    return counted


class EngineMatchesModel(RuleBasedStateMachine):
    """Two engines (two nodes) on one database, one model, one clock; set up per
    example by ``machine_for``."""

    run: Run
    dsn: str

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.translate = Translator(self.clock.now())
        self.run(self._reset())
        self.engine: Engine = self._connect()
        self.other_node: Engine = self._connect()
        self.model = model.Model()
        self.steps = 0

    def _connect(self) -> Engine:
        engine: Engine = self.run(Engine.connect(self.dsn, self.clock, min_size=1, max_size=3))
        return engine

    async def _reset(self) -> None:
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute(f"TRUNCATE {TABLES} RESTART IDENTITY")
        finally:
            await connection.close()

    def teardown(self) -> None:
        self.run(self.engine.close())
        self.run(self.other_node.close())

    # -- set-up ---------------------------------------------------------------------

    @initialize(contexts=st.lists(st.dictionaries(st.sampled_from("ab"), st.integers(0, 2),
                                                   max_size=1), min_size=2, max_size=3))
    def publish_and_start(self, contexts: list[dict[str, int]]) -> None:
        """Both definitions published, and a few workflows running from the first step."""
        for text, graph in ((DEFINITION, GRAPH), (OTHER, GRAPHS["other"])):
            published = self.run(self.engine.definitions.publish(text))
            assert published.version == graph.version
            assert answer(self.model.publish(graph)) == ("accepted", None)
        for number, context in enumerate(contexts):
            self._start("lockstep" if number % 2 == 0 else "other", None, None, context)

    # -- requests -------------------------------------------------------------------

    @rule(definition=st.sampled_from(sorted(GRAPHS)), version=st.sampled_from([None, 1, 7]),
          key=st.sampled_from([None, "k1", "k2"]),
          context=st.sampled_from([{}, {"a": 1}, {"a": 2}]))
    @fired
    def start(self, definition: str, version: int | None, key: str | None,
              context: dict[str, int]) -> None:
        """Keys across both definitions, repeats with another input, unknown versions."""
        self._start(definition, version, key, context)

    def _start(self, definition: str, version: int | None, key: str | None,
               context: dict[str, int]) -> None:
        [started] = self.run(self.engine.workflows.start([StartRequest(
            definition, version=version, key=key, context=context)]))
        expected = self.model.start(definition, version=version, key=key, context=context)
        note(f"start({definition} v{version}, key={key}, {context}) -> engine {started}, "
             f"model {expected}")
        event(f"start: {answer(started)} created={started.created}")
        assert (answer(started), started.created, started.version) == (
            answer(expected), expected.created, expected.version)
        if expected.workflow is not None:
            assert started.workflow_id is not None
            self.translate.pair(started.workflow_id, expected.workflow)

    @rule(worker=st.sampled_from(WORKERS),
          operations=st.sets(st.sampled_from(OPERATIONS), min_size=1),
          max_jobs=st.integers(1, 3), lease_ticks=st.integers(1, 4))
    @fired
    def lease(self, worker: str, operations: set[str], max_jobs: int, lease_ticks: int) -> None:
        leased = self.run(self.engine.workers.lease(worker, sorted(operations), max_jobs,
                                                    lease_ticks * 1000))
        expected = self.model.lease(worker, operations, max_jobs, lease_ticks)
        note(f"lease({worker}, {sorted(operations)}, {max_jobs}) -> {len(leased)} jobs")
        # Which jobs are leased is the guarantee (the oldest due); the engine lists them
        # in creation order, the model in due order.
        assert sorted(self.translate.leases(leased)) == sorted(
            self.translate.model_leases(self.model, expected))

    @rule(max_jobs=st.integers(1, 3), lease_ticks=st.integers(1, 4))
    @fired
    def two_leasers_at_once(self, max_jobs: int, lease_ticks: int) -> None:
        """Two concurrent leases never hand out one job twice, and together take the oldest."""
        async def both() -> list[Any]:
            return list(await asyncio.gather(*(
                node.workers.lease("w1", list(OPERATIONS), max_jobs, lease_ticks * 1000)
                for node in (self.engine, self.other_node))))

        first, second = self.run(both())
        expected = self.model.lease("w1", OPERATIONS, 2 * max_jobs, lease_ticks)
        mine = self.translate.leases(first) + self.translate.leases(second)
        note(f"two leasers -> {len(first)} + {len(second)} jobs")
        assert len({lease[0] for lease in mine}) == len(mine), "a job was leased twice"
        assert sorted(mine) == sorted(self.translate.model_leases(self.model, expected))

    @precondition(lambda self: self.model.snapshot().jobs)
    @rule(data=st.data())
    @fired
    def complete(self, data: st.DataObject) -> None:
        """A batch of completions, duplicates and nonsense included, against one at a time."""
        batch = data.draw(st.lists(self._completion(), min_size=1, max_size=4))
        answers = self.run(self.engine.workers.complete([c for c, _ in batch]))
        expected = [self.model.complete(job, c.label, c.output) for c, job in batch]
        note(f"complete({[(c.job_id, c.label) for c, _ in batch]}) -> "
             f"{[answer(a) for a in answers]}")
        for got in answers:
            event(f"complete: {answer(got)}")
        assert [answer(a) for a in answers] == [answer(a) for a in expected]

    @rule(data=st.data(), worker=st.sampled_from(WORKERS), max_jobs=st.integers(1, 3),
          lease_ticks=st.integers(1, 4), failing=st.booleans())
    @fired
    def lease_and_work(self, data: st.DataObject, worker: str, max_jobs: int,
                       lease_ticks: int, failing: bool) -> None:
        """The common case, weighted up: a worker leases every operation, then completes
        or fails what it got (a failure with a random error, retryable or not)."""
        self.lease(worker, set(OPERATIONS), max_jobs, lease_ticks)
        if not self._leased():
            return
        if failing:
            job = data.draw(st.sampled_from(self._leased()))
            error, retryable = data.draw(st.sampled_from(ERRORS)), data.draw(st.booleans())
            [got] = self.run(self.engine.workers.fail([Failure(
                self.translate.engine_job(self.model, job), error, retryable)]))
            assert answer(got) == answer(self.model.fail(job, error, retryable))
            return
        self.complete_leased_work(data)

    @precondition(lambda self: self._leased())
    @rule(data=st.data())
    @fired
    def complete_leased_work(self, data: st.DataObject) -> None:
        """The common case, weighted up: a worker completes jobs it holds, with offered labels."""
        jobs = data.draw(st.lists(st.sampled_from(self._leased()), min_size=1, max_size=3,
                                  unique=True))
        batch = [data.draw(self._completion_of(job, offered_only=True)) for job in jobs]
        answers = self.run(self.engine.workers.complete([c for c, _ in batch]))
        expected = [self.model.complete(job, c.label, c.output) for c, job in batch]
        note(f"complete leased {[(c.job_id, c.label) for c, _ in batch]} -> "
             f"{[answer(a) for a in answers]}")
        assert [answer(a) for a in answers] == [answer(a) for a in expected]

    @precondition(lambda self: self.model.snapshot().jobs)
    @rule(data=st.data())
    @fired
    def fail(self, data: st.DataObject) -> None:
        """A batch of failures (random errors, retryable or not), duplicates included."""
        jobs = data.draw(st.lists(st.one_of(st.sampled_from(self._leased() or [1]),
                                            self._job()), min_size=1, max_size=3))
        batch = [(job, data.draw(st.sampled_from(ERRORS)), data.draw(st.booleans()))
                 for job in jobs]
        got = self.run(self.engine.workers.fail([
            Failure(self.translate.engine_job(self.model, job), error, retryable)
            for job, error, retryable in batch]))
        expected = [self.model.fail(job, error, retryable) for job, error, retryable in batch]
        note(f"fail({batch}) -> {[answer(a) for a in got]}")
        for one in got:
            event(f"fail: {answer(one)}")
        assert [answer(a) for a in got] == [answer(a) for a in expected]

    @precondition(lambda self: self.model.snapshot().jobs)
    @rule(data=st.data(), person=st.sampled_from(["ana", "bo"]))
    @fired
    def complete_manual(self, data: st.DataObject, person: str) -> None:
        completion, job = data.draw(self._completion())
        got = self.run(self.engine.workers.complete_manual(completion, person))
        expected = self.model.complete_manual(job, completion.label, person, completion.output)
        note(f"complete_manual({completion.job_id}, {completion.label}) -> {answer(got)}")
        assert answer(got) == answer(expected)

    @precondition(lambda self: self.model.snapshot().jobs)
    @rule(data=st.data(), worker=st.sampled_from(WORKERS), lease_ticks=st.integers(1, 4))
    @fired
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
    @fired
    def release(self, data: st.DataObject, worker: str) -> None:
        jobs = data.draw(st.lists(self._job(), min_size=1, max_size=3, unique=True))
        got = self.run(self.engine.workers.release(
            worker, [self.translate.engine_job(self.model, job) for job in jobs]))
        expected = self.model.release(worker, jobs)
        assert [g.released for g in got] == [e.released for e in expected]

    @rule(ticks=st.integers(1, 3))
    @fired
    def time_passes(self, ticks: int) -> None:
        self._advance(ticks)

    def _advance(self, ticks: int) -> None:
        self.clock.advance(ticks)
        self.model.advance(ticks)

    @rule(ticks=st.integers(1, 4), node=st.integers(0, 1))
    @fired
    def time_passes_and_a_sweeper_runs(self, ticks: int, node: int) -> None:
        self._advance(ticks)
        self._sweep((self.engine, self.other_node)[node])

    @rule()
    @fired
    def sweep(self) -> None:
        self._sweep(self.engine)

    @rule()
    @fired
    def sweep_on_the_other_node(self) -> None:
        """The second engine's sweeper, on the same database, after the first one's."""
        self._sweep(self.other_node)

    def _sweep(self, node: Engine) -> None:
        got = self.run(node.sweeper.tick())
        expected = self.model.sweep()
        note(f"sweep -> {self.translate.sweeps(got)}")
        assert self.translate.sweeps(got) == self.translate.model_sweeps(self.model, expected)

    @rule(ticks=st.integers(0, 3))
    @fired
    def two_sweepers_at_once(self, ticks: int) -> None:
        """Both nodes sweep concurrently: between them they do exactly one sweep's work."""
        self._advance(ticks)

        async def both() -> list[Any]:
            return list(await asyncio.gather(self.engine.sweeper.tick(),
                                             self.other_node.sweeper.tick()))

        first, second = self.run(both())
        expected = self.model.sweep()
        mine = sorted(self.translate.sweeps(first) + self.translate.sweeps(second))
        note(f"two sweepers -> {mine}")
        assert mine == sorted(self.translate.model_sweeps(self.model, expected))

    @precondition(lambda self: self.model.snapshot().workflows)
    @rule(data=st.data())
    @fired
    def cancel(self, data: st.DataObject) -> None:
        workflow = data.draw(self._workflow())
        got = self.run(self.engine.workflows.cancel(self.translate.to_engine[workflow]))
        assert answer(got) == answer(self.model.cancel(workflow))

    @precondition(lambda self: self.model.snapshot().workflows)
    @rule(data=st.data(), node=st.sampled_from(NODES))
    @fired
    def move(self, data: st.DataObject, node: str) -> None:
        workflow = data.draw(self._workflow())
        got = self.run(self.engine.workflows.move(self.translate.to_engine[workflow], node,
                                                  "ana", "mitigation"))
        expected = self.model.move(workflow, node, "ana", "mitigation")
        note(f"move({workflow}, {node}) -> {answer(got)}")
        assert answer(got) == answer(expected)

    @precondition(lambda self: self.model.snapshot().jobs)
    @rule(data=st.data())
    @fired
    def crash_midway_through_a_completion_batch(self, data: st.DataObject) -> None:
        """The server's connection dies after the batch's writes, before the commit."""
        batch = data.draw(st.lists(self._completion(), min_size=1, max_size=3))
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

    @precondition(lambda self: self._leased())
    @rule(data=st.data(), failing=st.booleans())
    @fired
    def answer_lost_after_the_commit(self, data: st.DataObject, failing: bool) -> None:
        """The server commits, then dies before answering: the client never hears. Its
        retry, to a new engine (the server restarted), gets the same answers and changes
        nothing that the first request did not."""
        jobs = data.draw(st.lists(st.sampled_from(self._leased()), min_size=1, max_size=2,
                                  unique=True))
        requests: list[Any] = (
            [Failure(self.translate.engine_job(self.model, job), "lost") for job in jobs]
            if failing else [data.draw(self._completion_of(job, offered_only=True))[0]
                             for job in jobs])
        actions: list[model.Action[Any]] = [
            model.Fail(job, "lost") if failing
            else model.Complete(job, request.label, request.output)
            for job, request in zip(jobs, requests, strict=True)]

        async def send() -> list[Any]:
            workers = self.engine.workers
            return list(await (workers.fail(requests) if failing
                               else workers.complete(requests)))

        first = self.run(send())  # committed; the answer never reaches the client
        lost: list[Any] = [self.model.apply(model.Interrupted(action, committed=True))
                for action in actions]
        self._rebuild()
        retried = self.run(send())
        again = [self.model.apply(action) for action in actions]
        note(f"lost answers {[answer(a) for a in first]}, retried {[answer(a) for a in retried]}")
        assert [answer(a) for a in first] == [answer(a.answer) for a in lost]
        assert [answer(a) for a in retried] == [answer(a) for a in again]
        assert [answer(a) for a in retried] == [answer(a) for a in first], "not the same answer"

    @precondition(lambda self: self.steps % 8 == 7)  # costly: a fair share, not more
    @rule()
    @fired
    def engine_rebuilt(self) -> None:
        """The server restarts: a new pool and an empty catalog on the same database."""
        self._rebuild()

    def _rebuild(self) -> None:
        self.run(self.engine.close())
        self.engine = self._connect()

    # -- comparing everything ---------------------------------------------------------

    @invariant()
    def same_state(self) -> None:
        """Every workflow reads the same on both sides, jobs and the audit trail's attempts
        (each ended attempt once, with how it ended and its error) included."""
        for model_id, engine_id in self.translate.to_engine.items():
            workflow = self.run(self.engine.workflows.get(engine_id))
            jobs = self.run(self.engine.workflows.jobs(engine_id))
            assert self.translate.workflow(workflow, jobs) == self.translate.model_workflow(
                self.model, model_id), f"workflow {model_id} differs"
            timeline = self.run(self.engine.workflows.timeline(engine_id))
            assert self.translate.trail(timeline) == self.translate.model_trail(
                self.model, model_id), f"workflow {model_id}'s audit trail differs"

    # -- strategies over what exists ----------------------------------------------------

    def _leased(self) -> list[int]:
        return [job.id for job in self.model.snapshot().jobs
                if job.state is model.JobState.LEASED]

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

    def _completion(self) -> st.SearchStrategy[tuple[Completion, int]]:
        """A job and, mostly, a label its node offers; sometimes any label at all."""
        return self._job().flatmap(self._completion_of)

    def _completion_of(self, job: int, offered_only: bool = False
                       ) -> st.SearchStrategy[tuple[Completion, int]]:
        found = self.model.job(job)
        assert found is not None
        workflow = self.model.workflow(found.workflow)
        assert workflow is not None
        node = GRAPHS[workflow.definition].node(found.node)
        offered = st.sampled_from(sorted(node.labels or node.on or ("ok",)))
        label = offered if offered_only else st.one_of(offered, st.sampled_from(LABELS))
        output = st.dictionaries(st.sampled_from("xy"), st.integers(0, 2), max_size=1)
        engine_id = self.translate.engine_job(self.model, job)
        return st.builds(lambda lab, out: (Completion(engine_id, lab, out or None), job),
                         label, output)


_ORIGINAL_WRITE = Transitions.write


async def _write_then_die(self: Transitions, connection: Connection) -> None:
    """Do the writes, then have PostgreSQL kill this very connection: a real crash."""
    await _ORIGINAL_WRITE(self, connection)
    await connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def machine_for(run: Run, dsn: str) -> type[EngineMatchesModel]:
    return type("EngineMatchesModelOn", (EngineMatchesModel,), {"run": staticmethod(run),
                                                                 "dsn": dsn})


STEPS = 30
EXAMPLES = {"ci": 300, "nightly": 3_000}
"""Examples per run: the CI budget, and the deeper nightly profile's."""

MINIMUM_FIRINGS = 20
"""Every rule runs at least this often in a CI run, or the budget is spent elsewhere."""


def test_engine_matches_the_model(run: Run, database_dsn: str) -> None:
    FIRED.clear()
    profile = os.environ.get("RELENTLESS_HYPOTHESIS_PROFILE", "ci")
    run_state_machine_as_test(machine_for(run, database_dsn), settings=settings(
        stateful_step_count=STEPS * (3 if profile == "nightly" else 1),
        max_examples=EXAMPLES.get(profile, EXAMPLES["ci"])))
    print(f"lockstep rule counts: {dict(sorted(FIRED.items()))}")
    rules = {name for name, value in vars(EngineMatchesModel).items()
             if hasattr(value, "hypothesis_stateful_rule")}
    starved = {name: FIRED[name] for name in rules if FIRED[name] < MINIMUM_FIRINGS}
    assert not starved, f"rules that hardly ran: {starved}"
