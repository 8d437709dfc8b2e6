"""Many compiled definitions packed into flat arrays, so one batch can mix them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from relentless.core.compiler import CompiledDefinition

_Scalar = TypeVar("_Scalar", bound=np.generic)


@dataclass(frozen=True, slots=True)
class PackedTables:
    """The kernel's view of every registered definition, indexed by definition id.

    Definition ``d``'s transition table starts at ``next_offset[d]`` in ``next_flat``
    (row-major, ``label_count[d]`` columns) and its leaf flags at ``node_offset[d]``
    in ``leaf_flat``. All arrays are read-only and C-contiguous.
    """

    next_flat: npt.NDArray[np.int32]
    next_offset: npt.NDArray[np.int64]
    node_count: npt.NDArray[np.int32]
    label_count: npt.NDArray[np.int32]
    leaf_flat: npt.NDArray[np.uint8]
    node_offset: npt.NDArray[np.int64]

    @property
    def definition_count(self) -> int:
        return len(self.node_count)


def pack(definitions: list[CompiledDefinition]) -> PackedTables:
    """Concatenate the tables of ``definitions``; definition ``i`` gets id ``i``."""
    node_count = np.array([len(d.node_names) for d in definitions], dtype=np.int32)
    label_count = np.array([len(d.label_names) for d in definitions], dtype=np.int32)
    table_sizes = node_count.astype(np.int64) * label_count
    arrays = (
        _concatenate([d.next.ravel() for d in definitions], np.int32),
        _offsets(table_sizes),
        node_count,
        label_count,
        _concatenate([d.is_leaf for d in definitions], np.uint8),
        _offsets(node_count.astype(np.int64)),
    )
    for array in arrays:
        array.setflags(write=False)
    return PackedTables(*arrays)


def _offsets(sizes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    offsets = np.zeros(len(sizes), dtype=np.int64)
    np.cumsum(sizes[:-1], out=offsets[1:])
    return offsets


def _concatenate(parts: list[npt.NDArray[Any]], dtype: type[_Scalar]) -> npt.NDArray[_Scalar]:
    if not parts:
        return np.zeros(0, dtype=dtype)
    return np.ascontiguousarray(np.concatenate(parts), dtype=dtype)


class Registry:
    """Compiled definitions by id, with their packed tables kept up to date.

    Registering the same content twice (same fingerprint) returns the id it already
    has, so versions that did not change share one table.
    """

    def __init__(self) -> None:
        self._definitions: list[CompiledDefinition] = []
        self._ids: dict[str, int] = {}
        self._tables: PackedTables | None = None

    def add(self, compiled: CompiledDefinition) -> int:
        """The id of ``compiled`` in this registry, adding it if its content is new."""
        existing = self._ids.get(compiled.fingerprint)
        if existing is not None:
            return existing
        self._definitions.append(compiled)
        self._ids[compiled.fingerprint] = len(self._definitions) - 1
        self._tables = None
        return len(self._definitions) - 1

    def __getitem__(self, definition_id: int) -> CompiledDefinition:
        return self._definitions[definition_id]

    def __len__(self) -> int:
        return len(self._definitions)

    @property
    def tables(self) -> PackedTables:
        """Packed tables of every definition added so far (packed again only after an add)."""
        if self._tables is None:
            self._tables = pack(self._definitions)
        return self._tables
