"""``GET /v1/definitions/{name}/{version}/stats``: a version's audit trail, counted per node.

What ``relentless simulate --from`` learns a scenario from: label counts, attempt
durations as histograms, and failure, loss and final-failure rates per node.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from relentless import protocol
from relentless.engine.attempt_stats import (
    DURATION_EDGES_MS,
    MAX_SAMPLE,
    NodeAttempts,
    attempt_stats,
    workflows_since,
)
from relentless.service.bodies import answer, path_parameter, query
from relentless.service.errors import not_found
from relentless.service.keys import ENGINE

DEFAULT_PERIOD = timedelta(days=7)
LAST_EDGE_MS = 2 * DURATION_EDGES_MS[-1]
"""The upper edge given to the open last bucket (attempts that long are all but unknown)."""


async def definition_stats(request: web.Request) -> web.Response:
    name = path_parameter(request, "name")
    version = path_parameter(request, "version")
    asked = query(request, protocol.StatsQuery)
    engine = request.app[ENGINE]
    loaded = await engine.definitions.resolve(name, version)
    if loaded is None:
        raise not_found(f"version {version} of definition {name!r}")
    until = engine.clock.now()
    since = asked.since if asked.since is not None else until - DEFAULT_PERIOD
    nodes = await attempt_stats(engine.database, loaded, since)
    workflows = await workflows_since(engine.database, loaded, since)
    return answer(protocol.DefinitionStats(
        name=loaded.name, version=loaded.version, since=since, until=until,
        workflows=workflows, sampled=min(workflows, MAX_SAMPLE),
        nodes={node: node_stats(stats) for node, stats in sorted(nodes.items())}))


def node_stats(stats: NodeAttempts) -> protocol.NodeStats:
    completed, failed, expired = (stats.ended.get(state, 0)
                                  for state in ("completed", "failed", "expired"))
    attempts = completed + failed + expired
    share = (lambda count: count / attempts) if attempts else (lambda count: 0.0)
    return protocol.NodeStats(
        manual=stats.manual, attempts=attempts, completed=completed, failed=failed,
        expired=expired, permanent=stats.permanent, labels=dict(sorted(stats.labels.items())),
        durations=_histogram(stats.durations), fail_rate=share(failed - stats.permanent),
        lost_rate=share(expired), permanent_rate=share(stats.permanent))


def _histogram(buckets: dict[int, int]) -> protocol.DurationHistogram | None:
    """The bins from the first to the last one holding attempts."""
    if not buckets:
        return None
    low, high = min(buckets), max(buckets)
    edges = [*DURATION_EDGES_MS, LAST_EDGE_MS]
    return protocol.DurationHistogram(edges_ms=edges[low:high + 2],
                                      counts=[buckets.get(i, 0) for i in range(low, high + 1)])
