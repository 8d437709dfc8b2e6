"""What the service shows of itself: ``GET /metrics``, and the middleware that counts
every request by route and status."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from aiohttp import web

from relentless.service.errors import Handler
from relentless.service.keys import CONFIG, ENGINE, METRICS, STORE
from relentless.service.metrics import ClusterGauges, NodeMetrics, route_of, text_of
from relentless.store import statements as sql
from relentless.store.store import Store
from relentless.vocabulary import WorkflowStatus

CLUSTER = web.AppKey("cluster_gauges", ClusterGauges)
CLIENT_GONE = 499
"""The status counted for a request whose client went away before the answer (nginx's)."""

GaugeValues = dict[str, list[tuple[tuple[str, ...], float]]]


@web.middleware
async def request_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count each request by its route template and status, and time it."""
    began = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = CLIENT_GONE  # the client left (a worker stopped mid long-poll): not a 5xx
        raise
    finally:
        metrics = request.app[METRICS]
        route = route_of(request)
        metrics.requests.labels(route, request.method, str(status)).inc()
        metrics.request_duration.labels(route).observe(time.perf_counter() - began)


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus text format: this node's counters and the cluster's gauges."""
    await request.app[CLUSTER].refresh()
    return web.Response(body=text_of(request.app[METRICS].registry),
                        content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})


def install(app: web.Application, node: NodeMetrics) -> None:
    """Register the cluster's gauges on ``node``'s registry, read through the app's store."""
    config = app[CONFIG]

    async def read() -> GaugeValues:
        return await read_cluster(app[STORE], app[ENGINE].clock.now(),
                                  config.sla_at_risk_share)

    gauges = ClusterGauges(read, config.metrics_cache_seconds)
    node.registry.register(gauges)
    app[CLUSTER] = gauges


async def read_cluster(store: Store, now: datetime, at_risk_share: float) -> GaugeValues:
    """Every gauge of shared state, from two index-backed statements, and the node's own."""
    values: GaugeValues = {name: [] for name in (
        "relentless_ready_jobs", "relentless_oldest_ready_job_age_seconds",
        "relentless_workflows", "relentless_incidents", "relentless_steps_past_deadline",
        "relentless_workflows_at_risk", "relentless_workflows_past_sla")}
    for row in await store.database.fetch(sql.READY_JOBS_BY_OPERATION, now=now):
        values["relentless_ready_jobs"].append(((row["operation"],), row["ready"]))
        values["relentless_oldest_ready_job_age_seconds"].append(
            ((row["operation"],), max((now - row["oldest"]).total_seconds(), 0.0)))
    totals: dict[tuple[str, ...], dict[str, float]] = {}
    for row in await store.database.fetch(sql.ACTIVE_WORKFLOWS, now=now,
                                          at_risk_share=at_risk_share):
        definition = row["definition"]
        key: tuple[str, ...] = (definition, row["status"])
        totals.setdefault(key, {"workflows": 0})["workflows"] += row["workflows"]
        if row["incident"] is not None:
            values["relentless_incidents"].append(((definition, row["incident"]),
                                                   row["workflows"]))
        per_definition = totals.setdefault((definition,), {
            "past_deadline": 0, "past_sla": 0, "at_risk": 0})
        for field in ("past_deadline", "past_sla", "at_risk"):
            per_definition[field] += row[field] if row["status"] == WorkflowStatus.RUNNING else 0
    for key, counts in totals.items():
        if len(key) == 2:
            values["relentless_workflows"].append((key, counts["workflows"]))
        else:
            values["relentless_steps_past_deadline"].append((key, counts["past_deadline"]))
            values["relentless_workflows_past_sla"].append((key, counts["past_sla"]))
            values["relentless_workflows_at_risk"].append((key, counts["at_risk"]))
    pool = store.database.pool
    values["relentless_listen_connected"] = [((), float(store.listener.listening))]
    values["relentless_pool_connections_in_use"] = [
        ((), float(pool.get_size() - pool.get_idle_size()))]
    return values
