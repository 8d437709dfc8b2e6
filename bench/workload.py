"""The kernel benchmark's workload: many mid-sized definitions and batches over them.

Deterministic (seeded), so that every run and every implementation sees the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from relentless import CompiledDefinition, PackedTables, Status, compile_definition
from relentless.core import reference
from relentless.core.kernel import advance as cython_advance
from relentless.core.reader import definition_from_data
from relentless.core.registry import pack

DEFINITIONS = 50
NODES = 20
LABELS = 8
LEAVES = 3
BATCH_SIZES = (1, 100, 10_000, 1_000_000)


def definition_data(rng: np.random.Generator, index: int) -> dict[str, Any]:
    """A valid definition of NODES nodes (LEAVES of them leaves) using LABELS labels.

    Steps form a chain to the first leaf (so all are reachable and none is a trap);
    each step also routes two to four random labels anywhere, cycles included.
    """
    steps = [f"step{i}" for i in range(NODES - LEAVES)]
    leaves = [f"end{i}" for i in range(LEAVES)]
    labels = [f"label{i}" for i in range(LABELS - 1)]
    nodes: dict[str, Any] = {}
    for position, name in enumerate(steps):
        chained = steps[position + 1] if position + 1 < len(steps) else leaves[0]
        picked = rng.choice(labels, size=int(rng.integers(2, 5)), replace=False)
        targets = rng.choice(steps + leaves, size=len(picked))
        edges = {str(label): str(target) for label, target in zip(picked, targets, strict=True)}
        nodes[name] = {"operation": f"op{position}", "on": {**edges, "next": chained}}
    for leaf in leaves[1:]:
        nodes[str(rng.choice(steps))]["on"][f"label{LABELS - 1}"] = leaf
    nodes.update({leaf: {} for leaf in leaves})
    return {"name": f"workflow{index}", "start": "step0", "nodes": nodes}


def definitions(seed: int = 20261129) -> list[CompiledDefinition]:
    rng = np.random.default_rng(seed)
    return [compile_definition(definition_from_data(definition_data(rng, index)))
            for index in range(DEFINITIONS)]


@dataclass(frozen=True)
class Batch:
    """One batch of rows and its preallocated outputs."""

    def_ids: npt.NDArray[np.int32]
    nodes: npt.NDArray[np.int32]
    labels: npt.NDArray[np.int32]
    out_next: npt.NDArray[np.int32]
    out_status: npt.NDArray[np.uint8]

    @property
    def rows(self) -> int:
        return len(self.def_ids)


def batch(compiled: list[CompiledDefinition], rows: int, seed: int = 1) -> Batch:
    """Rows as a gateway would see them: workflows at steps, completed with offered labels."""
    rng = np.random.default_rng(seed)
    edges = [np.argwhere(c.next >= 0).astype(np.int32) for c in compiled]
    def_ids = rng.integers(0, len(compiled), rows).astype(np.int32)
    picks = np.array([rng.integers(0, len(edges[d])) for d in def_ids[:1000]], dtype=np.int64)
    # Draw node/label pairs for the first 1,000 rows, then tile: cheap for 1,000,000 rows.
    chosen = np.array([edges[d][p] for d, p in zip(def_ids[:1000], picks, strict=True)],
                      dtype=np.int32).reshape(-1, 2)
    repeats = -(-rows // max(len(chosen), 1))
    def_ids = np.tile(def_ids[:1000], repeats)[:rows].copy()
    pairs = np.tile(chosen, (repeats, 1))[:rows]
    return Batch(def_ids, np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1]),
                 np.empty(rows, np.int32), np.empty(rows, np.uint8))


def dict_table(compiled: list[CompiledDefinition]) -> dict[tuple[int, int, int], tuple[int, int]]:
    """What a plain Python engine would keep: (definition, node, label) -> (next, status)."""
    table = {}
    for d, definition in enumerate(compiled):
        for node, label in np.argwhere(definition.next >= 0):
            target = int(definition.next[node, label])
            status = Status.REACHED_LEAF if definition.is_leaf[target] else Status.ADVANCED
            table[d, int(node), int(label)] = (target, int(status))
    return table


def dict_loop(table: dict[tuple[int, int, int], tuple[int, int]]) -> Callable[..., int]:
    """The dict-lookup baseline with the kernel's signature (no invalid-id distinction)."""
    missing = (-1, int(Status.LABEL_NOT_OFFERED))

    def advance(_tables: PackedTables, def_ids: Any, nodes: Any, labels: Any,
                out_next: Any, out_status: Any) -> int:
        targets = []
        statuses = []
        for key in zip(def_ids.tolist(), nodes.tolist(), labels.tolist(), strict=True):
            target, status = table.get(key, missing)
            targets.append(target)
            statuses.append(status)
        out_next[:] = targets
        out_status[:] = statuses
        return sum(target >= 0 for target in targets)

    return advance


def implementations(compiled: list[CompiledDefinition]) -> dict[str, Callable[..., int]]:
    return {
        "cython": cython_advance,
        "numpy": reference.advance,
        "dict": dict_loop(dict_table(compiled)),
    }


def tables(compiled: list[CompiledDefinition]) -> PackedTables:
    return pack(compiled)
