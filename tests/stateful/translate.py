"""Putting the engine's answers and state in the model's terms, so the two compare.

Time: one model tick is one second after the clock's start. Ids: the model numbers
workflows and jobs from 1; the engine's workflow ids are mapped as they are created,
and a job is matched by (workflow, step, attempt) on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from relentless.core.definition import Definition
from relentless.engine import values as engine
from relentless.protocol import Timeline
from relentless.store.job_ids import parse_job_id
from spec import model

JobKey = tuple[int, int, int]


def graph_of(definition: Definition, version: int) -> model.Graph:
    """The model's graph for a definition whose durations are whole seconds."""
    nodes = {}
    for name, node in definition.nodes.items():
        nodes[name] = model.Node(
            operation=node.operation, on=dict(node.on), timeout=max(node.timeout_ms // 1000, 1),
            attempts=max(node.attempts, 1), backoff=node.backoff.initial_ms // 1000,
            deadline=None if node.deadline_ms is None else node.deadline_ms // 1000,
            manual=node.manual)
    return model.Graph(definition.name, version, definition.start, nodes)


class Translator:
    """Maps ids and times between one engine and one model run side by side."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.to_model: dict[int, int] = {}
        self.to_engine: dict[int, int] = {}

    def ticks(self, moment: datetime | None) -> int | None:
        if moment is None:
            return None
        seconds = (moment - self.start).total_seconds()
        assert seconds == int(seconds), f"{moment} is not a whole tick"
        return int(seconds)

    def pair(self, engine_id: int, model_id: int) -> None:
        assert self.to_model.setdefault(engine_id, model_id) == model_id
        assert self.to_engine.setdefault(model_id, engine_id) == engine_id

    def engine_job(self, the_model: model.Model, job_id: int) -> str:
        """The engine's id for the model's job ``job_id``."""
        job = the_model.job(job_id)
        assert job is not None
        return f"{self.to_engine[job.workflow]}.{job.step}.{job.attempt}"

    def key_of_engine_job(self, job_id: str | None) -> JobKey | None:
        if job_id is None:
            return None
        key = parse_job_id(job_id)
        assert key is not None
        return (self.to_model[key.workflow], key.step, key.attempt)

    @staticmethod
    def key_of_model_job(the_model: model.Model, job_id: int | None) -> JobKey | None:
        if job_id is None:
            return None
        job = the_model.job(job_id)
        assert job is not None
        return (job.workflow, job.step, job.attempt)

    # -- answers --------------------------------------------------------------------

    def leases(self, leased: Iterable[engine.LeasedJob]) -> list[tuple[Any, ...]]:
        return [(self.key_of_engine_job(j.job_id), j.operation, j.node, j.labels, j.context,
                 self.ticks(j.lease_expires_at)) for j in leased]

    @classmethod
    def model_leases(cls, the_model: model.Model,
                     leased: Iterable[model.LeasedJob]) -> list[tuple[Any, ...]]:
        return [(cls.key_of_model_job(the_model, j.job), j.operation, j.node, j.labels,
                 dict(j.context), j.expires_at) for j in leased]

    def sweeps(self, events: Iterable[engine.Swept]) -> list[tuple[Any, ...]]:
        return [(self.to_model[e.workflow_id], self.key_of_engine_job(e.job_id), e.outcome.value,
                 e.cause.value if e.cause else None) for e in events]

    @classmethod
    def model_sweeps(cls, the_model: model.Model,
                     events: Iterable[model.Swept]) -> list[tuple[Any, ...]]:
        return [(e.workflow, cls.key_of_model_job(the_model, e.job), e.outcome.value,
                 e.cause.value if e.cause else None) for e in events]

    # -- state ----------------------------------------------------------------------

    def workflow(self, workflow: engine.Workflow, jobs: Iterable[engine.Job]) -> dict[str, Any]:
        return {
            "node": workflow.node, "step": workflow.step, "status": workflow.status.value,
            "incident": workflow.incident.value if workflow.incident else None,
            "context": workflow.context, "version": workflow.version, "key": workflow.key,
            "step_started_at": self.ticks(workflow.step_started_at),
            "history": [(t.step, t.source, t.target, t.kind.value, t.label,
                         self.key_of_engine_job(t.job_id), t.attempt, self.ticks(t.at), t.by,
                         t.reason or None) for t in workflow.history],
            "jobs": [(j.step, j.attempt, j.node, j.operation, j.manual, j.state,
                      self.ticks(j.ready_at), j.holder, self.ticks(j.leased_at),
                      self.ticks(j.lease_expires_at), j.label) for j in jobs],
        }

    @classmethod
    def model_workflow(cls, the_model: model.Model, workflow_id: int) -> dict[str, Any]:
        workflow = the_model.workflow(workflow_id)
        assert workflow is not None
        jobs = sorted((j for j in the_model.snapshot().jobs if j.workflow == workflow_id),
                      key=lambda j: (j.step, j.attempt))
        return {
            "node": workflow.node, "step": workflow.step, "status": workflow.status.value,
            "incident": workflow.incident.value if workflow.incident else None,
            "context": workflow.context, "version": workflow.version, "key": workflow.key,
            "step_started_at": workflow.step_started_at,
            "history": [(t.step, t.source, t.target, t.kind.value, t.label,
                         cls.key_of_model_job(the_model, t.job), t.attempt, t.at, t.by,
                         t.reason or None) for t in workflow.history],
            "jobs": [(j.step, j.attempt, j.node, j.operation, j.manual, j.state.value,
                      j.ready_at, j.holder, j.leased_at, j.expires_at, j.label) for j in jobs],
        }

    # -- the audit trail --------------------------------------------------------------

    @staticmethod
    def trail(timeline: Timeline | None) -> list[tuple[Any, ...]]:
        """Every attempt of every step in the timeline: how it stands or ended, its error."""
        assert timeline is not None and timeline.next_step is None, "one page is enough"
        return [(step.step, a.attempt, a.state.value, a.error or None)
                for step in timeline.steps for a in step.attempts]

    @staticmethod
    def model_trail(the_model: model.Model, workflow_id: int) -> list[tuple[Any, ...]]:
        jobs = sorted((j for j in the_model.snapshot().jobs if j.workflow == workflow_id),
                      key=lambda j: (j.step, j.attempt))
        return [(j.step, j.attempt, j.state.value, j.error or None) for j in jobs]
