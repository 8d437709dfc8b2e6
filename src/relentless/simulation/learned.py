"""A scenario learned from a server's history: the stats route's counts, as scenario data.

Label counts become weights, attempt durations a histogram with its counts, and the
failure, loss and final-failure rates ``fail``, ``lost`` and ``permanent``. A node
without ended attempts keeps the scenario's defaults; ``source`` names the server and
the period, so that a report says what it was learned from.
"""

from __future__ import annotations

import math
from typing import Any

from relentless import protocol
from relentless.core.definition import Definition
from relentless.core.durations import format_duration


def scenario_data(stats: protocol.DefinitionStats, definition: Definition,
                  server: str) -> dict[str, Any]:
    """Scenario data (as a scenario file would hold it) for ``definition`` from ``stats``."""
    nodes: dict[str, Any] = {}
    for name, node in definition.nodes.items():
        seen = stats.nodes.get(name)
        if node.is_leaf or seen is None or seen.attempts == 0:
            continue
        entry: dict[str, Any] = {}
        labels = {label: count for label, count in seen.labels.items()
                  if label in node.offered_labels and count > 0}
        if labels:
            entry["labels"] = labels
        if seen.durations is not None and any(seen.durations.counts):
            entry["duration"] = {"histogram": {
                "edges": [format_duration(edge) for edge in seen.durations.edges_ms],
                "counts": list(seen.durations.counts)}}
        if not node.manual:
            entry.update(fail=_down(seen.fail_rate), lost=_down(seen.lost_rate),
                         permanent=_down(seen.permanent_rate))
        nodes[name] = entry
    return {
        "name": f"history of {stats.name} v{stats.version}",
        "definition": stats.name,
        "source": {"by": "history", "server": server, "since": stats.since.isoformat(),
                   "until": stats.until.isoformat(), "workflows": str(stats.sampled)},
        "nodes": nodes,
    }


def _down(rate: float) -> float:
    """A share rounded down to 1e-9, so that shares adding up to 1 never pass it."""
    return math.floor(rate * 1e9) / 1e9
