"""The slowest, plainest answer: walk the definition by names, one row at a time."""

from __future__ import annotations

from relentless import CompiledDefinition, Status


def naive_advance(compiled: list[CompiledDefinition], definition_id: int, node: int,
                  label: int) -> tuple[int, Status]:
    """Next node index and status, read from the Definition itself, not its tables."""
    if not 0 <= definition_id < len(compiled):
        return -1, Status.INVALID_ID
    tables = compiled[definition_id]
    if not (0 <= node < len(tables.node_names) and 0 <= label < len(tables.label_names)):
        return -1, Status.INVALID_ID
    source = tables.definition.nodes[tables.node_names[node]]
    target = source.on.get(tables.label_names[label])
    if target is None:
        return -1, Status.LABEL_NOT_OFFERED
    leaf = tables.definition.nodes[target].is_leaf
    return tables.node_index[target], Status.REACHED_LEAF if leaf else Status.ADVANCED
