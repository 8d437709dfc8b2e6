"""Prometheus metrics: what this node did (counters, histograms) and what the cluster
holds (gauges read from PostgreSQL, cached so that scrapes cost nothing measurable).

Counters are per node: Prometheus sums them over the nodes. Gauges describe shared
state, so every node reports the same values; aggregate them with max, not sum.
Label sets stay bounded: definitions, operations, labels, causes, routes, never ids.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from relentless.engine.observations import Observations
from relentless.vocabulary import WorkflowStatus

log = logging.getLogger("relentless.metrics")

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
                    3600, 4 * 3600, 24 * 3600)
"""From milliseconds (a queue wait) to a day (a workflow with a person in it)."""


class NodeMetrics:
    """The counters and histograms of this node, in a registry of its own (one per app,
    so that several apps in one process do not share them)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.up = Gauge("relentless_up", "1 while this node serves", registry=registry)
        self.up.set(1)
        self.steps = Counter(
            "relentless_steps_completed", "Steps decided, by definition, operation, label "
            "and kind (completed, manual, timeout, failed, moved)",
            ["definition", "operation", "label", "kind"], registry=registry)
        self.attempts_ended = Counter(
            "relentless_attempts_ended", "Attempts that did not end in a completion: expired "
            "or failed (they use up attempts), or released (given back unused, ready again)",
            ["how"], registry=registry)
        self.give_ups = Counter("relentless_give_ups", "Steps given up along a route, by label",
                                ["label"], registry=registry)
        self.incidents_raised = Counter(
            "relentless_incidents_raised", "Workflows that became incidents, by cause",
            ["definition", "cause"], registry=registry)
        self.incidents_resolved = Counter(
            "relentless_incidents_resolved", "Incidents a person resolved (move, cancel, retry)",
            registry=registry)
        self.started = Counter("relentless_workflows_started", "Workflows started",
                               ["definition"], registry=registry)
        self.ended = Counter("relentless_workflows_ended", "Workflows ended, by outcome (the "
                             "leaf reached, or cancelled)", ["definition", "outcome"],
                             registry=registry)
        self.sla_breached = Counter("relentless_sla_breached", "Workflows noticed past their "
                                    "SLA while still running", ["definition"], registry=registry)
        self.completions = Counter("relentless_completions", "Completions answered, by verdict",
                                   ["verdict"], registry=registry)
        self.requests = Counter("relentless_http_requests", "HTTP requests, by route and status",
                                ["route", "method", "status"], registry=registry)
        self.step_duration = Histogram(
            "relentless_step_duration_seconds", "A step's time from its start (first "
            "attempt ready) to its decision", ["definition"], buckets=DURATION_BUCKETS,
            registry=registry)
        self.queue_wait = Histogram("relentless_queue_wait_seconds", "Ready to leased",
                                    buckets=DURATION_BUCKETS, registry=registry)
        self.workflow_duration = Histogram(
            "relentless_workflow_duration_seconds", "Start to leaf, by outcome",
            ["definition", "outcome"], buckets=DURATION_BUCKETS, registry=registry)
        self.lease_wait = Histogram("relentless_lease_wait_seconds", "How long a lease "
                                    "request waited for work (the long poll)",
                                    buckets=DURATION_BUCKETS, registry=registry)
        self.request_duration = Histogram("relentless_request_duration_seconds",
                                          "HTTP request latency, by route", ["route"],
                                          buckets=DURATION_BUCKETS, registry=registry)

    def observe(self, seen: Observations) -> None:
        """The engine's observer: count what one committed transaction did.

        A batch's events are tallied first and each counter touched once per distinct
        label set, so that counting costs little beside the batch itself.
        """
        self._steps(seen)
        self._incidents(seen)
        _count(self.attempts_ended, ((how,) for how in seen.attempts_ended))
        _count(self.give_ups, ((label,) for label in seen.give_ups))
        _count(self.started, ((definition,) for definition in seen.started))
        _count(self.ended, ((definition, WorkflowStatus.CANCELLED)
                            for definition in seen.cancelled))
        observe = self.queue_wait.observe
        for wait in seen.queue_waits:
            observe(wait)

    def _steps(self, seen: Observations) -> None:
        _count(self.steps, ((step.definition, step.operation, step.label or "", step.kind)
                            for step in seen.steps))
        _count(self.ended, ((step.definition, step.outcome) for step in seen.steps
                            if step.outcome is not None))
        for step in seen.steps:
            if step.seconds is not None:
                self.step_duration.labels(step.definition).observe(step.seconds)
            if step.outcome is not None and step.workflow_seconds is not None:
                self.workflow_duration.labels(step.definition, step.outcome).observe(
                    step.workflow_seconds)

    def _incidents(self, seen: Observations) -> None:
        """Incidents and SLA breaches: counted, and each logged once at WARNING."""
        for incident in seen.incidents:
            self.incidents_raised.labels(incident.definition, incident.cause).inc()
            log.warning("incident raised: workflow %d (%s): %s%s", incident.workflow_id,
                        incident.definition, incident.cause,
                        f": {incident.error}" if incident.error else "",
                        extra={"workflow_id": incident.workflow_id})
        if seen.incidents_resolved:
            self.incidents_resolved.inc(seen.incidents_resolved)
        for workflow_id, definition in seen.sla_breaches:
            self.sla_breached.labels(definition).inc()
            log.warning("SLA breached: workflow %d (%s) is still running past its SLA",
                        workflow_id, definition, extra={"workflow_id": workflow_id})


def _count(counter: Counter, label_sets: Iterable[tuple[str, ...]]) -> None:
    """Add one per label set, touching each child once."""
    for labels, times in Tally(label_sets).items():
        counter.labels(*labels).inc(times)


StateReader = Callable[[], Awaitable[dict[str, list[tuple[tuple[str, ...], float]]]]]
"""Reads the cluster's state: gauge name -> [(label values, value)]."""

GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "relentless_ready_jobs": ("Jobs ready to lease, by operation", ("operation",)),
    "relentless_oldest_ready_job_age_seconds": (
        "Age of the oldest ready job, by operation", ("operation",)),
    "relentless_workflows": ("Active workflows, by definition and status (running, incident)",
                             ("definition", "status")),
    "relentless_incidents": ("Open incidents, by definition and cause",
                             ("definition", "cause")),
    "relentless_steps_past_deadline": ("Running steps past their deadline", ("definition",)),
    "relentless_workflows_at_risk": ("Running workflows past the configured share of their "
                                     "SLA, not yet breached", ("definition",)),
    "relentless_workflows_past_sla": ("Running workflows past their SLA", ("definition",)),
    "relentless_listen_connected": ("1 while this node's LISTEN connection is up", ()),
    "relentless_pool_connections_in_use": ("Connections of this node's pool in use", ()),
}


class ClusterGauges(Collector):
    """Gauges read from PostgreSQL at most every ``cache_seconds``; a scrape in between
    answers from the cache, so many scrapers cost one set of queries."""

    def __init__(self, read: StateReader, cache_seconds: float) -> None:
        self._read = read
        self._cache_seconds = cache_seconds
        self._values: dict[str, list[tuple[tuple[str, ...], float]]] = {}
        self._read_at = -float("inf")
        self._reading = asyncio.Lock()

    async def refresh(self) -> None:
        """Read the state again if the cache is older than ``cache_seconds`` (one reader
        at a time); if PostgreSQL does not answer, the last values stay, and the node's
        own counters are still served."""
        async with self._reading:
            if time.monotonic() - self._read_at < self._cache_seconds:
                return
            try:
                self._values = await self._read()
            except Exception as exc:  # whatever the store's failure, a scrape must answer
                log.warning("metrics: cannot read the cluster's gauges (%s); serving the "
                            "last ones", exc)
                return
            self._read_at = time.monotonic()

    def collect(self) -> Iterable[Metric]:
        for name, (documentation, labels) in GAUGES.items():
            family = GaugeMetricFamily(name, documentation, labels=list(labels))
            for values, value in self._values.get(name, ()):
                family.add_metric(list(values), value)
            yield family


def text_of(registry: CollectorRegistry) -> bytes:
    from prometheus_client import generate_latest  # noqa: PLC0415 - only for scrapes

    return generate_latest(registry)


def route_of(request: Any) -> str:
    """The route template a request matched (bounded), not its path (unbounded)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"
