"""The small worlds the checker explores, and the actions enabled in each state.

Bounds (clock, steps, keys) keep every world finite; within them every action a
client could send is enabled, including the stale, repeated and malformed ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from spec.actions import (
    Action,
    Advance,
    Cancel,
    Complete,
    CompleteManual,
    Crash,
    Fail,
    Heartbeat,
    Interrupted,
    Lease,
    Move,
    Publish,
    Release,
    Start,
    Sweep,
)
from spec.graph import FAILED_LABEL, RESERVED_LABEL, Graph, Node
from spec.state import JSON, JobState, State, Status

UNOFFERED_LABEL = "bogus"
"""A label no node offers, to exercise the rejection."""

UNKNOWN = "nowhere"
"""A definition and a node nobody published."""

ERROR = "boom"
"""The error of a retryable failure."""

FINAL_ERROR = "fatal"
"""The error of a failure that is not retryable."""


def conflicting_order_graph() -> Graph:
    """Version 1 of ``order`` with other content: publishing it must be refused."""
    return Graph("order", 1, "fetch", {"fetch": Node("fetch", {"ok": "done"}), "done": Node()})


def order_graph(version: int = 1) -> Graph:
    """Fetch with retries (a ``retry`` self-loop, a ``timeout`` route to a manual
    review), ship with a deadline and no timeout route (so it can become an incident),
    and two leaves. Version 2 allows a single fetch attempt."""
    attempts = 2 if version == 1 else 1
    fetch_edges = {"ok": "ship", "retry": "fetch", RESERVED_LABEL: "review"}
    return Graph(
        name="order",
        version=version,
        start="fetch",
        nodes={
            "fetch": Node("fetch", fetch_edges, timeout=2, attempts=attempts, backoff=1),
            "ship": Node("ship", {"done": "done"}, timeout=2, attempts=1, deadline=3),
            "review": Node("review", {"approve": "ship", "reject": "failed"}, manual=True),
            "done": Node(),
            "failed": Node(),
        },
    )


@dataclass(frozen=True, slots=True)
class Configuration:
    """One bounded world: what exists up front, who acts, and how far to look.

    ``workers`` lease jobs; ``rivals`` never lease but heartbeat and release jobs
    they do not hold (a restarted worker under a new name), which covers the
    non-holder answers without doubling the states by who holds what.

    The first worker leases batches of ``max_jobs``, any other one job at a time, so
    two lessees compete and a due job can be left over. ``lease_ticks`` are the lease
    lengths asked for, ``heartbeat_ticks`` the extensions (by default the same).
    ``conflicting`` graphs are published and must be refused. ``interrupt`` crashes
    completions and sweeps in flight, before and after their commit. ``odd`` sends the
    requests about things that do not exist (jobs, workflows, nodes, definitions).
    ``key_scope`` starts every definition with every key, with two inputs and with a
    version that does not exist. ``fail`` has workers fail every job (retryable or not,
    unknown ones too), complete with `failed`, and crash in the middle of failures.
    """

    name: str
    graphs: tuple[Graph, ...]
    later: tuple[Graph, ...] = ()
    keys: tuple[str, ...] = ("a",)
    started: tuple[str, ...] = ()
    workers: tuple[str, ...] = ("w1", "w2")
    rivals: tuple[str, ...] = ()
    lease_ticks: tuple[int, ...] = (2,)
    heartbeat_ticks: tuple[int, ...] = ()
    max_jobs: int = 1
    max_clock: int = 4
    max_step: int = 3
    move_targets: tuple[str, ...] = ()
    people: tuple[str, ...] = ("ops",)
    crash: bool = True
    cancel: bool = True
    sweep_each: bool = True
    operations: frozenset[str] = field(default_factory=frozenset)
    conflicting: tuple[Graph, ...] = ()
    interrupt: bool = False
    odd: bool = False
    fail: bool = False
    key_scope: bool = False

    @property
    def extensions(self) -> tuple[int, ...]:
        """The heartbeat lengths tried."""
        return self.heartbeat_ticks or self.lease_ticks

    def within_bounds(self, state: State) -> bool:
        """Whether to explore on from ``state`` (it is checked either way)."""
        steps = (w.step for w in state.store.workflows)
        return state.clock <= self.max_clock and all(s <= self.max_step for s in steps)

    def describe(self) -> dict[str, object]:
        """The bounds, for the report."""
        return {
            "name": self.name,
            "definitions": [f"{g.name} v{g.version}" for g in (*self.graphs, *self.later)],
            "workflows": len({*self.keys, *self.started}),
            "started_up_front": list(self.started),
            "workers": list(self.workers),
            "rivals": list(self.rivals),
            "max_clock": self.max_clock,
            "max_step": self.max_step,
            "lease_ticks": list(self.lease_ticks),
            "heartbeat_ticks": list(self.extensions),
            "max_jobs": self.max_jobs,
            "conflicting_publishes": len(self.conflicting),
            "interrupted_requests": self.interrupt,
            "odd_requests": self.odd,
            "failures": self.fail,
            "move_targets": list(self.move_targets),
            "crash": self.crash,
            "cancel": self.cancel,
            "sweep": "each workflow" if self.sweep_each else "all at once",
        }


def enabled(config: Configuration, state: State) -> Iterator[Action[object]]:
    """Every action worth trying in ``state``, in a fixed order."""
    yield from _starts_and_publishes(config, state)
    yield from _worker_actions(config, state)
    yield from _person_actions(config, state)
    if state.clock < config.max_clock:
        yield Advance(1)
    yield from _sweeps(config, state)
    if config.crash:
        yield Crash()
    if config.interrupt:
        yield from _interruptions(config, state)
    if config.odd:
        yield from _odd_requests(config, state)


def _interruptions(config: Configuration, state: State) -> Iterator[Action[object]]:
    """A crash in the middle of each completion that could decide a step, before and
    after its commit, and of each sweep before its commit."""
    store = state.store
    for job in store.jobs:
        workflow = store.workflow(job.workflow)
        assert workflow is not None
        labels = store.graph_of(workflow).node(job.node).labels
        if not job.is_open or not labels:
            continue
        output = _output(state, job.id)
        request: Action[object] = (
            CompleteManual(job.id, labels[0], config.people[0], output)
            if job.manual
            else Complete(job.id, labels[0], output)
        )
        yield Interrupted(request, committed=False)
        yield Interrupted(request, committed=True)
        if config.fail and job.state is JobState.LEASED:
            yield Interrupted(Fail(job.id, FINAL_ERROR, retryable=False), committed=False)
            yield Interrupted(Fail(job.id, FINAL_ERROR, retryable=False), committed=True)
    for sweep in _sweeps(config, state):
        yield Interrupted(sweep, committed=False)


def _odd_requests(config: Configuration, state: State) -> Iterator[Action[object]]:
    """Requests naming what does not exist, or a job through the wrong path."""
    store = state.store
    name = config.graphs[0].name
    yield Start(UNKNOWN)
    yield Start(name, version=99)
    yield Complete(len(store.jobs) + 1, "ok")
    yield CompleteManual(len(store.jobs) + 1, "ok", config.people[0])
    yield Cancel(len(store.workflows) + 1)
    yield Move(len(store.workflows) + 1, config.graphs[0].start, config.people[0])
    for workflow in store.workflows:
        yield Move(workflow.id, UNKNOWN, config.people[0])
    for job in store.jobs:
        if job.is_open:
            wrong = RESERVED_LABEL if job.manual else next(iter(_labels(state, job.id)), "")
            yield CompleteManual(job.id, wrong, config.people[0])


def _labels(state: State, job_id: int) -> tuple[str, ...]:
    store = state.store
    job = store.job(job_id)
    workflow = store.workflow(job.workflow) if job is not None else None
    if job is None or workflow is None:
        return ()
    return store.graph_of(workflow).node(job.node).labels


def _output(state: State, job_id: int) -> dict[str, JSON]:
    """An output that differs by time and job, with a nested object, so that a merge
    the wrong way round, one that drops outputs and one that goes deeper all show."""
    return {"at": state.clock, "seen": {f"j{job_id}": state.clock}}


def _sweeps(config: Configuration, state: State) -> Iterator[Action[object]]:
    if not config.sweep_each:
        yield Sweep()
        return
    for workflow in state.store.workflows:
        if workflow.status is Status.RUNNING:
            yield Sweep(workflow.id)


def _starts_and_publishes(config: Configuration, state: State) -> Iterator[Action[object]]:
    for key in config.keys:
        yield Start(config.graphs[0].name, key=key)
    if config.key_scope:
        for graph in config.graphs:
            for key in config.keys:
                yield Start(graph.name, key=key, context={"n": 1})
                yield Start(graph.name, version=99, key=key)
            yield Start(graph.name, key=config.keys[0])
    yield from (Publish(graph) for graph in (*config.later, *config.conflicting))


def _operations(config: Configuration, state: State) -> frozenset[str]:
    if config.operations:
        return config.operations
    return frozenset().union(*(g.operations for g in state.store.definitions))


def _worker_actions(config: Configuration, state: State) -> Iterator[Action[object]]:
    store = state.store
    operations = _operations(config, state)
    if config.fail:
        yield from _failures(state)
    for number, worker in enumerate(config.workers):
        batch = config.max_jobs if number == 0 else 1
        for ticks in config.lease_ticks:
            yield Lease(worker, operations, batch, ticks)
    for job in store.jobs:
        workflow = store.workflow(job.workflow)
        assert workflow is not None
        labels = store.graph_of(workflow).node(job.node).labels
        output = _output(state, job.id)
        odd = (UNOFFERED_LABEL, RESERVED_LABEL) if job.is_open else ()
        if config.fail and job.is_open:
            odd = (*odd, FAILED_LABEL)
        for label in (*labels, *odd):
            yield Complete(job.id, label, output)
        if job.state is not JobState.LEASED:
            continue
        for worker in (*config.workers, *config.rivals):
            for ticks in config.extensions:
                yield Heartbeat(worker, (job.id,), ticks)
            yield Release(worker, (job.id,))


def _failures(state: State) -> Iterator[Action[object]]:
    """Every job failed, retryably and not (ended and manual ones too), and an unknown one."""
    for job in state.store.jobs:
        yield Fail(job.id, ERROR, retryable=True)
        yield Fail(job.id, FINAL_ERROR, retryable=False)
    yield Fail(len(state.store.jobs) + 1, ERROR)


def _person_actions(config: Configuration, state: State) -> Iterator[Action[object]]:
    store = state.store
    for job in store.jobs:
        if not job.manual:
            continue
        workflow = store.workflow(job.workflow)
        assert workflow is not None
        for label in store.graph_of(workflow).node(job.node).labels:
            for person in config.people:
                yield CompleteManual(job.id, label, person)
    for workflow in store.workflows:
        if config.cancel:
            yield Cancel(workflow.id)
        for node in config.move_targets:
            yield Move(workflow.id, node, config.people[0], "by hand")


def quick_graph() -> Graph:
    """A faster graph for several workflows at once: one-tick attempts (two of them, a
    ``retry`` self-loop, a ``timeout`` route), then a check with a deadline and no
    timeout route, and a leaf."""
    work_edges = {"ok": "done", "retry": "work", RESERVED_LABEL: "check"}
    return Graph(
        name="quick",
        version=1,
        start="work",
        nodes={
            "work": Node("work", work_edges, timeout=1, attempts=2, backoff=0),
            "check": Node("check", {"done": "done"}, timeout=1, attempts=1, deadline=2),
            "done": Node(),
        },
    )


def long_graph() -> Graph:
    """One long attempt (timeout 3) asked for in one-tick leases, so heartbeats extend
    them, up to the attempt's cap; two attempts, a backoff, a deadline that a routed
    ``timeout`` answers (the other graphs' deadlines raise incidents), and a leaf."""
    edges = {"ok": "done", RESERVED_LABEL: "done"}
    work = Node("work", edges, timeout=3, attempts=2, backoff=1, deadline=3)
    return Graph("long", 1, "work", {"work": work, "done": Node()})


def pay_graph() -> Graph:
    """Failure paths: a charge with two attempts and a backoff whose `failed` route goes
    to a manual review, and a ship with one attempt and no route for either give-up, so
    that a failure there is an incident."""
    charge = Node("charge", {"ok": "ship", FAILED_LABEL: "review"}, timeout=2, attempts=2,
                  backoff=1)
    return Graph("pay", 1, "charge", {
        "charge": charge,
        "ship": Node("ship", {"done": "done"}, timeout=1, attempts=1),
        "review": Node("review", {"approve": "done"}, manual=True),
        "done": Node(),
    })  # fmt: skip


def configurations(scope: str = "full") -> tuple[Configuration, ...]:
    """The worlds to explore: ``full`` for the report, ``small`` for quick tests."""
    small = scope == "small"
    v1, v2, quick = order_graph(1), order_graph(2), quick_graph()
    one = Configuration(
        "one-workflow", (v1,), later=(v2,), conflicting=(conflicting_order_graph(),),
        rivals=("w2",), workers=("w1",), interrupt=True,
        max_clock=3 if small else 4, max_step=2 if small else 3,
    )  # fmt: skip
    people = Configuration(
        "people", (v1,), started=("a",), rivals=("w2",), workers=("w1",),
        max_clock=2 if small else 3, max_step=2 if small else 3,
        move_targets=("fetch", "review", "done"), interrupt=True, odd=True,
    )  # fmt: skip
    two = Configuration(
        "two-workflows", (quick,), started=("a", "b"), rivals=("w2",), workers=("w1",),
        max_jobs=2, max_clock=1 if small else 2, max_step=2, cancel=False, crash=False,
        sweep_each=False,
    )  # fmt: skip
    lessees = Configuration(
        "two-lessees", (quick,), started=("a", "b"), workers=("w1", "w2"),
        max_clock=1, max_step=1 if small else 2, cancel=False, crash=False, sweep_each=False,
    )  # fmt: skip
    heartbeats = Configuration(
        "heartbeats", (long_graph(),), started=("a",), rivals=("w2",), workers=("w1",),
        lease_ticks=(1,), heartbeat_ticks=(1, 2), max_clock=3 if small else 4, max_step=2,
        crash=False,
    )  # fmt: skip
    failures = Configuration(
        "failures", (pay_graph(),), started=("a",), workers=("w1",),
        max_clock=3 if small else 5, max_step=2 if small else 3, interrupt=True, fail=True,
    )  # fmt: skip
    keys = Configuration(
        "keys", (order_graph(1), pay_graph()), workers=(), max_clock=0,
        max_step=1, crash=False, key_scope=True,
    )  # fmt: skip
    return (heartbeats, one, people, two, lessees, failures, keys)
