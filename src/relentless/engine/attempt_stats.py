"""What the workers did at each node of a definition version: the audit trail, counted.

Per node: how the ended attempts ended (completed, failed, expired), how often each
label was answered, how many failures were final although attempts were left (a
failure that may not be retried), and how long attempts lasted, from ready to closed,
as a histogram. ``relentless simulate --from`` builds a scenario out of this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from relentless.engine.catalog import LoadedDefinition
from relentless.store import statements as sql
from relentless.store.database import Database
from relentless.vocabulary import JobState


def _edges() -> tuple[int, ...]:
    """0 ms, then about 20 edges a decade (about 12% wide) from 1 ms up to 30 days."""
    edges = {0}
    for step in range(0, 20 * 10):
        edges.add(round(10 ** (step / 20)))
    return tuple(sorted(edge for edge in edges if edge <= 30 * 86_400_000))


MAX_SAMPLE = 100_000
"""The newest workflows of the period counted at most, so that one request stays bounded."""

DURATION_EDGES_MS = _edges()
"""Lower edges of the duration buckets; the last bucket has no upper edge."""


@dataclass(slots=True)
class NodeAttempts:
    """The ended attempts at one node."""

    ended: dict[str, int] = field(default_factory=dict)
    """State (completed, failed, expired) -> attempts."""
    labels: dict[str, int] = field(default_factory=dict)
    permanent: int = 0
    """Failures after which no attempt followed though the node allowed more."""
    durations: dict[int, int] = field(default_factory=dict)
    """Bucket (index of its lower edge in DURATION_EDGES_MS) -> completed or failed attempts."""
    manual: bool = False


async def workflows_since(database: Database, loaded: LoadedDefinition,
                          since: datetime) -> int:
    """How many workflows of ``loaded`` started since ``since``."""
    rows = await database.fetch(sql.DEFINITION_WORKFLOWS_SINCE, definition_id=loaded.id,
                                since=since)
    return int(rows[0]["workflows"])


async def attempt_stats(database: Database, loaded: LoadedDefinition,
                        since: datetime) -> dict[str, NodeAttempts]:
    """Every node with ended attempts in the newest ``MAX_SAMPLE`` workflows of ``loaded``
    started since ``since``."""
    nodes = loaded.compiled.definition.nodes
    rows = await database.fetch(sql.DEFINITION_ATTEMPT_STATS, definition_id=loaded.id,
                                since=since, edges_ms=[float(e) for e in DURATION_EDGES_MS],
                                limit=MAX_SAMPLE)
    found: dict[str, NodeAttempts] = {}
    for row in rows:
        stats = found.setdefault(row["node"], NodeAttempts())
        count = int(row["attempts"])
        stats.manual = bool(row["manual"])
        stats.ended[row["state"]] = stats.ended.get(row["state"], 0) + count
        if row["state"] == JobState.COMPLETED and row["label"] is not None:
            stats.labels[row["label"]] = stats.labels.get(row["label"], 0) + count
        if row["bucket"] is not None and row["bucket"] > 0:
            bucket = int(row["bucket"]) - 1
            stats.durations[bucket] = stats.durations.get(bucket, 0) + count
        node = nodes.get(row["node"])
        if row["final"] and node is not None and row["failed_attempt"] < node.attempts:
            stats.permanent += count
    return found
