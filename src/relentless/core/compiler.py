"""Compiling a definition into dense tables the transition kernel can index directly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from relentless.core.definition import RESERVED_LABEL, RESERVED_LABELS, Definition

NO_EDGE = -1
"""``next[node, label]`` where the node does not offer the label."""

TIMEOUT_LABEL = 0
"""Every compiled definition puts the reserved label first, so the engine never looks it up."""

NO_DEADLINE = -1
"""``deadline_ms`` of a node without a step deadline."""


_Scalar = TypeVar("_Scalar", bound=np.generic)


def _frozen(array: npt.NDArray[_Scalar]) -> npt.NDArray[_Scalar]:
    array.setflags(write=False)
    return array


def _column(values: Sequence[Any], dtype: type[_Scalar]) -> npt.NDArray[_Scalar]:
    """A read-only per-node array."""
    array: npt.NDArray[_Scalar] = np.array(values, dtype=dtype)
    return _frozen(array)


class StepSettings(NamedTuple):
    """What every job of a node's step carries, read once from the per-node arrays."""

    operation: str
    manual: bool
    timeout_ms: int
    deadline_ms: int | None


@dataclass(frozen=True, eq=False, slots=True)
class CompiledDefinition:
    """A definition as arrays indexed by node (and label); immutable, like its source.

    Nodes and labels are numbered in name order (the reserved label first), so the
    tables depend on the content only, as the fingerprint does.
    """

    definition: Definition
    node_names: tuple[str, ...]
    label_names: tuple[str, ...]
    node_index: Mapping[str, int]
    label_index: Mapping[str, int]
    start: int
    next: npt.NDArray[np.int32]
    is_leaf: npt.NDArray[np.bool_]
    manual: npt.NDArray[np.bool_]
    operations: tuple[str | None, ...]
    timeout_ms: npt.NDArray[np.int64]
    attempts: npt.NDArray[np.int32]
    backoff_initial_ms: npt.NDArray[np.int64]
    backoff_multiplier: npt.NDArray[np.float64]
    backoff_max_ms: npt.NDArray[np.int64]
    deadline_ms: npt.NDArray[np.int64]
    offered: tuple[tuple[str, ...], ...]
    """Per node, the labels a worker may complete its step with (never a reserved one)."""

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def fingerprint(self) -> str:
        """Hash of the definition's content: same content, same fingerprint."""
        return self.definition.fingerprint

    def step_settings(self, node: int) -> StepSettings:
        """Operation, manual flag, attempt timeout and step deadline of ``node``."""
        deadline = int(self.deadline_ms[node])
        return StepSettings(self.operations[node] or "", bool(self.manual[node]),
                            int(self.timeout_ms[node]), deadline if deadline >= 0 else None)

    def offered_labels(self, node: int) -> tuple[str, ...]:
        """Labels a worker may complete ``node``'s step with (never a reserved one)."""
        return self.offered[node]


def compile_definition(definition: Definition) -> CompiledDefinition:
    """Dense tables for ``definition``; it must be valid (as every Definition is)."""
    node_names = tuple(sorted(definition.nodes))
    other_labels = {label for node in definition.nodes.values() for label in node.on}
    label_names = (RESERVED_LABEL, *sorted(other_labels - {RESERVED_LABEL}))
    node_index = {name: index for index, name in enumerate(node_names)}
    label_index = {name: index for index, name in enumerate(label_names)}
    nodes = [definition.nodes[name] for name in node_names]

    next_table = np.full((len(nodes), len(label_names)), NO_EDGE, dtype=np.int32)
    for row, node in enumerate(nodes):
        for label, target in node.on.items():
            next_table[row, label_index[label]] = node_index[target]

    max_ms = [node.backoff.max_ms if node.backoff.max_ms is not None else -1 for node in nodes]
    return CompiledDefinition(
        definition=definition,
        node_names=node_names,
        label_names=label_names,
        node_index=MappingProxyType(node_index),
        label_index=MappingProxyType(label_index),
        start=node_index[definition.start],
        next=_frozen(next_table),
        is_leaf=_column([node.is_leaf for node in nodes], np.bool_),
        manual=_column([node.manual for node in nodes], np.bool_),
        operations=tuple(node.operation for node in nodes),
        timeout_ms=_column([node.timeout_ms for node in nodes], np.int64),
        attempts=_column([node.attempts for node in nodes], np.int32),
        backoff_initial_ms=_column([node.backoff.initial_ms for node in nodes], np.int64),
        backoff_multiplier=_column([node.backoff.multiplier for node in nodes], np.float64),
        backoff_max_ms=_column(max_ms, np.int64),
        deadline_ms=_column(
            [NO_DEADLINE if node.deadline_ms is None else node.deadline_ms for node in nodes],
            np.int64,
        ),
        offered=tuple(
            tuple(label_names[label] for label in np.flatnonzero(row >= 0)
                  if label_names[label] not in RESERVED_LABELS)
            for row in next_table
        ),
    )
